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
    # Indexes, so that planning a batch costs the same in the 10,000th batch as in the first.
    _planned: dict[str, list[dict[str, object]]] = field(default_factory=dict, init=False, repr=False)
    _subtask_of: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _decided: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _requested: Counter[str] = field(default_factory=Counter, init=False, repr=False)

    def load(self) -> None:
        for record in read_jsonl(self.directory / PROGRESS):
            if "batch" in record:
                self._index(dict(record["batch"]))
            else:
                self._mark_done(str(record["done"]), dict(record["counts"]))

    def plan(self, batch: dict[str, object]) -> None:
        self.journal.append(self.directory / PROGRESS, [{"batch": batch}], rank=PROGRESS_RANK)
        self._index(batch)

    def finish_batch(self, label: str, counts: Counter[str]) -> None:
        self.journal.append(self.directory / PROGRESS, [{"done": label, "counts": dict(counts)}], rank=PROGRESS_RANK)
        self._mark_done(label, dict(counts))

    def _index(self, batch: dict[str, object]) -> None:
        self.batches.append(batch)
        subtask, label = str(batch["subtask"]), str(batch["label"])
        self._planned.setdefault(subtask, []).append(batch)
        self._subtask_of[label] = subtask
        self._requested[subtask] += int(batch["count"])  # type: ignore[call-overload]
        if label in self.done:
            self._decided[subtask] += 1

    def _mark_done(self, label: str, counts: dict[str, int]) -> None:
        if label not in self.done and label in self._subtask_of:
            self._decided[self._subtask_of[label]] += 1
        self.done[label] = counts

    def planned(self, subtask_id: str) -> list[dict[str, object]]:
        """The batches planned for `subtask_id`, in plan order."""
        return self._planned.get(subtask_id, [])

    def requested(self, subtask_id: str) -> int:
        """Candidates asked for `subtask_id` by every batch planned so far."""
        return self._requested[subtask_id]

    def decided_of(self, subtask_id: str) -> int:
        """How many of `subtask_id`'s batches are decided (they are the first ones planned)."""
        return self._decided[subtask_id]

    def decided(self) -> int:
        return sum(self._decided.values())

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
    # Per-subtask indexes of the two lists above (decision order), so that no decision scans the whole build.
    _accepted_of: dict[str, list[Sample]] = field(default_factory=dict, init=False, repr=False)
    _drops_of: dict[str, list[Drop]] = field(default_factory=dict, init=False, repr=False)
    _ids: set[str] = field(default_factory=set, init=False, repr=False)

    def accept(self, sample: Sample) -> None:
        self.journal.append(self.directory / ACCEPTED, [sample.model_dump(mode="json")], rank=LEDGER_RANK)
        self._add_accepted(sample)

    def _add_accepted(self, sample: Sample) -> None:
        self.accepted.append(sample)
        self._accepted_of.setdefault(sample.subtask_id, []).append(sample)
        self._ids.add(sample.id)

    def _add_drop(self, drop: Drop) -> None:
        self.drops.append(drop)
        self._drops_of.setdefault(drop.subtask_id, []).append(drop)

    def record_checks(self, batch: str, records: list[CheckRecord]) -> None:
        """Every quality check of a candidate, kept for the quality report."""
        # Kept on disk only (the quality report reads them back, `decided_checks`): a large build's memory stays flat.
        self.journal.append(self.directory / CHECKS, [{"batch": batch, **r.model_dump(mode="json")} for r in records],
                            rank=LEDGER_RANK)

    def drop(self, drop: Drop) -> None:
        self.journal.append(self.directory / DROPS, [drop.model_dump(mode="json")], rank=LEDGER_RANK)
        self._add_drop(drop)

    def load(self, decided: set[str], *, checks: bool = False) -> None:
        """Read what earlier runs decided, keeping only batches marked done; a sample recorded twice counts once.
        The quality-check records are read only with `checks` (a build does not need them in memory)."""
        seen: dict[str, Sample] = {}
        for record in read_jsonl(self.directory / ACCEPTED):
            sample = Sample.model_validate(record)
            if sample.metadata.get("batch") in decided:
                seen.setdefault(sample.id, sample)
        self.accepted, self.drops = [], []
        self._accepted_of, self._drops_of, self._ids = {}, {}, set()
        for sample in seen.values():
            self._add_accepted(sample)
        for drop in (Drop.model_validate(r) for r in read_jsonl(self.directory / DROPS)):
            if drop.batch in decided:
                self._add_drop(drop)
        self.checks = [CheckRecord.model_validate({k: v for k, v in r.items() if k != "batch"})
                       for r in read_jsonl(self.directory / CHECKS) if r.get("batch") in decided] if checks else []

    def for_subtask(self, subtask_id: str, before_batch: int | None = None) -> list[Sample]:
        found = self._accepted_of.get(subtask_id, [])
        if before_batch is None:
            return list(found)
        return [s for s in found if int(s.metadata.get("wave", 0)) < before_batch]

    def count(self, subtask_id: str) -> int:
        """How many samples of `subtask_id` are accepted."""
        return len(self._accepted_of.get(subtask_id, ()))

    def dropped(self, subtask_id: str) -> int:
        return len(self._drops_of.get(subtask_id, ()))

    def lessons(self, subtask_id: str, before_batch: int) -> list[str]:
        """Reasons the generator's earlier samples for this subtask were rejected, newest last."""
        # Every quality check's reason teaches something; a failed call or a duplicate does not (the
        # generator is shown the questions to avoid instead).
        return [d.reason[:160] for d in self._drops_of.get(subtask_id, []) if d.check not in ("parse", "duplicate")
                and (d.wave or 0) < before_batch]

    def ids(self) -> set[str]:
        return self._ids

    def drop_reasons(self, subtask_id: str | None = None) -> Counter[str]:
        return Counter(f"{d.check}: {d.reason}" for d in self.drops if subtask_id in (None, d.subtask_id))

    def outcomes(self, plan: SubtaskPlan, rounds: dict[str, int]) -> list[SubtaskOutcome]:
        return [
            SubtaskOutcome(subtask_id=sub.id, quota=sub.quota, accepted=self.count(sub.id),
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
    ledger.load(set(progress.done), checks=True)
    return ledger.checks


def dedup_item(sample: Sample) -> DedupItem:
    return DedupItem(id=sample.id, question=sample.question, answer=sample.answer, context=sample.context,
                     choices=tuple(sample.choices) if sample.choices else None)
