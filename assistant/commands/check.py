"""`benchmark-agent check FILE`: the product's quality checks over an existing benchmark file, ours or anyone's."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.commands.build import settings_from
from assistant.commands.progress import ProgressPrinter
from assistant.deps import memory_embedder, open_store
from assistant.model_registry import stage_models
from assistant.settings import EMBEDDED_MODEL
from tools.contracts.audit import AuditReport
from tools.errors import InvalidRequest
from tools.qc.audit import audit_file, render_audit
from tools.qc.audit_table import parse_fields

EXIT_FINDINGS = 1
REPORT_NAME = "check.json"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = commands.add_parser(
        "check", help="Audit a benchmark file (.jsonl, .csv, .parquet): format, leakage, duplicates, computed answers; "
                      "with --model also an inspector and an independent re-solve. Writes check.json.")
    check.add_argument("file", type=Path, help="The benchmark: one item per row.")
    check.add_argument("--model", default=None,
                       help="Model for the inspector and the re-solve, e.g. openai:gpt-4o-mini (default: none of them run).")
    check.add_argument("--out", type=Path, default=Path("."), help="Folder for check.json (default: the current one).")
    check.add_argument("--fields", default=None,
                       help="Columns to use instead of the inferred ones: question=q,answer=a,choices=opts "
                            "(or choices=A|B|C|D), answer_as=letter|index|index1|text, context=, solution_code=, "
                            "tests=, entry_point=, id=, subtask=.")
    check.add_argument("--no-memory", action="store_true", help="Do not compare with your benchmarks built here and the published ones.")
    check.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept (default: settings).")
    check.add_argument("--concurrency", type=int, default=None, help="Checks in flight (default: settings).")
    check.add_argument("--quiet", action="store_true", help="No progress lines.")
    check.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Exit status: 0 when no item failed a check, 1 when some did, 2 when the file cannot be audited."""
    fields = parse_fields(args.fields)  # a malformed --fields fails before anything is opened
    if not args.file.is_file():
        raise InvalidRequest(f"No such file: {args.file}. Give the path of a .jsonl, .csv or .parquet benchmark file.")
    settings = settings_from(args)
    models = None
    if args.model:
        if args.model == EMBEDDED_MODEL:
            raise InvalidRequest(f"--model {EMBEDDED_MODEL}: the embedded toy model's verdicts would be noise; "
                                 "give a real model (openai:NAME with OPENAI_BASE_URL or OPENAI_API_KEY).")
        models = stage_models(settings, roles=("judge", "solver"))
    embedder = memory_embedder()
    store = None if args.no_memory else open_store(settings, embedder)
    try:
        report = await audit_file(args.file, models=models, store=store, fields=fields, embedder=embedder,
                                  concurrency=args.concurrency or settings.concurrency,
                                  threshold=settings.dedup_threshold,
                                  on_event=ProgressPrinter(quiet=args.quiet))
    finally:
        if store is not None:
            store.close()
    path = save(report, args.out)
    print(render_audit(report))
    print(f"\nEvery item's findings: {path}")
    return EXIT_FINDINGS if report.failed_items else 0


def save(report: AuditReport, folder: Path) -> Path:
    """check.json in `folder`, written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    partial = path.with_suffix(".json.partial")
    partial.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    partial.replace(path)
    return path

