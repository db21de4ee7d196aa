"""The build loop: generate, check, de-duplicate and judge until every subtask's quota is met.

Every decision is written to the build's checkpoint files as it is made, so accepted samples
survive any crash, and a re-run over the same directory continues where it stopped.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from memory.files import append_jsonl, read_jsonl, write_json
from memory.store import SampleStore
from tools.checks import CheckFailed, make_provenance, to_sample
from tools.errors import StageFailed
from tools.generate import generate_batch
from tools.llm import StageModels
from tools.models import (
    BenchmarkSpec,
    BuildEvent,
    BuildReport,
    CheckName,
    Drop,
    Sample,
    StageCount,
    Subtask,
    SubtaskOutcome,
    SubtaskPlan,
)
from tools.verify import judge_sample

EventSink = Callable[[BuildEvent], Awaitable[None] | None]
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class BuildOptions:
    batch_size: int = 4
    max_rounds_per_sample: float = 3.0
    dedup_threshold: float = 0.9


@dataclass
class _Ledger:
    """Counts, drops and accepted samples of one build, mirrored to its checkpoint files."""

    directory: Path
    accepted: list[Sample] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    stages: dict[str, StageCount] = field(default_factory=dict)

    def count(self, stage: str, *, attempted: int = 0, passed: int = 0, dropped: int = 0) -> None:
        entry = self.stages.setdefault(stage, StageCount(stage=stage))
        entry.attempted += attempted
        entry.passed += passed
        entry.dropped += dropped

    def accept(self, sample: Sample) -> None:
        append_jsonl(self.directory / "accepted.jsonl", [sample.model_dump(mode="json")])
        self.accepted.append(sample)

    def drop(self, drop: Drop) -> None:
        append_jsonl(self.directory / "drops.jsonl", [drop.model_dump(mode="json")])
        self.drops.append(drop)
        self.count(drop.check, attempted=1, dropped=1)

    def load(self) -> None:
        self.accepted = [Sample.model_validate(r) for r in read_jsonl(self.directory / "accepted.jsonl")]
        self.drops = [Drop.model_validate(r) for r in read_jsonl(self.directory / "drops.jsonl")]

    def for_subtask(self, subtask_id: str) -> list[Sample]:
        return [s for s in self.accepted if s.subtask_id == subtask_id]


class _Build:
    def __init__(self, spec: BenchmarkSpec, plan: SubtaskPlan, *, build_id: str, models: StageModels,
                 store: SampleStore, directory: Path, options: BuildOptions, on_event: EventSink | None) -> None:
        self.spec, self.plan, self.build_id = spec, plan, build_id
        self.models, self.store, self.options, self.on_event = models, store, options, on_event
        self.ledger = _Ledger(directory)
        self.rounds: dict[str, int] = {}

    async def emit(self, **fields: object) -> None:
        if self.on_event is not None:
            result = self.on_event(BuildEvent(**fields))  # type: ignore[arg-type]
            if inspect.isawaitable(result):
                await result

    async def run_subtask(self, subtask: Subtask) -> None:
        accepted = self.ledger.for_subtask(subtask.id)
        calls_needed = math.ceil(subtask.quota / self.options.batch_size)
        allowed = max(2, math.ceil(calls_needed * self.options.max_rounds_per_sample))
        guidance: list[str] = []
        calls = 0
        while len(accepted) < subtask.quota and calls < allowed:
            need = subtask.quota - len(accepted)
            kind = "replenishing" if calls else "started"
            await self.emit(stage="generate", kind=kind, subtask_id=subtask.id, done=len(accepted), total=subtask.quota,
                            message=f"{subtask.name}: asking for {min(need, self.options.batch_size)} samples")
            calls += 1
            try:
                drafts = await generate_batch(self.spec, subtask, min(need, self.options.batch_size), models=self.models,
                                              avoid=[s.question for s in accepted], guidance=guidance[-3:])
            except StageFailed as exc:
                self.ledger.count("generate", attempted=1, dropped=1)
                await self._drop(subtask, "parse", str(exc).split(" (")[0])
                continue
            self.ledger.count("generate", attempted=1, passed=1)
            for draft in drafts[:need]:
                sample = await self._check(subtask, draft, attempt=calls, guidance=guidance)
                if sample is not None:
                    self.ledger.accept(sample)
                    self.store.add(sample.id, self._text(sample), build_id=self.build_id, subtask_id=subtask.id)
                    accepted.append(sample)
                    await self.emit(stage="verify", kind="accepted", subtask_id=subtask.id, done=len(accepted),
                                    total=subtask.quota, message=f"{subtask.name}: {len(accepted)}/{subtask.quota} accepted")
        self.rounds[subtask.id] = calls

    async def _check(self, subtask: Subtask, draft, *, attempt: int, guidance: list[str]) -> Sample | None:  # type: ignore[no-untyped-def]
        provenance = make_provenance(self.build_id, self.models.names["generator"], self.models.names["judge"],
                                     attempt, datetime.now(UTC))
        try:
            sample = to_sample(draft, subtask, provenance)
        except CheckFailed as exc:
            guidance.append(str(exc))
            await self._drop(subtask, "schema", str(exc), question=draft.question)
            return None
        self.ledger.count("schema", attempted=1, passed=1)
        match = self.store.find_duplicate(self._text(sample), threshold=self.options.dedup_threshold, build_id=self.build_id)
        if match is not None:
            await self._drop(subtask, "duplicate", f"too close to {match.id} ({match.similarity:.2f})",
                             sample=sample, duplicate_of=match.id)
            return None
        self.ledger.count("duplicate", attempted=1, passed=1)
        try:
            verdict = await judge_sample(sample, self.spec, models=self.models)
        except StageFailed:
            await self._drop(subtask, "judge", "judge gave no valid verdict", sample=sample)
            return None
        if not verdict.accepted:
            guidance.append(verdict.reasons[0])
            await self._drop(subtask, "judge", "; ".join(verdict.reasons), sample=sample)
            return None
        self.ledger.count("judge", attempted=1, passed=1)
        return sample

    async def _drop(self, subtask: Subtask, check: CheckName, reason: str, *, sample: Sample | None = None,
                    question: str | None = None, duplicate_of: str | None = None) -> None:
        self.ledger.drop(Drop(subtask_id=subtask.id, check=check, reason=reason[:300],
                              sample_id=sample.id if sample else None,
                              question=(sample.question if sample else question or None), duplicate_of=duplicate_of))
        await self.emit(stage="verify", kind="rejected", subtask_id=subtask.id, message=f"{check}: {reason[:120]}")

    @staticmethod
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
) -> tuple[list[Sample], BuildReport]:
    """Fill every subtask's quota, then return the accepted samples (in plan order) and the report."""
    started = datetime.now(UTC)
    checkpoints = directory / CHECKPOINTS
    write_json(checkpoints / "spec.json", spec.model_dump(mode="json"))
    write_json(checkpoints / "plan.json", plan.model_dump(mode="json"))
    build = _Build(spec, plan, build_id=build_id, models=models, store=store, directory=checkpoints,
                   options=options, on_event=on_event)
    build.ledger.load()
    for sample in build.ledger.accepted:  # a resumed build: re-register what was accepted before
        store.add(sample.id, build._text(sample), build_id=build_id, subtask_id=sample.subtask_id)
    await build.emit(stage="build", kind="started", done=len(build.ledger.accepted), total=plan.total,
                     message=f"Building {plan.total} samples in {len(plan.subtasks)} subtasks")
    for subtask in plan.subtasks:
        await build.run_subtask(subtask)
    samples = [s for sub in plan.subtasks for s in build.ledger.for_subtask(sub.id)]
    report = make_report(build, samples, started=started, warnings=warnings or [])
    await build.emit(stage="build", kind="finished", done=report.accepted, total=report.requested,
                     message=f"{report.accepted}/{report.requested} samples accepted ({report.status})")
    return samples, report


