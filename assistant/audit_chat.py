"""Checking a benchmark file from the chat: "check this benchmark" after attaching a .jsonl, .csv or .parquet.

The file was read into the thread's material when it was attached (its stored copy is what is audited), so
the same quality gate `benchmark-agent check` runs goes over it: schema, leakage, duplicates within the file
and against the memory, executed answers where a solution is given and, with a real model, the inspector and
an independent re-solve. The findings are kept as check.json beside the stored copy.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.commands.check import save
from assistant.deps import AssistantDeps
from assistant.model_registry import uses_toy_model
from tools.contracts import SourceFile
from tools.qc.audit import audit_file, render_audit
from tools.sources import load_material

AUDITABLE = (".jsonl", ".csv", ".parquet", ".json")
# "check this benchmark", "audit the file", "run the quality checks on data.csv", "quality-check it"
WORDS = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:check|audit|verify|quality[- ]check|run (?:the |your )?"
    r"(?:quality )?checks? (?:on|over))\b", re.IGNORECASE)


def auditable_files(folder: str | None) -> list[SourceFile]:
    """The files attached to the thread (material folder `folder`) that can be audited as a benchmark, oldest first."""
    material = load_material(Path(folder)) if folder else None
    if material is None:
        return []
    return [s for s in material.sources if s.kind == "records" and Path(s.name).suffix.lower() in AUDITABLE]


def _chosen(files: list[SourceFile], message: str) -> SourceFile:
    """The file the message names (by file name or stem), else the one attached last."""
    lowered = message.lower()
    named = [s for s in files if s.name.lower() in lowered or Path(s.name).stem.lower() in lowered]
    return (named or files)[-1]


async def check_step(deps: AssistantDeps, message: str) -> str:
    files = auditable_files(deps.state.material_dir)
    if not files:
        return ("Attach the benchmark file to check (a .jsonl, .csv or .parquet with a question column and, "
                "usually, an answer column), then say 'check this benchmark'.")
    source = _chosen(files, message)
    folder = Path(deps.state.material_dir or "")
    toy = uses_toy_model(deps.models)
    report = await audit_file(folder / source.path, models=None if toy else deps.models, store=deps.store,
                              on_event=deps.on_event, concurrency=deps.settings.concurrency,
                              threshold=deps.settings.dedup_threshold)
    save(report, folder / "checks" / source.id)
    text = render_audit(report)
    if toy:
        text += ("\n\nOnly the checks that need no model ran: the embedded toy model's verdicts would be noise. "
                 "Set BENCHMARK_AGENT_MODEL (or the judge and solver models) for the inspector and the re-solve.")
    deps.documents.append(text)  # shown as it is; the chat model gets the short summary below
    return (f"Checked {source.name}: {len(report.items)} items read of {report.rows} rows, "
            f"{len(report.failed_items)} failed at least one check; the table of checks and the failing items "
            "are shown in full.")
