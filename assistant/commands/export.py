"""`benchmark-agent export DIR --format ...`: write a finished build's files again, in every format or in some."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.contracts import BuildReport, QualityReport
from tools.errors import InvalidRequest
from tools.export.bundle import FORMATS, export_benchmark
from tools.export.rows import samples_from_rows


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = commands.add_parser(
        "export", help="Re-export a finished build: JSONL, CSV, Hugging Face, lm-eval, Inspect, pydantic_evals, zip.")
    export.add_argument("directory", type=Path, help="The build's output folder (the --out of `build`).")
    export.add_argument("--format", default="all", help=f"all (with benchmark.zip), or a comma list of {', '.join(FORMATS)}.")
    export.set_defaults(run=run)


def formats_from(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    if chosen in ((), ("all",)):
        return FORMATS
    unknown = [c for c in chosen if c not in FORMATS]
    if unknown:
        raise InvalidRequest(f"Unknown --format {', '.join(unknown)}: use all, or a comma list of {', '.join(FORMATS)}.")
    return chosen


async def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    formats = formats_from(args.format)
    rows, report_file = directory / "benchmark.jsonl", directory / "report.json"
    if not rows.is_file() or not report_file.is_file():
        raise InvalidRequest(f"{directory} holds no finished build (benchmark.jsonl and report.json are written when a "
                             "build finishes); run `benchmark-agent resume` on it first if it was interrupted.")
    samples = samples_from_rows(rows.read_text(encoding="utf-8"), source=str(rows))
    report = BuildReport.model_validate_json(report_file.read_text(encoding="utf-8"))
    quality_file = directory / "quality.json"
    quality = QualityReport.model_validate_json(quality_file.read_text(encoding="utf-8")) if quality_file.is_file() else None
    manifest = export_benchmark(samples, report, directory, quality, formats=formats)
    for file in manifest.files:
        print(f"{file.format:15} {file.path}", file=sys.stderr)
    print(str(directory / "benchmark.zip") if formats == FORMATS else str(directory))
    return 0
