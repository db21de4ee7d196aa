"""The quality judge's scores, taken while the build runs, of the items the quality report will pick.

The report scores `size` items that `pick_for_scoring` draws by a hash of the build id and each item's id, a share
from each subtask; which items those are depends on the whole final set, so it is known only once the build ends.
Scored only then, the judge's calls came after the last sample, in rounds that left most of the endpoint's slots
idle. Instead each accepted sample is offered here as it is accepted. Only a subtask's `share` lowest hashes so far
can still be picked, since its set only grows:

- such an item whose hash is also below `share / quota` is scored at once: about `share` of a subtask's items fall
  below it, so it is picked unless more did;
- an item pushed out of the lowest is let go: its call is cancelled, at no cost when it was not sent yet;
- once a subtask's quota is met its items are final: the lowest not scored yet are scored then.

These calls wait behind every request of the build (the lowest `call_priority`), so they use the slots the build
leaves idle as it runs out. The report then takes the scores of the items it picks, awaits the ones still under
way and scores the rest itself (`tools.finish.quality.score_items`): the same items, each shown to the judge in the
same words, as a scoring after the build. The judge sees each item as it was accepted (with its options in that order: the
balancing of answer positions afterwards swaps two of them), whenever it is scored. A call the budget or a lost
endpoint stopped is made again by the report. The calls made here count against the build's budget, as its own do;
`unused` counts the answered ones the report did not take.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tools.contracts import ItemQuality, Sample, SubtaskPlan
from tools.errors import BudgetReached, ModelUnavailable
from tools.llm.resilience import call_priority
from tools.llm.stage import StageModels

LAST = sys.maxsize  # the call priority of these calls: after every request of the build

Scorer = Callable[[Sample], Awaitable[ItemQuality | None]]
ScoreWith = Callable[[Sample, StageModels], Awaitable[ItemQuality | None]]


def pick_key(sample_id: str, seed: str) -> str:
    """The order `pick_for_scoring` takes a subtask's items in (lowest first)."""
    return hashlib.sha256(f"{seed}|{sample_id}".encode()).hexdigest()


def _fraction(key: str) -> float:
    return int(key[:13], 16) / 16**13  # the hex key's leading 52 bits, as a number in [0, 1): the same order


def shares(plan: SubtaskPlan, size: int) -> dict[str, int]:
    """The most items `pick_for_scoring` can take from each subtask once every quota is met: it takes one from
    each in turn, and the subtasks that get one in a last, partial round depend on the hashes, so each of them
    is counted with one."""
    taken = {s.id: 0 for s in plan.subtasks}
    quota = {s.id: s.quota for s in plan.subtasks}
    left = size
    while left > 0:
        open_ = [sid for sid in taken if taken[sid] < quota[sid]]
        if not open_:
            break
        for sid in open_:
            taken[sid] += 1
        left -= len(open_)
    return taken


@dataclass
class _Subtask:
    quota: int
    share: int
    count: int = 0
    best: list[tuple[str, str]] = field(default_factory=list)  # the lowest (pick key, sample id)s so far, sorted


class EarlyScores:
    """Scores of the likely picks, started as samples are accepted; `attach` gives it the build's models."""

    def __init__(self, plan: SubtaskPlan, size: int, *, seed: str, prompt: Callable[[Sample], str],
                 score: ScoreWith) -> None:
        self.seed, self._prompt, self._score = seed, prompt, score
        share = shares(plan, size)
        self._subtasks = {s.id: _Subtask(quota=s.quota, share=share[s.id]) for s in plan.subtasks}
        self._scorer: Scorer | None = None
        self._tasks: dict[str, tuple[str, asyncio.Task[ItemQuality | None]]] = {}  # id -> (prompt, task)
        self._waiting: dict[str, Sample] = {}  # among the lowest so far, not scored yet
        self.unused = 0  # calls answered for items the report did not take

    def attach(self, models: StageModels) -> None:
        """The build's models, which the judge's calls go through (its slots, its budget, its call cache)."""
        score = self._score

        async def scorer(sample: Sample) -> ItemQuality | None:
            return await score(sample, models)

        self._scorer = scorer

    def offer(self, sample: Sample) -> None:
        """A sample just accepted (or kept from an earlier run of the build). Only a subtask's `share` lowest
        keys so far can be in the final pick: an item pushed out of them is let go (its call cancelled)."""
        entry = self._subtasks.get(sample.subtask_id)
        if entry is None or entry.share == 0 or entry.count >= entry.quota or self._scorer is None:
            return
        entry.count += 1
        key = pick_key(sample.id, self.seed)
        if len(entry.best) < entry.share or key < entry.best[-1][0]:
            bisect.insort(entry.best, (key, sample.id))
            if len(entry.best) > entry.share:
                self._let_go(entry.best.pop()[1])
            if _fraction(key) < entry.share / entry.quota:
                self._start(sample)
            else:
                self._waiting[sample.id] = sample
        if entry.count == entry.quota:  # the subtask's items are final: score the ones its share takes
            for _, sample_id in entry.best:
                if (waiting := self._waiting.pop(sample_id, None)) is not None:
                    self._start(waiting)

    def _let_go(self, sample_id: str) -> None:
        self._waiting.pop(sample_id, None)
        if (started := self._tasks.pop(sample_id, None)) is not None:
            self.unused += _drop(started[1])

    def _start(self, sample: Sample) -> None:
        assert self._scorer is not None
        self._tasks[sample.id] = (self._prompt(sample), asyncio.create_task(_scored(self._scorer, sample)))

    async def take(self, sample: Sample) -> tuple[bool, ItemQuality | None]:
        """(True, its scores) when `sample` was scored here as the judge would see it now (None: no valid scores);
        (False, None) when it was not, or its call was stopped: the caller scores it."""
        entry = self._tasks.pop(sample.id, None)
        if entry is None or entry[0] != self._prompt(sample):
            if entry is not None:
                self.unused += _drop(entry[1])
            return False, None
        try:
            return True, await entry[1]
        except (BudgetReached, ModelUnavailable):
            return False, None

    def cancel(self) -> None:
        """Cancel every call not taken (the report picked other items, or the build stopped)."""
        for _, task in self._tasks.values():
            self.unused += _drop(task)
        self._tasks.clear()
        self._waiting.clear()


async def _scored(scorer: Scorer, sample: Sample) -> ItemQuality | None:
    call_priority.set(LAST)  # this task's own context: the build's requests go first
    return await scorer(sample)


def _drop(task: asyncio.Task[ItemQuality | None]) -> int:
    """Cancel a call not needed; 1 when it had already been answered (scored in vain), else 0."""
    if task.done():
        if not task.cancelled():
            task.exception()  # retrieved, so that a failed call is not reported as never awaited
        return 0 if task.cancelled() or task.exception() is not None else 1
    task.cancel()
    return 0
