from __future__ import annotations

import pytest

from tests.scripted import Script, stage_models
from tests.tools.samples import SUBTASKS
from tools.contracts import BenchmarkSpec
from tools.stages.design import allocate, design_subtasks


def _spec(size: int) -> BenchmarkSpec:
    return BenchmarkSpec(goal="g", capability="arithmetic", domain="word problems", answer_format="numeric", size=size)


async def test_quotas_sum_to_the_requested_size() -> None:
    plan = await design_subtasks(_spec(31), models=stage_models(Script(submit_subtasks=[SUBTASKS])))
    assert plan.total == 31
    assert [s.id for s in plan.subtasks] == ["addition-chains", "mixed-operations"]
    assert all(s.answer_format == "numeric" for s in plan.subtasks)


async def test_more_subtasks_than_samples_keeps_only_as_many_as_fit() -> None:
    plan = await design_subtasks(_spec(1), models=stage_models(Script(submit_subtasks=[SUBTASKS])))
    assert plan.total == 1 and len(plan.subtasks) == 1


async def test_repeated_subtask_names_are_merged() -> None:
    twice = {"subtasks": [SUBTASKS["subtasks"][0], SUBTASKS["subtasks"][0]]}
    plan = await design_subtasks(_spec(10), models=stage_models(Script(submit_subtasks=[twice])))
    assert len(plan.subtasks) == 1 and plan.total == 10


@pytest.mark.parametrize(("total", "weights"), [(10, [1, 1, 1]), (7, [5, 1]), (3, [1, 1, 1]), (100, [2, 3, 5])])
def test_allocation_is_exact_and_gives_each_subtask_at_least_one(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(s >= 1 for s in shares)
