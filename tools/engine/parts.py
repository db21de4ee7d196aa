"""The parts a build is made of: its options, a planned batch and a candidate sample (tools/engine/batches.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from memory.dedup import SHIPPED_THRESHOLD, TieBreak
from tools.contracts import CheckName, CheckRecord, Sample, SampleBrief, Subtask
from tools.engine.budget import Budget, Price
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions


class AcceptListener(Protocol):
    """Told of every sample a build accepts (and those kept from an earlier run of it), with the build's models to
    make calls through: the quality judge's early scoring (tools/finish/early.py)."""

    def attach(self, models: StageModels) -> None: ...

    def offer(self, sample: Sample) -> None: ...


@dataclass(frozen=True)
class BuildOptions:
    batch_size: int = 4
    max_rounds_per_sample: float = 3.0
    dedup_threshold: float = SHIPPED_THRESHOLD
    dedup_tie_break: TieBreak | None = None  # settles near-duplicates the text check cannot decide
    llm_tie_break: bool = True  # without dedup_tie_break: the judge model settles them (tools/dedup_judge.py)
    concurrency: int = 8
    budget: Budget = Budget()
    prices: dict[str, Price] = field(default_factory=dict)
    # The full quality gate (tools/qc.py) instead of a single judge verdict; None keeps the single judge.
    qc: QCOptions | None = None
    briefs: bool = False  # a design brief per sample, written before the batch (one more call per batch)


@dataclass(frozen=True)
class Batch:
    subtask: Subtask
    wave: int  # the batch's position in the plan (kept on its samples and drops as "wave")
    label: str
    count: int
    basis: int  # planned from the decisions of batches [0, basis)
    units: tuple[tuple[str, ...], ...] = ()  # grounded subtasks: per item, the material units it is written from


@dataclass
class Candidate:
    subtask: Subtask
    sample: Sample | None = None
    drop: tuple[CheckName, str] | None = None
    question: str | None = None
    unjudged: bool = False  # its checks were never run: the build was told to stop
    brief: SampleBrief | None = None
    records: list[CheckRecord] = field(default_factory=list)


def all_judged(candidates: list[Candidate] | None) -> bool:
    return candidates is not None and not any(c.unjudged for c in candidates)


def failed_call(candidates: list[Candidate]) -> bool:
    return any(c.drop is not None and c.drop[0] == "parse" for c in candidates)

