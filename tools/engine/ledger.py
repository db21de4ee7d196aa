"""A build's record: every accepted sample and every drop, mirrored to append-only checkpoint files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from memory.dedup import DedupItem
from memory.files import Journal, read_jsonl
from tools.contracts import CheckRecord, Drop, Sample, StageCount, SubtaskOutcome, SubtaskPlan

ACCEPTED = "accepted.jsonl"
DROPS = "drops.jsonl"
CHECKS = "checks.jsonl"
PROGRESS = "progress.jsonl"
# Journal ranks (memory.files.Journal): model answers (0, the call cache) reach the disk before the samples,
# drops and checks decided on them, and those before the batch's `done` marker.
LEDGER_RANK, PROGRESS_RANK = 1, 2


@dataclass
class Progress:
    """The build's batches in the order they were planned, and which of them are fully decided.

    A batch's decisions count only once its `done` marker is written, so a build killed halfway
    through a batch redoes that batch (from the call cache) instead of keeping half of it. Batches
    are decided in order, so the decided ones are always a prefix of the planned ones.
    """

    directory: Path
    journal: Journal = field(default_factory=Journal)
    batches: list[dict[str, object]] = field(default_factory=list)
    done: dict[str, dict[str, int]] = field(default_factory=dict)

    def load(self) -> None:
        for record in read_jsonl(self.directory / PROGRESS):
            if "batch" in record:
                self.batches.append(dict(record["batch"]))
            else:
                self.done[str(record["done"])] = dict(record["counts"])

    def plan(self, batch: dict[str, object]) -> None:
        self.journal.append(self.directory / PROGRESS, [{"batch": batch}], rank=PROGRESS_RANK)
        self.batches.append(batch)

    def finish_batch(self, label: str, counts: Counter[str]) -> None:
        self.journal.append(self.directory / PROGRESS, [{"done": label, "counts": dict(counts)}], rank=PROGRESS_RANK)
        self.done[label] = dict(counts)

    def decided(self) -> int:
        return sum(1 for b in self.batches if b["label"] in self.done)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.done.values():
            total.update(counts)
        return total


@dataclass
class Ledger:
    directory: Path
    journal: Journal = field(default_factory=Journal)
    accepted: list[Sample] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)

    def accept(self, sample: Sample) -> None:
        self.journal.append(self.directory / ACCEPTED, [sample.model_dump(mode="json")], rank=LEDGER_RANK)
        self.accepted.append(sample)

    def record_checks(self, batch: str, records: list[CheckRecord]) -> None:
        """Every quality check of a candidate, kept for the quality report."""
        self.journal.append(self.directory / CHECKS, [{"batch": batch, **r.model_dump(mode="json")} for r in records],
                            rank=LEDGER_RANK)
        self.checks.extend(records)

    def drop(self, drop: Drop) -> None:
        self.journal.append(self.directory / DROPS, [drop.model_dump(mode="json")], rank=LEDGER_RANK)
        self.drops.append(drop)

    def load(self, decided: set[str]) -> None:
        """Read what earlier runs decided, keeping only batches marked done; a sample recorded twice counts once."""
        seen: dict[str, Sample] = {}
        for record in read_jsonl(self.directory / ACCEPTED):
            sample = Sample.model_validate(record)
            if sample.metadata.get("batch") in decided:
                seen.setdefault(sample.id, sample)
        self.accepted = list(seen.values())
        drops = (Drop.model_validate(r) for r in read_jsonl(self.directory / DROPS))
        self.drops = [d for d in drops if d.batch in decided]
        self.checks = [CheckRecord.model_validate({k: v for k, v in r.items() if k != "batch"})
                       for r in read_jsonl(self.directory / CHECKS) if r.get("batch") in decided]

    def for_subtask(self, subtask_id: str, before_batch: int | None = None) -> list[Sample]:
        return [s for s in self.accepted if s.subtask_id == subtask_id
                and (before_batch is None or int(s.metadata.get("wave", 0)) < before_batch)]

    def lessons(self, subtask_id: str, before_batch: int) -> list[str]:
        """Reasons the generator's earlier samples for this subtask were rejected, newest last."""
        # Every quality check's reason teaches something; a failed call or a duplicate does not (the
        # generator is shown the questions to avoid instead).
        return [d.reason[:160] for d in self.drops if d.subtask_id == subtask_id and d.check not in ("parse", "duplicate")
                and (d.wave or 0) < before_batch]

    def ids(self) -> set[str]:
        return {s.id for s in self.accepted}

    def drop_reasons(self, subtask_id: str | None = None) -> Counter[str]:
        return Counter(f"{d.check}: {d.reason}" for d in self.drops if subtask_id in (None, d.subtask_id))

    def outcomes(self, plan: SubtaskPlan, rounds: dict[str, int]) -> list[SubtaskOutcome]:
        return [
            SubtaskOutcome(subtask_id=sub.id, quota=sub.quota, accepted=len(self.for_subtask(sub.id)),
                           rounds=rounds.get(sub.id, 0),
                           top_drop_reasons=[r for r, _ in self.drop_reasons(sub.id).most_common(3)])
            for sub in plan.subtasks
        ]


def stage_counts(totals: Counter[str]) -> list[StageCount]:
    """Per-check counts from `stage:attempted|passed|dropped` keys."""
    stages: dict[str, StageCount] = {}
    for key, value in sorted(totals.items()):
        stage, _, what = key.partition(":")
        entry = stages.setdefault(stage, StageCount(stage=stage))
        setattr(entry, what, getattr(entry, what) + value)
    order = ["generate", "parse", "schema", "leakage", "executed", "inspector", "solver", "judge", "duplicate", "surplus"]
    return sorted(stages.values(), key=lambda c: order.index(c.stage) if c.stage in order else len(order))


def decided_checks(directory: Path) -> list[CheckRecord]:
    """The quality-check records of every decided batch of the build checkpointed in `directory`."""
    progress = Progress(directory)
    progress.load()
    ledger = Ledger(directory)
    ledger.load(set(progress.done))
    return ledger.checks


def dedup_item(sample: Sample) -> DedupItem:
    return DedupItem(id=sample.id, question=sample.question, answer=sample.answer, context=sample.context,
                     choices=tuple(sample.choices) if sample.choices else None)
