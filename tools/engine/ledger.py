"""A build's record: every accepted sample and every drop, mirrored to append-only checkpoint files."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from memory.dedup import DedupItem
from memory.files import Journal, complete_size, read_jsonl
from tools.contracts import CheckRecord, Drop, Sample, StageCount, SubtaskOutcome, SubtaskPlan
from tools.engine.units import sample_units

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
    """What the build decided. Accepted samples are kept on disk only (`samples` reads them back): in memory, each
    one's id, subtask, batch position and question (what deciding and planning need), so a large build's memory
    stays flat in its samples; drops are few and stay in memory."""

    directory: Path
    journal: Journal = field(default_factory=Journal)
    drops: list[Drop] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    # Per-subtask indexes (decision order), so that no decision scans the whole build.
    _waves_of: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False)
    _questions_of: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _units: list[str] = field(default_factory=list, init=False, repr=False)
    _drops_of: dict[str, list[Drop]] = field(default_factory=dict, init=False, repr=False)
    _ids: set[str] = field(default_factory=set, init=False, repr=False)
    # accepted.jsonl as `load` found it: its bytes up to `_ours_from` are earlier runs' (read with `_decided`),
    # every line after them is a sample accepted in this run.
    _ours_from: int = field(default=0, init=False, repr=False)
    _decided: frozenset[str] = field(default_factory=frozenset, init=False, repr=False)

    def accept(self, sample: Sample) -> None:
        self.journal.append(self.directory / ACCEPTED, [sample.model_dump(mode="json")], rank=LEDGER_RANK)
        self._add_accepted(sample)

    def _add_accepted(self, sample: Sample) -> None:
        self._waves_of.setdefault(sample.subtask_id, []).append(int(sample.metadata.get("wave", 0)))
        self._questions_of.setdefault(sample.subtask_id, []).append(sample.question)
        self._units.extend(sample_units(sample))
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

    def load(self, decided: set[str], *, checks: bool = False) -> list[Sample]:
        """Read what earlier runs decided, keeping only batches marked done; a sample recorded twice counts once.
        Returns the accepted samples (for the caller to use and let go). The quality-check records are read only
        with `checks` (a build does not need them in memory)."""
        path = self.directory / ACCEPTED
        self._ours_from, self._decided = complete_size(path), frozenset(decided)  # a torn line is cut at the next append
        self.drops = []
        self._waves_of, self._questions_of, self._units, self._drops_of, self._ids = {}, {}, [], {}, set()
        loaded = _earlier(path, self._decided, self._ours_from)
        for sample in loaded:
            self._add_accepted(sample)
        for drop in (Drop.model_validate(r) for r in read_jsonl(self.directory / DROPS)):
            if drop.batch in decided:
                self._add_drop(drop)
        self.checks = [CheckRecord.model_validate({k: v for k, v in r.items() if k != "batch"})
                       for r in read_jsonl(self.directory / CHECKS) if r.get("batch") in decided] if checks else []
        return loaded

    def samples(self, subtask_ids: list[str]) -> list[Sample]:
        """The accepted samples of `subtask_ids`, subtask by subtask in that order, each in decision order: read
        back from accepted.jsonl (every append so far must be on disk: `journal.flush()` first)."""
        path = self.directory / ACCEPTED
        found = _earlier(path, self._decided, self._ours_from)
        if path.exists():
            with path.open("rb") as handle:
                handle.seek(self._ours_from)
                found += [Sample.model_validate(json.loads(line)) for line in handle if line.endswith(b"\n")]
        of: dict[str, list[Sample]] = {}
        for sample in found:
            of.setdefault(sample.subtask_id, []).append(sample)
        return [s for subtask_id in subtask_ids for s in of.get(subtask_id, [])]

    def questions(self, subtask_id: str, before_batch: int, *, last: int) -> list[str]:
        """The questions of the last `last` samples of `subtask_id` accepted from batches before `before_batch`."""
        waves, questions = self._waves_of.get(subtask_id, []), self._questions_of.get(subtask_id, [])
        found: list[str] = []
        for index in range(len(waves) - 1, -1, -1):  # from the newest: those from later batches are few
            if len(found) == last:
                break
            if waves[index] < before_batch:
                found.append(questions[index])
        return found[::-1]

    def units(self) -> list[str]:
        """The material units of every accepted sample."""
        return self._units

    def total(self) -> int:
        """How many samples are accepted."""
        return len(self._ids)

    def count(self, subtask_id: str) -> int:
        """How many samples of `subtask_id` are accepted."""
        return len(self._waves_of.get(subtask_id, ()))

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


def _earlier(path: Path, decided: frozenset[str], size: int) -> list[Sample]:
    """The samples of `decided` batches in the first `size` bytes of `path`, in the order first recorded, each id
    once (a torn last line, a crash mid-write, is not a record)."""
    seen: dict[str, Sample] = {}
    if not path.exists():
        return []
    read = 0
    with path.open("rb") as handle:
        for line in handle:
            read += len(line)
            if read > size or not line.endswith(b"\n"):
                break
            if line.strip():
                sample = Sample.model_validate(json.loads(line))
                if sample.metadata.get("batch") in decided:
                    seen.setdefault(sample.id, sample)
    return list(seen.values())


def dedup_item(sample: Sample) -> DedupItem:
    return DedupItem(id=sample.id, question=sample.question, answer=sample.answer, context=sample.context,
                     choices=tuple(sample.choices) if sample.choices else None)
