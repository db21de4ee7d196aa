"""The build loop: generate, check, judge and de-duplicate until every subtask's quota is met.

A build runs in waves. A wave asks the generator for each subtask's deficit, in batches, and judges
every candidate, all as bounded concurrent calls. Decisions (duplicate or not, accept or not) are
made one candidate at a time in a fixed order (batch, then draft) as results arrive, so a build over
the same responses always accepts the same samples, however the calls interleave. A batch's inputs
(what to avoid, lessons from rejections) come only from earlier waves.

Every decision is appended to the checkpoint files at once, and a batch counts as decided when its
`done` marker is written. A re-run over the same directory keeps the decided batches, redoes the
others from the call cache (no answered call is made twice) and goes on from there.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from memory.files import write_json
from memory.store import SampleStore
from tools.budget import Budget, Price, cost_of
from tools.checks import CheckFailed, make_provenance, to_sample
from tools.errors import ModelUnavailable, StageFailed
from tools.brief import design_briefs
from tools.generate import generate_batch
from tools.ledger import Ledger, Progress, stage_counts
from tools.llm import StageModels
from tools.models import (
    BenchmarkSpec,
    BuildEvent,
    BuildReport,
    CheckName,
    CheckRecord,
    CostEstimate,
    Drop,
    GateResult,
    Sample,
    SampleBrief,
    SampleDraft,
    Subtask,
    SubtaskPlan,
)
from tools.qc import QCOptions, quality_gate
from tools.verify import judge_sample

EventSink = Callable[[BuildEvent], Awaitable[None] | None]
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class BuildOptions:
    batch_size: int = 4
    max_rounds_per_sample: float = 3.0
    dedup_threshold: float = 0.9
    concurrency: int = 8
    budget: Budget = Budget()
    prices: dict[str, Price] = field(default_factory=dict)
    # The full quality gate (tools/qc.py) instead of a single judge verdict; None keeps the single judge.
    qc: QCOptions | None = None
    briefs: bool = False  # a design brief per sample, written before the batch (one more call per batch)


@dataclass(frozen=True)
class _Batch:
    subtask: Subtask
    wave: int
    label: str
    count: int


@dataclass
class _Candidate:
    subtask: Subtask
    sample: Sample | None = None
    drop: tuple[CheckName, str] | None = None
    question: str | None = None
    unjudged: bool = False  # its checks were never run: the build was told to stop
    brief: SampleBrief | None = None
    records: list[CheckRecord] = field(default_factory=list)


def _complete(candidates: list[_Candidate] | None) -> bool:
    return candidates is not None and not any(c.unjudged for c in candidates)


class _Build:
    def __init__(self, spec: BenchmarkSpec, plan: SubtaskPlan, *, build_id: str, models: StageModels,
                 store: SampleStore, directory: Path, options: BuildOptions, on_event: EventSink | None) -> None:
        self.spec, self.plan, self.build_id = spec, plan, build_id
        self.models, self.store, self.options, self.on_event = models, store, options, on_event
        self.ledger, self.progress = Ledger(directory), Progress(directory)
        self.subtasks = {s.id: s for s in plan.subtasks}
        self.limit = asyncio.Semaphore(options.concurrency)
        self.stop_reason: str | None = None

    async def emit(self, **fields: object) -> None:
        if self.on_event is not None:
            result = self.on_event(BuildEvent(**fields))  # type: ignore[arg-type]
            if inspect.isawaitable(result):
                await result

    # -- waves ------------------------------------------------------------------------------------

    def calls(self, subtask_id: str) -> int:
        return sum(1 for batches in self.progress.waves.values() for b in batches if b["subtask"] == subtask_id)

    def requested(self, subtask_id: str) -> int:
        return sum(int(b["count"]) for batches in self.progress.waves.values() for b in batches  # type: ignore[call-overload]
                   if b["subtask"] == subtask_id)

    def allowed_candidates(self, subtask: Subtask) -> int:
        """Candidates a subtask may ask for in all: its quota times the attempts allowed per sample."""
        return max(subtask.quota + 1, math.ceil(subtask.quota * self.options.max_rounds_per_sample))

    def yield_rate(self, subtask_id: str) -> float:
        """Share of this subtask's decided candidates that were accepted so far (0.9 before any is decided)."""
        accepted = len(self.ledger.for_subtask(subtask_id))
        dropped = sum(1 for d in self.ledger.drops if d.subtask_id == subtask_id)
        return accepted / (accepted + dropped) if accepted + dropped else 0.9

    def plan_wave(self, wave: int) -> list[_Batch]:
        """Batches for every subtask's deficit, asking for more when its candidates have been failing, so fewer
        replenishment waves (each a full round trip) are needed. Extra accepted candidates are dropped as surplus."""
        batches = []
        for subtask in self.plan.subtasks:
            missing = subtask.quota - len(self.ledger.for_subtask(subtask.id))
            left = self.allowed_candidates(subtask) - self.requested(subtask.id)
            deficit = min(math.ceil(missing / max(self.yield_rate(subtask.id), 0.25)), 2 * missing, left)
            while deficit > 0:
                count = min(deficit, self.options.batch_size)
                label = f"{subtask.id}/wave {wave + 1}/batch {len([b for b in batches if b.subtask is subtask]) + 1}"
                batches.append(_Batch(subtask, wave, label, count))
                deficit -= count
        if batches:
            self.progress.start_wave(wave, [{"subtask": b.subtask.id, "label": b.label, "count": b.count} for b in batches])
        return batches

    def pending_batches(self, wave: int) -> list[_Batch]:
        """The batches of an interrupted wave that were not fully decided."""
        return [_Batch(self.subtasks[str(b["subtask"])], wave, str(b["label"]), int(b["count"]))  # type: ignore[call-overload]
                for b in self.progress.waves[wave] if b["label"] not in self.progress.done]

    async def run_wave(self, batches: list[_Batch]) -> None:
        """Run the wave's batches concurrently; decide each batch in order as soon as it and those before it are in."""
        tasks = [asyncio.create_task(self.run_batch(batch)) for batch in batches]
        try:
            for batch, task in zip(batches, tasks, strict=True):
                candidates = await task
                if not _complete(candidates):
                    return  # stopped: this batch and the ones after it are redone on resume
                self.progress.finish_batch(batch.label, await self.decide(batch, candidates))  # type: ignore[arg-type]
        finally:
            for task in tasks:
                task.cancel()

    # -- calls ------------------------------------------------------------------------------------

    def cost(self) -> float | None:
        return cost_of(self.models.usage, self.models.names, self.options.prices)

    async def _call(self, make: Callable[[], Awaitable[object]]) -> object | None:
        """One model call under the concurrency limit; None once the build has been told to stop."""
        async with self.limit:
            if self.stop_reason is None:
                self.stop_reason = self.options.budget.exceeded(self.models.usage, self.cost())
            if self.stop_reason is not None:
                return None
            try:
                return await make()
            except ModelUnavailable as exc:
                self.stop_reason = self.stop_reason or str(exc)
                return None

    async def run_batch(self, batch: _Batch) -> list[_Candidate] | None:
        """The batch's judged candidates; None when the build stopped before its generation call."""
        subtask = batch.subtask
        avoid = [s.question for s in self.ledger.for_subtask(subtask.id, before_wave=batch.wave)]
        lessons = self.ledger.lessons(subtask.id, before_wave=batch.wave)[-3:]
        briefs = await self._briefs(batch, avoid) if self.options.briefs else None
        try:
            drafts = await self._call(lambda: generate_batch(self.spec, subtask, batch.count, models=self.models,
                                                             avoid=avoid, guidance=lessons, batch_label=batch.label,
                                                             briefs=briefs))
        except StageFailed as exc:
            return [_Candidate(subtask, drop=("parse", str(exc).split(" (")[0]))]
        if drafts is None:
            return None
        candidates = [self._schema(batch, draft) for draft in list(drafts)[: batch.count]]  # type: ignore[call-overload]
        for candidate, brief in zip(candidates, briefs or [], strict=False):
            candidate.brief = brief
        await asyncio.gather(*(self._check(c) for c in candidates if c.sample is not None))
        return candidates

    async def _briefs(self, batch: _Batch, avoid: list[str]) -> list[SampleBrief] | None:
        try:
            briefs = await self._call(lambda: design_briefs(self.spec, batch.subtask, batch.count, models=self.models,
                                                            avoid=avoid))
        except StageFailed:
            return None  # the samples are written without briefs rather than not at all
        return briefs  # type: ignore[return-value]

    def _schema(self, batch: _Batch, draft: SampleDraft) -> _Candidate:
        provenance = make_provenance(self.build_id, self.models.names["generator"], self.models.names["judge"],
                                     batch.wave + 1, datetime.now(UTC))
        try:
            sample = to_sample(draft, batch.subtask, provenance)
        except CheckFailed as exc:
            return _Candidate(batch.subtask, drop=("schema", str(exc)), question=draft.question)
        sample.metadata.update(batch=batch.label, wave=batch.wave)
        return _Candidate(batch.subtask, sample=sample, question=draft.question)

    async def _check(self, candidate: _Candidate) -> None:
        """The quality gate, or the single judge; sets the candidate's records and its drop, if any."""
        sample = candidate.sample
        assert sample is not None
        qc = self.options.qc
        try:
            if qc is None:
                result = await self._call(lambda: self._judge(sample))
            else:
                result = await self._call(lambda: quality_gate(sample, self.spec, candidate.subtask, models=self.models,
                                                               options=qc, brief=candidate.brief))
        except StageFailed:
            result = GateResult(sample=None, records=[CheckRecord(sample_id=sample.id, check="judge", outcome="dropped",
                                                                  reasons=["no valid verdict"])])
        if result is None:
            candidate.unjudged = True
            return
        assert isinstance(result, GateResult)
        candidate.records = result.records
        dropped = result.dropped
        if result.sample is None or dropped is not None:
            check, reasons = (dropped.check, dropped.reasons) if dropped else ("judge", [])
            candidate.drop = (check, "; ".join(reasons) or f"failed the {check} check")
        else:
            result.sample.metadata.update(batch=sample.metadata["batch"], wave=sample.metadata["wave"])
            candidate.sample = result.sample

    async def _judge(self, sample: Sample) -> GateResult:
        verdict = await judge_sample(sample, self.spec, models=self.models)
        record = CheckRecord(sample_id=sample.id, check="judge", outcome="passed" if verdict.accepted else "dropped",
                             reasons=verdict.reasons)
        return GateResult(sample=sample if verdict.accepted else None, records=[record])

    # -- decisions --------------------------------------------------------------------------------

    async def decide(self, batch: _Batch, candidates: list[_Candidate]) -> Counter[str]:
        counts: Counter[str] = Counter({"generate:attempted": 1})
        counts["generate:passed" if not _failed_call(candidates) else "generate:dropped"] += 1
        for candidate in candidates:
            check = candidate.drop[0] if candidate.drop else None
            if check != "parse":
                counts["schema:attempted"] += 1
                counts["schema:dropped" if check == "schema" else "schema:passed"] += 1
            for record in candidate.records:
                counts[f"{record.check}:attempted"] += 1
                counts[f"{record.check}:{'dropped' if record.outcome == 'dropped' else 'passed'}"] += 1
            self.ledger.record_checks(batch.label, candidate.records)
            if candidate.drop is not None:
                await self._drop(batch, candidate, *candidate.drop)
                continue
            counts.update(await self._accept_unless_duplicate(batch, candidate))
        return counts

    async def _accept_unless_duplicate(self, batch: _Batch, candidate: _Candidate) -> list[str]:
        subtask, sample = batch.subtask, candidate.sample
        assert sample is not None
        if len(self.ledger.for_subtask(subtask.id)) >= subtask.quota:
            return ["surplus:attempted"]  # the quota filled up earlier in this wave
        if sample.id in self.ledger.ids():
            await self._drop(batch, candidate, "duplicate", "same question and answer as an accepted sample",
                             duplicate_of=sample.id)
            return ["duplicate:attempted", "duplicate:dropped"]
        text = _text(sample)
        match = await asyncio.to_thread(self.store.find_duplicate, text, threshold=self.options.dedup_threshold,
                                        build_id=self.build_id)
        if match is not None:
            await self._drop(batch, candidate, "duplicate", "near-duplicate of an accepted sample",
                             duplicate_of=match.id, similarity=match.similarity)
            return ["duplicate:attempted", "duplicate:dropped"]
        self.ledger.accept(sample)
        await asyncio.to_thread(self.store.add, sample.id, text, build_id=self.build_id, subtask_id=subtask.id)
        done = len(self.ledger.for_subtask(subtask.id))
        await self.emit(stage="verify", kind="accepted", subtask_id=subtask.id, done=done, total=subtask.quota,
                        message=f"{subtask.name}: {done}/{subtask.quota} accepted")
        return ["duplicate:attempted", "duplicate:passed"]

    async def _drop(self, batch: _Batch, candidate: _Candidate, check: CheckName, reason: str, *,
                    duplicate_of: str | None = None, similarity: float | None = None) -> None:
        sample = candidate.sample
        self.ledger.drop(Drop(subtask_id=batch.subtask.id, check=check, reason=reason[:300],
                              sample_id=sample.id if sample else None,
                              question=sample.question if sample else candidate.question, duplicate_of=duplicate_of, similarity=similarity,
                              batch=batch.label, wave=batch.wave))
        await self.emit(stage="verify", kind="rejected", subtask_id=batch.subtask.id, message=f"{check}: {reason[:120]}")

    async def restore(self) -> int:
        """Load what earlier runs decided; return the wave to continue with."""
        self.progress.load()
        self.ledger.load(set(self.progress.done))
        await asyncio.to_thread(self.store.remove_build, self.build_id)  # drop entries of undecided batches
        for sample in self.ledger.accepted:
            await asyncio.to_thread(self.store.add, sample.id, _text(sample), build_id=self.build_id,
                                    subtask_id=sample.subtask_id)
        unfinished = self.progress.unfinished_wave()
        if unfinished is not None:
            await self.run_wave(self.pending_batches(unfinished))
            return unfinished + 1
        return len(self.progress.waves)


