"""`benchmark-agent build`: request in, benchmark out, no questions asked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.commands.progress import ProgressPrinter
from assistant.deps import build_options, finish_options, limits, memory_embedder, open_catalog, open_store, settle_heap
from assistant.material import problems_of, source_limits
from assistant.model_registry import model_warnings, stage_models
from assistant.settings import Settings
from tools.errors import InvalidRequest
from tools.pipeline import BuildResult, run_autonomous
from tools.sources import MaterialView, expand_paths, ingest

EXIT_SHORT = 1


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    build = commands.add_parser("build", help="Build a benchmark from a request, fully autonomously.")
    build.add_argument("request", help='What to build, e.g. "arithmetic word problems harder than GSM8K".')
    build.add_argument("--size", type=int, default=None, help="Number of samples (default: from the request, else 20).")
    build.add_argument(
        "--out", type=Path, required=True, help="Directory for benchmark.jsonl/.csv, report.json, README.md."
    )
    build.add_argument(
        "--model", default=None, help="Model for every role, e.g. openai:gpt-4o-mini (default: settings)."
    )
    build.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="Where memory is kept (default: BENCHMARK_AGENT_DATA_DIR or ./data).",
    )
    build.add_argument("--quiet", action="store_true", help="Print only the final summary.")
    build.add_argument(
        "--source", type=Path, action="append", default=[], metavar="PATH",
        help="A file or folder of material to build from (documents, data records, images); repeatable.",
    )
    build.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "model", None):
        overrides = {"model": args.model, "chat_model": None, "generator_model": None, "judge_model": None,
                     "solver_model": None, "vision_model": None}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings().model_copy(update=overrides)


def printer(quiet: bool) -> ProgressPrinter:
    return ProgressPrinter(quiet=quiet)


def summary(result: BuildResult, out: Path) -> int:
    report = result.report
    spent = sum(u.input_tokens + u.output_tokens for u in report.usage.values())
    cost = "" if report.cost is None else f", ${report.cost:.4f}"
    print(f"{report.accepted}/{report.requested} samples accepted ({spent:,} tokens{cost}, "
          f"{report.cache_hits} cached calls, {report.retries} retries); files in {out}:")
    for file in result.manifest.files if result.manifest else []:
        print(f"  {file.path}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.status == "stopped":
        print(f"stopped: {report.stop_reason}. {report.accepted}/{report.requested} accepted so far are saved; "
              f"continue with: benchmark-agent resume {out}", file=sys.stderr)
        return EXIT_SHORT
    if report.status != "complete":
        print(
            f"error: produced {report.accepted} of the {report.requested} samples asked for; "
            "report.json lists every drop reason.",
            file=sys.stderr,
        )
        return EXIT_SHORT
    return 0


async def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.size is not None and not 1 <= args.size <= settings.max_size:
        raise InvalidRequest(
            f"--size must be between 1 and {settings.max_size} (BENCHMARK_AGENT_MAX_SIZE), got {args.size}."
        )
    models = stage_models(settings)
    warnings = model_warnings(models)
    print(f"Models: {', '.join(f'{role}={name}' for role, name in models.names.items())}", file=sys.stderr)
    for warning in warnings:
        print(f"note: {warning}", file=sys.stderr)
    material = read_sources(args.source, args.out / "material", settings, quiet=args.quiet)
    embedder = memory_embedder()  # one model for the samples memory and the prior-benchmark catalog
    store, catalog = open_store(settings, embedder), open_catalog(settings, embedder)
    settle_heap()
    result = await run_autonomous(
        args.request,
        size=args.size,
        models=models,
        store=store,
        directory=args.out,
        options=build_options(settings),
        limits=limits(settings),
        on_event=printer(args.quiet),
        warnings=warnings,
        finishing=finish_options(settings),
        catalog=catalog,
        material=material,
    )
    return summary(result, args.out)


def read_sources(paths: list[Path], folder: Path, settings: Settings, *, quiet: bool) -> MaterialView | None:
    """Read the --source files into `folder`, saying what was read of each and what could not be; a file that
    cannot be read does not stop the build unless none can."""
    if not paths:
        return None
    files = expand_paths(paths)
    progress = None if quiet else (lambda line: print(f"reading {line}", file=sys.stderr))
    material = ingest(files, folder, source_limits(settings), on_progress=progress)
    for problem in problems_of(files, material):
        print(f"not read: {problem.name}: {problem.message}", file=sys.stderr)
    if material.empty:
        raise InvalidRequest(f"None of the {len(files)} --source file(s) could be read (each is named above), so there "
                             "is no material to build from.")
    view = MaterialView(folder)
    for line in view.describe():
        print(f"material: {line}", file=sys.stderr)
    return view
