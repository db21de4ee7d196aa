"""`benchmark-agent`: the pipeline from the command line, with no questions asked."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from assistant.deps import open_store
from assistant.model_registry import model_warnings, stage_models
from assistant.settings import Settings
from tools.build import BuildOptions
from tools.errors import BenchmarkAgentError, InvalidRequest
from tools.models import BuildEvent
from tools.pipeline import BuildResult, Limits, run_autonomous

EXIT_SHORT = 1
EXIT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmark-agent", description="Build evaluation benchmarks for LLMs.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="Build a benchmark from a request, fully autonomously.")
    build.add_argument("request", help='What to build, e.g. "arithmetic word problems harder than GSM8K".')
    build.add_argument("--size", type=int, default=None, help="Number of samples (default: from the request, else 20).")
    build.add_argument("--out", type=Path, required=True, help="Directory for benchmark.jsonl/.csv, report.json, README.md.")
    build.add_argument("--model", default=None, help="Model for every role, e.g. openai:gpt-4o-mini (default: settings).")
    build.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept (default: BENCHMARK_AGENT_DATA_DIR or ./data).")
    build.add_argument("--quiet", action="store_true", help="Print only the final summary.")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.model:
        overrides = {"model": args.model, "chat_model": None, "generator_model": None, "judge_model": None}
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    return Settings().model_copy(update=overrides)


def _printer(quiet: bool):  # type: ignore[no-untyped-def]
    def show(event: BuildEvent) -> None:
        if quiet or event.kind == "progress":
            return
        counter = f" [{event.done}/{event.total}]" if event.total else ""
        print(f"{event.stage:>8} {event.kind:<12}{counter} {event.message}", file=sys.stderr, flush=True)

    return show


def _summary(result: BuildResult, out: Path) -> int:
    report = result.report
    print(f"{report.accepted}/{report.requested} samples accepted; files in {out}:")
    for file in result.manifest.files if result.manifest else []:
        print(f"  {file.path}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.status != "complete":
        print(f"error: produced {report.accepted} of the {report.requested} samples asked for; "
              "report.json lists every drop reason.", file=sys.stderr)
        return EXIT_SHORT
    return 0


async def _build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.size is not None and not 1 <= args.size <= settings.max_size:
        raise InvalidRequest(f"--size must be between 1 and {settings.max_size} (BENCHMARK_AGENT_MAX_SIZE), got {args.size}.")
    models = stage_models(settings)
    warnings = model_warnings(models)
    print(f"Models: {', '.join(f'{role}={name}' for role, name in models.names.items())}", file=sys.stderr)
    for warning in warnings:
        print(f"note: {warning}", file=sys.stderr)
    store = open_store(settings)
    options = BuildOptions(batch_size=settings.batch_size, max_rounds_per_sample=settings.max_rounds_per_sample,
                           dedup_threshold=settings.dedup_threshold)
    result = await run_autonomous(
        args.request, size=args.size, models=models, store=store, directory=args.out, options=options,
        limits=Limits(max_size=settings.max_size, default_size=settings.default_size),
        on_event=_printer(args.quiet), warnings=warnings,
    )
    return _summary(result, args.out)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_build(args))
    except BenchmarkAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: accepted samples are kept in the output's checkpoints/ folder", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
