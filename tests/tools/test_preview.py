from __future__ import annotations

from typing import Any

from tests.scripted import Script, stage_models
from tests.tools.samples import ACCEPT, arithmetic_item, batch_for
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
from tools.engine.preview import preview_samples, review_note, with_guidance
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions
from tools.stages.generate import generation_prompt

SPEC = BenchmarkSpec(goal="g", capability="arithmetic", domain="word problems", answer_format="numeric", size=8)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="adding", name="Adding", description="Additions.", answer_format="numeric", quota=5),
    Subtask(id="mixing", name="Mixing", description="Mixed steps.", answer_format="multiple_choice", quota=3),
])
QC = QCOptions()  # the build's default gate; the scripted models have no solver, so there is no re-solve
NO_ISSUES: dict[str, Any] = {"issues": []}


def _models(generate: Any, inspection: Any = NO_ISSUES) -> StageModels:
    return stage_models(Script(submit_samples=[generate], submit_inspection=[inspection], submit_verdict=[ACCEPT]))


async def test_preview_writes_checked_samples_for_every_subtask() -> None:
    items, problems = await preview_samples(SPEC, PLAN, models=_models(batch_for),
                                            qc=QC, per_subtask=3)
    assert [i.subtask_id for i in items] == ["adding"] * 3 + ["mixing"] * 3 and not problems
    assert all(i.status == "pending" for i in items)
    assert items[3].choices and items[3].answer in items[3].choices


async def test_drafts_that_fail_the_checks_are_not_shown_and_are_reported() -> None:
    def with_a_bad_one(prompt: str) -> dict:  # type: ignore[type-arg]
        batch = batch_for(prompt)
        if "Answer format: numeric" in prompt:
            batch["samples"][0] = {**arithmetic_item("numeric"), "question": "2+2?"}
        return batch

    items, problems = await preview_samples(SPEC, PLAN, models=_models(with_a_bad_one),
                                            qc=QC, per_subtask=3)
    assert len([i for i in items if i.subtask_id == "adding"]) == 2 and len(problems) == 1


async def test_a_rejection_reason_reaches_the_generators_prompt() -> None:
    items, _ = await preview_samples(SPEC, PLAN, models=_models(batch_for), qc=QC, per_subtask=1)
    rejected = items[0].model_copy(update={"status": "rejected", "reason": "too easy, needs two steps"})
    plan = with_guidance(PLAN, rejected.subtask_id, review_note(rejected) or "")
    prompt = generation_prompt(SPEC, plan.subtasks[0], 4, [], [])
    assert "too easy, needs two steps" in prompt and rejected.question[:40] in prompt
    assert "too easy" not in generation_prompt(SPEC, plan.subtasks[1], 4, [], [])


def test_accepted_previews_add_no_instruction() -> None:
    item = {"id": "a-p1", "subtask_id": "a", "answer_format": "numeric", "question": "q?", "answer": "1"}
    from tools.contracts import PreviewItem

    assert review_note(PreviewItem.model_validate({**item, "status": "accepted"})) is None
    edited = review_note(PreviewItem.model_validate({**item, "status": "edited", "answer": "2"}))
    assert edited is not None and "answer: 2" in edited


async def test_a_draft_that_repeats_another_is_shown_once() -> None:
    def repeated(prompt: str) -> dict:  # type: ignore[type-arg]
        item = arithmetic_item("numeric")
        return {"samples": [item, item, arithmetic_item("numeric")]}

    one = SubtaskPlan(subtasks=[PLAN.subtasks[0]])
    items, problems = await preview_samples(SPEC, one, models=_models(repeated), qc=QC, per_subtask=3)
    assert len(items) == 2 and problems == ["Adding: a draft repeated another one"]


async def test_previews_go_through_the_builds_quality_gate_and_show_its_verdicts() -> None:
    def one_wrong_key(prompt: str) -> dict[str, Any]:
        batch = batch_for(prompt)
        if "Answer format: numeric" in prompt:
            batch["samples"][0]["answer"] = str(int(batch["samples"][0]["answer"]) + 1)  # its program says otherwise
        return batch

    items, problems = await preview_samples(SPEC, PLAN, models=_models(one_wrong_key), qc=QC, per_subtask=3)
    assert [i.subtask_id for i in items] == ["adding"] * 2 + ["mixing"] * 3
    assert len(problems) == 1 and problems[0].startswith("Adding: a draft failed the executed check (the solution code computes")
    numeric, choice = items[0], items[2]
    assert numeric.checks == ["leakage: passed", "executed: passed (the solution code computes the gold answer)",
                              "inspector: passed"]
    assert choice.checks == ["leakage: passed", "inspector: passed"]


async def test_a_preview_the_inspector_finds_wrong_is_not_shown_and_says_why() -> None:
    wrong = {"issues": [{"kind": "wrong_answer", "detail": "the total is off by one"}]}
    one = SubtaskPlan(subtasks=[PLAN.subtasks[1]])
    items, problems = await preview_samples(SPEC, one, models=_models(batch_for, wrong), qc=QC, per_subtask=2)
    assert items == [] and problems == ["Mixing: a draft failed the inspector check (wrong_answer: the total is off by one)"] * 2


async def test_previews_of_a_build_without_the_gate_get_its_single_judge_verdict() -> None:
    one = SubtaskPlan(subtasks=[PLAN.subtasks[1]])
    items, problems = await preview_samples(SPEC, one, models=_models(batch_for), qc=None, per_subtask=2)
    assert not problems and [i.checks for i in items] == [["judge: passed"]] * 2