def make_report(build: _Build, samples: list[Sample], *, started: datetime, warnings: list[str]) -> BuildReport:
    drops = build.ledger.drops
    reasons = Counter(f"{d.check}: {d.reason}" for d in drops)
    outcomes = []
    for sub in build.plan.subtasks:
        sub_reasons = Counter(f"{d.check}: {d.reason}" for d in drops if d.subtask_id == sub.id)
        outcomes.append(SubtaskOutcome(
            subtask_id=sub.id, quota=sub.quota, accepted=len(build.ledger.for_subtask(sub.id)),
            rounds=build.rounds.get(sub.id, 0), top_drop_reasons=[r for r, _ in sub_reasons.most_common(3)]))
    notes = list(warnings)
    for outcome in outcomes:
        if outcome.short:
            why = "; ".join(outcome.top_drop_reasons) or "the generator returned too few samples"
            notes.append(f"Subtask {outcome.subtask_id} is {outcome.short} short of {outcome.quota}: {why}")
    positions = Counter(s.answer_letter for s in samples if s.answer_letter)
    return BuildReport(
        build_id=build.build_id, status="complete" if len(samples) >= build.plan.total else "short",
        spec=build.spec, plan=build.plan, requested=build.plan.total, accepted=len(samples),
        stages=list(build.ledger.stages.values()), subtasks=outcomes, drop_reasons=dict(reasons.most_common()),
        drops=drops, models=dict(build.models.names), usage=dict(build.models.usage),
        answer_positions=dict(sorted(positions.items())), warnings=notes, started_at=started, finished_at=datetime.now(UTC),
    )
