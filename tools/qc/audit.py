"""The audit of an existing benchmark file: the product's own checks run over every item, ours or anyone's.

`audit_file(path, models=..., store=...)` reads the file (tools/qc/audit_table.py), turns each row into a
`Sample` (tools/qc/audit_rows.py) and runs on every item, independently of each other so that one finding
does not hide the next:

- schema: the format rules a generated draft meets (2-10 options allowed here);
- leakage: the question gives its answer away (tools/qc/leakage.py);
- duplicate: an item repeats an earlier row of the file, or a sample in the memory (memory/dedup.py);
- executed: where a row carries a solution program or unit tests, they are run in the sandbox;
- with models: the inspector (judge role) and the independent re-solve with adjudication (solver role),
  through the quality gate with repairs off: an audit reports, it changes nothing.

Nothing is written to the memory. `render_audit(report)` is the report as markdown, for the chat and the CLI.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from memory.dedup import SHIPPED_THRESHOLD, DedupItem, Deduplicator, Duplicate
from memory.embeddings import Embedder
from memory.store import SampleStore
from tools.contracts import BenchmarkSpec, BuildEvent, CheckName, EventSink, Sample, Subtask, emit
from tools.contracts.audit import (
    AuditFinding,
    AuditItem,
    AuditReport,
    CheckTotal,
    FieldMapping,
    ReasonCount,
    RowProblem,
)
from tools.errors import StageFailed
from tools.llm.stage import StageModels
from tools.qc.audit_rows import Unmappable, convert
from tools.qc.audit_table import Row, infer_mapping, read_table, unreadable
from tools.qc.dedup_judge import same_item
from tools.qc.executed import applies, check_executed
from tools.qc.gate import QCOptions, quality_gate
from tools.qc.leakage import find_leak
from tools.qc.sandbox import SandboxLimits

CHECK_ORDER: tuple[CheckName, ...] = ("schema", "leakage", "duplicate", "executed", "inspector", "solver")
_INSPECT = QCOptions(leakage=False, executed=False, constraints=False, require_solution_code=False, repair=False,
                     resolve=False)
_RESOLVE = QCOptions(leakage=False, executed=False, constraints=False, require_solution_code=False, inspect=False,
                     repair=False)
_NO_OUTPUT = "gave no valid output"


async def audit_file(path: Path, *, models: StageModels | None, store: SampleStore | None,
                     fields: dict[str, str] | None = None, on_event: EventSink | None = None,
                     embedder: Embedder | None = None, concurrency: int = 4,
                     threshold: float = SHIPPED_THRESHOLD, sandbox: SandboxLimits | None = None) -> AuditReport:
    """Audit the benchmark at `path`. `models` None runs the deterministic checks only; with a 'judge' role the
    inspector runs, with a 'solver' role the re-solve. `store` None skips the comparison with the memory (then
    `embedder` is needed for the duplicates within the file). Raises `InvalidRequest` for a file that cannot
    be read as a benchmark (missing, empty, not a table, no question column)."""
    rows = read_table(path)
    mapping = infer_mapping([row for _, row in rows if row is not None], fields)
    report = AuditReport(file=str(path), rows=len(rows), mapping=mapping,
                         unmapped=[RowProblem(row=n, reason=why) for n, why in unreadable(rows)])
    samples = _convert(rows, mapping, report)
    report.items = [item for item, _ in samples]
    await emit(on_event, BuildEvent(stage="verify", kind="started", total=len(samples),
                                    message=f"checking {len(samples)} items of {path.name}"))
    auditor = _Auditor(report, samples, models, store, embedder or (store.embedder if store else None),
                       concurrency, threshold, sandbox or SandboxLimits(), on_event)
    await auditor.run()
    report.totals = totals(report)
    await emit(on_event, BuildEvent(stage="verify", kind="finished", done=len(samples), total=len(samples),
                                    message=f"{len(report.failed_items)} of {len(samples)} items failed a check"))
    return report


def _convert(rows: list[tuple[int, Row | None]], mapping: FieldMapping,
             report: AuditReport) -> list[tuple[AuditItem, Sample | None]]:
    seen: set[str] = set()
    out: list[tuple[AuditItem, Sample | None]] = []
    for number, row in rows:
        if row is None:
            continue
        try:
            converted = convert(row, mapping, number, seen)
        except Unmappable as exc:
            report.unmapped.append(RowProblem(row=number, reason=str(exc)))
            continue
        sample = converted.sample
        item = AuditItem(row=number, id=sample.id if sample else f"audit-row-{number}",
                         source_id=(sample.metadata.get("source_id") if sample else None),
                         answer_format=sample.answer_format if sample else "unknown",
                         question=str(row.get(mapping.question, ""))[:200])
        if converted.schema_problem:
            item.failed.append(AuditFinding(check="schema", reasons=[converted.schema_problem], issues=["schema"]))
        else:
            item.passed.append("schema")
        if sample is None:
            item.not_run.append("every other check: the row cannot be held as an item (see schema)")
        out.append((item, sample))
    report.unmapped.sort(key=lambda p: p.row)
    return out


class _Auditor:
    def __init__(self, report: AuditReport, samples: list[tuple[AuditItem, Sample | None]], models: StageModels | None,
                 store: SampleStore | None, embedder: Embedder | None, concurrency: int, threshold: float,
                 sandbox: SandboxLimits, on_event: EventSink | None) -> None:
        self.report, self.pairs, self.store, self.sandbox, self.on_event = report, samples, store, sandbox, on_event
        self.models = models.limited(concurrency) if models is not None else None
        self.embedder, self.threshold = embedder, threshold
        self.limit = asyncio.Semaphore(concurrency)
        self.done = 0
        self.items = [(item, sample) for item, sample in samples if sample is not None]
        if self.models is not None:
            report.models = {role: self.models.names[role] for role in ("judge", "solver") if role in self.models.models}

    async def run(self) -> None:
        await self._duplicates()
        await asyncio.gather(*(self._item(item, sample) for item, sample in self.items))
        if not any(applies(s) for _, s in self.items):
            self.report.notes.append("No row carries a solution program or unit tests: no answer was computed "
                                     "(map one with --fields solution_code=COLUMN or tests=COLUMN).")
        if self.models is None:
            self.report.notes.append("No model given: the inspector and the independent re-solve did not run "
                                     "(give one with --model).")

    async def _item(self, item: AuditItem, sample: Sample) -> None:
        leak = find_leak(sample)
        if leak is None:
            item.passed.append("leakage")
        else:
            item.failed.append(AuditFinding(check="leakage", reasons=[leak], issues=["answer_leaked"]))
        if applies(sample):
            async with self.limit:
                outcome = await check_executed(sample, limits=self.sandbox)
            if outcome.passed:
                item.passed.append("executed")
            else:
                item.failed.append(AuditFinding(check="executed", reasons=[outcome.reason], issues=[outcome.issue]))
        if self.models is not None:
            await asyncio.gather(*(self._gate(item, sample, options) for options, role in ((_INSPECT, "judge"),
                                                                                          (_RESOLVE, "solver"))
                                   if role in self.models.models))
        self.done += 1
        total = len(self.items)
        if self.done == total or self.done * 20 // total != (self.done - 1) * 20 // total:
            await emit(self.on_event, BuildEvent(stage="verify", kind="progress", done=self.done, total=total,
                                                 message=f"{self.done}/{total} items checked"))

    async def _gate(self, item: AuditItem, sample: Sample, options: QCOptions) -> None:
        assert self.models is not None
        spec, subtask = _spec(self.report, sample)
        result = await quality_gate(sample, spec, subtask, models=self.models, options=options)
        for record in result.records:
            if any(_NO_OUTPUT in reason for reason in record.reasons):
                item.not_run.append(f"{record.check}: the model {_NO_OUTPUT}")
            elif record.outcome == "passed":
                item.passed.append(record.check)
            else:
                item.failed.append(AuditFinding(check=record.check, reasons=record.reasons, issues=record.issues))

    async def _duplicates(self) -> None:
        if self.embedder is None:
            self.report.notes.append("No embedder: duplicates were not looked for.")
            return
        tie_break = partial(same_item, models=self.models) if self.models is not None and "judge" in self.models.models \
            else None
        dedup = Deduplicator(self.embedder, threshold=self.threshold, tie_break=_safe(tie_break))
        items = [_dedup_item(sample) for _, sample in self.items]
        by_id = {sample.id: item for item, sample in self.items}
        remembered: list[Duplicate] = []
        if self.store is not None:
            remembered = [d for d in await dedup.against(items, self.store)
                          if d.a != by_id[d.b].source_id]  # this very item, remembered by the build that made it
        else:
            self.report.notes.append("No memory given: items were not compared with earlier benchmarks.")
        within = await dedup.within(items, skip={d.b for d in remembered})
        for duplicate in remembered:
            where = f"build {duplicate.build_id}" if duplicate.build_id else "the memory"
            by_id[duplicate.b].failed.append(AuditFinding(
                check="duplicate", memory_id=duplicate.a,
                reasons=[f"repeats {duplicate.a} from {where} ({duplicate.reason}, similarity {duplicate.score:.2f})"]))
        for duplicate in within:
            earlier = by_id[duplicate.a].row
            by_id[duplicate.b].failed.append(AuditFinding(
                check="duplicate", duplicate_of=earlier,
                reasons=[f"repeats row {earlier} ({duplicate.reason}, similarity {duplicate.score:.2f})"]))
        flagged = {d.b for d in [*remembered, *within]}
        for item, sample in self.items:
            if sample.id not in flagged:
                item.passed.append("duplicate")


def _safe(tie_break: Callable[[str, str], Awaitable[bool]] | None) -> Callable[[str, str], Awaitable[bool]] | None:
    if tie_break is None:
        return None

    async def settle(first: str, second: str) -> bool:
        try:
            return await tie_break(first, second)
        except StageFailed:
            return False  # undecided pairs are kept apart, as in a build
    return settle


def _dedup_item(sample: Sample) -> DedupItem:
    return DedupItem(id=sample.id, question=sample.question, answer=sample.answer, context=sample.context,
                     choices=tuple(sample.choices) if sample.choices else None)


def _spec(report: AuditReport, sample: Sample) -> tuple[BenchmarkSpec, Subtask]:
    """What the inspector is told: an existing benchmark, each item judged on its own terms."""
    name = Path(report.file).name
    subject = sample.subtask_id if sample.subtask_id != "audit" else "as the item states"
    spec = BenchmarkSpec(goal=f"An existing benchmark file, {name}, audited item by item.",
                         capability="whatever the item itself asks (an existing benchmark: judge each item on its own terms)",
                         domain=subject, answer_format=sample.answer_format, size=max(1, report.rows))
    subtask = Subtask(id=sample.subtask_id, name=subject, description=f"Items of {name}.",
                      answer_format=sample.answer_format, quota=1)
    return spec, subtask


# -- totals and rendering ---------------------------------------------------------------------------

def reason_shape(reason: str) -> str:
    """A reason with its quoted values and numbers taken out, so that the same failure counts as one reason."""
    shaped = re.sub(r"'[^']*'|\"[^\"]*\"", "…", reason)
    shaped = re.sub(r"\b(row|build) \S+", r"\1 …", shaped)
    shaped = re.sub(r"\d+(\.\d+)?", "N", shaped)
    return re.sub(r"\s+", " ", shaped).strip()[:160]


def totals(report: AuditReport) -> list[CheckTotal]:
    ran: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for item in report.items:
        for check in item.passed:
            ran[check] += 1
        for finding in item.failed:
            ran[finding.check] += 1
            failed[finding.check] += 1
            reasons.setdefault(finding.check, Counter()).update(
                {reason_shape(finding.reasons[0]) if finding.reasons else "no reason given": 1})
    ordered = [c for c in CHECK_ORDER if c in ran] + sorted(c for c in ran if c not in CHECK_ORDER)
    return [CheckTotal(check=c, ran=ran[c], failed=failed[c],  # type: ignore[arg-type]
                       top_reasons=[ReasonCount(reason=r, count=n) for r, n in reasons.get(c, Counter()).most_common(3)])
            for c in ordered]


def describe_mapping(mapping: FieldMapping) -> list[str]:
    lines = []
    for name in ("question", "answer", "choices", "answer_as", "context", "solution_code", "tests", "entry_point",
                 "rationale", "id", "subtask"):
        value = getattr(mapping, name)
        if value:
            shown = " + ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"{name} ← {shown} ({mapping.how.get(name, '')})")
    return lines


def render_audit(report: AuditReport, *, examples: int = 10) -> str:
    """The audit as markdown: the mapping, a table of checks, the first failing items, what could not be done."""
    name = Path(report.file).name
    items, bad = len(report.items), len(report.failed_items)
    lines = [f"**Audit of {name}**: {items} items read of {report.rows} rows; {bad} failed at least one check."]
    if report.models:
        lines.append("Model-run checks with " + ", ".join(f"{role} = `{name}`" for role, name in report.models.items()) + ".")
    lines += ["", "Fields read:", *[f"- {line}" for line in describe_mapping(report.mapping)], "",
              "| check | items checked | failed | most frequent reasons |", "|---|---:|---:|---|"]
    for total in report.totals:
        top = "; ".join(f"{r.reason} ({r.count})" for r in total.top_reasons) or "—"
        lines.append(f"| {total.check} | {total.ran} | {total.failed} | {top.replace('|', '/')} |")
    if report.failed_items:
        lines += ["", "First items that failed:"]
        for item in report.failed_items[:examples]:
            found = "; ".join(f"{f.check}: {f.reasons[0] if f.reasons else ''}"[:160] for f in item.failed)
            lines.append(f"- row {item.row}{f' ({item.source_id})' if item.source_id else ''}: {found}")
        if bad > examples:
            lines.append(f"- … and {bad - examples} more (check.json lists every item)")
    if report.unmapped:
        shown = "; ".join(f"row {p.row}: {p.reason}" for p in report.unmapped[:5])
        more = f" … and {len(report.unmapped) - 5} more" if len(report.unmapped) > 5 else ""
        lines += ["", f"{len(report.unmapped)} rows could not be read as items: {shown}{more}"]
    if report.notes:
        lines += ["", *[f"Note: {note}" for note in report.notes]]
    return "\n".join(lines)
