"""The quality judge's scores taken while the build runs (tools/finish/early.py)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.contracts import QUALITY_DIMENSIONS, ItemQuality, QualityScores, Sample, Subtask, SubtaskPlan
from tools.contracts.sample import Provenance
from tools.errors import BudgetReached
from tools.finish.early import EarlyScores, shares
from tools.finish.quality import pick_for_scoring
from tools.llm.resilience import call_priority
from tools.llm.stage import StageModels

PROVENANCE = Provenance(build_id="b1", generator_model="m", attempt=0, created_at=datetime(2026, 1, 1, tzinfo=UTC))
SCORES = QualityScores.model_validate({**dict.fromkeys(QUALITY_DIMENSIONS, 70), "comment": "fine"})


def _plan(*quotas: int) -> SubtaskPlan:
    return SubtaskPlan(subtasks=[Subtask(id=f"s{i}", name=f"S{i}", description="d", answer_format="short_answer", quota=q)
                                 for i, q in enumerate(quotas)])


def _sample(subtask: str, n: int) -> Sample:
    digest = hashlib.sha256(f"{subtask}{n}".encode()).hexdigest()[:12]
    return Sample(id=f"{subtask}-{digest}", subtask_id=subtask, answer_format="short_answer", question=f"Q{n} of {subtask}?",
                  answer=str(n), provenance=PROVENANCE)


class _Judge:
    """Scores every item it is asked for after `delay_s`, and notes each ask with its call priority."""

    def __init__(self, delay_s: float = 0.0, fail: set[str] | None = None) -> None:
        self.asked: list[tuple[str, int]] = []
        self.delay_s, self.fail = delay_s, fail or set()

    async def __call__(self, sample: Sample, models: StageModels) -> ItemQuality | None:
        self.asked.append((sample.id, call_priority.get()))
        await asyncio.sleep(self.delay_s)
        if sample.id in self.fail:
            raise BudgetReached("token budget reached")
        return ItemQuality(sample_id=sample.id, subtask_id=sample.subtask_id, scores=SCORES)


def _early(plan: SubtaskPlan, size: int, judge: _Judge) -> EarlyScores:
    early = EarlyScores(plan, size, seed="b1", prompt=lambda s: f"{s.question}|{s.answer}", score=judge)
    early.attach(StageModels(models={}, names={}))
    return early


@settings(max_examples=200, deadline=None)
@given(quotas=st.lists(st.integers(1, 30), min_size=1, max_size=6), size=st.integers(1, 40), seed=st.text(max_size=5))
def test_no_subtask_gives_the_pick_more_items_than_its_share(quotas: list[int], size: int, seed: str) -> None:
    plan = _plan(*quotas)
    items = [_sample(s.id, n) for s in plan.subtasks for n in range(s.quota)]
    picked = pick_for_scoring(items, size, seed=seed)
    limit = shares(plan, size)
    for sid, most in limit.items():
        assert sum(1 for p in picked if p.subtask_id == sid) <= most
    assert sum(limit.values()) <= size + len(quotas) - 1  # each subtask at most one more than it may get


async def test_once_every_quota_is_met_exactly_the_report_s_picks_are_scored_and_at_the_lowest_priority() -> None:
    plan, judge = _plan(30, 30, 40), _Judge()
    early = _early(plan, 12, judge)
    items = [_sample(s.id, n) for s in plan.subtasks for n in range(s.quota)]
    for item in items:
        early.offer(item)
    await asyncio.sleep(0)  # the calls start
    picked = pick_for_scoring(items, 12, seed="b1")
    asked = {sample_id for sample_id, _ in judge.asked}
    assert asked == {p.id for p in picked}  # the items pushed out of the lowest were let go before their calls
    assert {priority for _, priority in judge.asked} == {2**63 - 1}  # behind every request of the build
    taken = [await early.take(p) for p in picked]
    assert all(found and quality is not None and quality.sample_id == p.id for (found, quality), p in zip(taken, picked, strict=True))


async def test_items_scored_before_their_subtask_filled_and_then_not_picked_are_cancelled_or_counted() -> None:
    plan, judge = _plan(40), _Judge(delay_s=10.0)
    early = _early(plan, 4, judge)
    items = [_sample("s0", n) for n in range(40)]
    for item in items[:39]:
        early.offer(item)
    await asyncio.sleep(0)
    before = {sample_id for sample_id, _ in judge.asked}
    assert 0 < len(before) <= 4, "only the lowest so far, below the subtask's share, are scored before it is full"
    early.offer(items[39])  # the quota is met: the set is final
    await asyncio.sleep(0)
    picks = {p.id for p in pick_for_scoring(items, 4, seed="b1")}
    running = {sample_id for sample_id, (_, task) in early._tasks.items() if not task.done()}
    assert running == picks and early.unused == 0  # the others were cancelled before any answer
    early.cancel()
    await asyncio.sleep(0)
    assert not early._tasks


async def test_an_item_shown_otherwise_now_or_stopped_by_the_budget_is_left_to_the_report() -> None:
    plan = _plan(3)
    items = [_sample("s0", n) for n in range(3)]
    judge = _Judge(fail={items[1].id})
    early = _early(plan, 3, judge)
    for item in items:
        early.offer(item)
    changed = items[0].model_copy(update={"question": "Another question?"})
    assert await early.take(changed) == (False, None)
    assert await early.take(items[1]) == (False, None)  # the budget stopped its call: the report scores it
    found, quality = await early.take(items[2])
    assert found and quality is not None
    assert await early.take(items[2]) == (False, None), "a score is taken once"


async def test_without_its_share_a_subtask_is_not_scored_early() -> None:
    plan, judge = _plan(5, 5, 5), _Judge()
    early = _early(plan, 2, judge)  # two picks over three subtasks: each might get one, none gets two
    assert shares(plan, 2) == {"s0": 1, "s1": 1, "s2": 1}
    assert shares(_plan(2, 9), 8) == {"s0": 2, "s1": 6}
    early.offer(_sample("nope", 1))  # a subtask not in the plan
    await asyncio.sleep(0)
    assert judge.asked == []