def _failed_call(candidates: list[_Candidate]) -> bool:
    return any(c.drop is not None and c.drop[0] == "parse" for c in candidates)


def _text(sample: Sample) -> str:
    return SampleStore.sample_text(sample.question, sample.context, sample.answer, sample.choices)


async def run_build(
    spec: BenchmarkSpec,
    plan: SubtaskPlan,
    *,
    build_id: str,
    models: StageModels,
    store: SampleStore,
    directory: Path,
    options: BuildOptions = BuildOptions(),
    on_event: EventSink | None = None,
    warnings: list[str] | None = None,
    estimate: CostEstimate | None = None,
) -> tuple[list[Sample], BuildReport]:
    """Fill every subtask's quota (or stop at a limit); return the accepted samples in plan order and the report."""
    started = datetime.now(UTC)
    checkpoints = directory / CHECKPOINTS
    write_json(checkpoints / "spec.json", spec.model_dump(mode="json"))
    write_json(checkpoints / "plan.json", plan.model_dump(mode="json"))
    build = _Build(spec, plan, build_id=build_id, models=models, store=store, directory=checkpoints,
                   options=options, on_event=on_event)
    await build.emit(stage="build", kind="started", total=plan.total,
                     message=f"Building {plan.total} samples in {len(plan.subtasks)} subtasks")
    wave = await build.restore()
    while build.stop_reason is None and (batches := build.plan_wave(wave)):
        kind = "started" if wave == 0 else "replenishing"
        await build.emit(stage="generate", kind=kind, done=len(build.ledger.accepted), total=plan.total,
                         message=f"Wave {wave + 1}: {sum(b.count for b in batches)} samples in {len(batches)} batches")
        await build.run_wave(batches)
        wave += 1
    samples = [s for sub in plan.subtasks for s in build.ledger.for_subtask(sub.id)]
    report = _report(build, samples, started=started, warnings=warnings or [], estimate=estimate)
    await build.emit(stage="build", kind="finished", done=report.accepted, total=report.requested,
                     message=f"{report.accepted}/{report.requested} samples accepted ({report.status})")
    return samples, report


