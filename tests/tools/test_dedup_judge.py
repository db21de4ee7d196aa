from __future__ import annotations

from tests.scripted import Script, stage_models
from tools.qc.dedup_judge import same_item


async def test_the_judge_settles_a_near_duplicate_pair() -> None:
    script = Script(submit_same_item=[{"same": True, "reason": "paraphrase"}])
    assert await same_item("Q: capital of France? A: Paris", "Q: France's capital city? A: Paris", models=stage_models(script))
    assert "Sample A:" in script.calls["submit_same_item"][0] and "Sample B:" in script.calls["submit_same_item"][0]


async def test_a_judge_without_a_usable_answer_keeps_both_samples() -> None:
    script = Script(submit_same_item=['{"same": "perhaps"}'])
    assert await same_item("a", "b", models=stage_models(script)) is False