def _report(build: _Build, samples: list[Sample], *, started: datetime, warnings: list[str],
            estimate: CostEstimate | None) -> BuildReport:
    outcomes = build.ledger.outcomes(build.plan, {s.id: build.calls(s.id) for s in build.plan.subtasks})
    notes = list(warnings)
    for outcome in outcomes:
        if outcome.short and build.stop_reason is None:
            why = "; ".join(outcome.top_drop_reasons) or "the generator returned too few samples"
            notes.append(f"Subtask {outcome.subtask_id} is {outcome.short} short of {outcome.quota}: {why}")
    complete = len(samples) >= build.plan.total
    if build.stop_reason and not complete:
        notes.append(f"Stopped early: {build.stop_reason}. Everything accepted so far is saved; resume to continue.")
    status = "complete" if complete else "stopped" if build.stop_reason else "short"
    positions = Counter(s.answer_letter for s in samples if s.answer_letter)
    return BuildReport(
        build_id=build.build_id, status=status, stop_reason=None if complete else build.stop_reason,
        spec=build.spec, plan=build.plan, requested=build.plan.total, accepted=len(samples),
        stages=stage_counts(build.progress.totals()), subtasks=outcomes,
        drop_reasons=dict(build.ledger.drop_reasons().most_common()), drops=build.ledger.drops,
        models=dict(build.models.names), usage=dict(build.models.usage), cost=build.cost(), estimate=estimate,
        cache_hits=build.models.cache_hits(), retries=build.models.retries(),
        answer_positions=dict(sorted(positions.items())), warnings=notes, started_at=started,
        finished_at=datetime.now(UTC),
    )
