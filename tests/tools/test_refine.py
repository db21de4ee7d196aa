from __future__ import annotations

import pytest

from tests.scripted import Script, stage_models
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
from tools.errors import InvalidEdit, StageFailed
from tools.stages.plan_edits import HARDER_GUIDANCE, apply_edit
from tools.stages.refine import parse_edit, refine_plan, revise

SPEC = BenchmarkSpec(goal="g", capability="arithmetic", domain="word problems", answer_format="multiple_choice", size=20)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="fractions", name="Fractions", description="Adding fractions.", answer_format="multiple_choice", quota=10),
    Subtask(id="percent", name="Percentages and ratios", description="Percent.", answer_format="multiple_choice", quota=6),
    Subtask(id="geometry", name="Geometry", description="Areas.", answer_format="multiple_choice", quota=4),
])


def _edit(text: str) -> SubtaskPlan:
    edits = parse_edit(text, PLAN)
    assert edits is not None, f"{text!r} was not read as an edit"
    revision = revise(PLAN, SPEC, edits, max_size=500)
    assert revision.plan.total == revision.spec.size, "quotas always sum to the size"
    return revision.plan


def _names(plan: SubtaskPlan) -> list[str]:
    return [s.name for s in plan.subtasks]


def test_drop_gives_the_dropped_quota_to_the_others() -> None:
    plan = _edit("please drop the second subtask")
    assert _names(plan) == ["Fractions", "Geometry"] and plan.total == 20


def test_add_takes_an_even_share_from_the_others() -> None:
    plan = _edit("add a subtask on probability")
    assert _names(plan)[-1] == "Probability" and plan.subtasks[-1].quota == 5 and plan.total == 20


def test_add_with_a_quota_gets_exactly_that_quota() -> None:
    assert _edit("add probability with 7 items").subtasks[-1].quota == 7


def test_rename_keeps_the_id_so_reviews_of_the_subtask_stay_attached() -> None:
    plan = _edit("rename Geometry to Areas and perimeters")
    assert plan.subtasks[2].name == "Areas and perimeters" and plan.subtasks[2].id == "geometry"


def test_split_makes_an_easy_and_a_hard_half_in_place() -> None:
    plan = _edit("split fractions into easy and hard")
    assert [(s.id, s.difficulty, s.quota) for s in plan.subtasks[:2]] == [("fractions-easy", "easy", 5),
                                                                           ("fractions-hard", "hard", 5)]
    assert _names(plan)[2:] == ["Percentages and ratios", "Geometry"]


def test_merge_sums_the_quotas_into_one_subtask() -> None:
    plan = _edit("merge 1 and 3 into Mixed skills")
    assert _names(plan) == ["Mixed skills", "Percentages and ratios"] and plan.subtasks[0].quota == 14


def test_a_quota_change_is_balanced_by_the_other_subtasks() -> None:
    plan = _edit("give Geometry 8 samples")
    assert plan.subtasks[2].quota == 8 and plan.total == 20


def test_a_total_size_change_scales_every_quota() -> None:
    plan = _edit("make it 60 samples")
    assert [s.quota for s in plan.subtasks] == [30, 18, 12]


def test_make_harder_raises_the_difficulty_one_step_and_then_adds_instructions() -> None:
    plan = _edit("make geometry harder")
    assert plan.subtasks[2].difficulty == "hard"
    assert plan.subtasks[0].difficulty == "medium", "once levels differ, each subtask states its own"
    again = apply_edit(plan, parse_edit("make geometry harder", plan)[0], SPEC)  # type: ignore[index]
    assert again.subtasks[2].difficulty == "hard" and HARDER_GUIDANCE in again.subtasks[2].guidance


def test_whole_benchmark_harder_moves_the_spec_difficulty() -> None:
    revision = revise(PLAN, SPEC, parse_edit("make it harder", PLAN) or [], max_size=500)
    assert revision.spec.difficulty == "hard" and all(s.difficulty == "hard" for s in revision.plan.subtasks)


def test_format_change_for_one_subtask_makes_the_spec_keep_its_format() -> None:
    revision = revise(PLAN, SPEC, parse_edit("use yes/no answers for geometry", PLAN) or [], max_size=500)
    assert [s.answer_format for s in revision.plan.subtasks] == ["multiple_choice", "multiple_choice", "yes_no"]
    assert revision.spec.answer_format == "multiple_choice"


def test_format_change_for_all_changes_the_spec_format() -> None:
    revision = revise(PLAN, SPEC, parse_edit("change the format to numeric", PLAN) or [], max_size=500)
    assert revision.spec.answer_format == "numeric"


@pytest.mark.parametrize(("text", "message"), [
    ("make it 1000000 samples", "limit of 500"),
    ("make it 2 samples", "cannot cover 3 subtasks"),
    ("give Geometry 19 samples", "at most 18"),
])
def test_edits_that_cannot_be_made_are_refused_with_what_to_do(text: str, message: str) -> None:
    with pytest.raises(InvalidEdit, match=message):
        revise(PLAN, SPEC, parse_edit(text, PLAN) or [], max_size=500)


def test_the_only_subtask_cannot_be_dropped() -> None:
    single = SubtaskPlan(subtasks=[PLAN.subtasks[0].model_copy(update={"quota": 20})])
    with pytest.raises(InvalidEdit, match="only subtask"):
        revise(single, SPEC, parse_edit("drop 1", single) or [], max_size=500)


@pytest.mark.parametrize("text", ["what does this plan cover?", "make the options harder", "drop 2 and make it funnier"])
def test_messages_that_are_not_plain_commands_go_to_the_model(text: str) -> None:
    assert parse_edit(text, PLAN) is None


async def test_a_compound_message_is_carried_out_in_full_as_one_version() -> None:
    models = stage_models(Script(submit_edit=[{"edits": [{"op": "drop", "subtask": "2"}, {"op": "split", "subtask": "1"},
                                                         {"op": "scale", "subtask": "3", "factor": 2}]}]))
    embedded = stage_models(Script(submit_edit=[{"edits": []}]))
    embedded.names["chat"] = "embedded:smollm2-135m"
    text = "Drop the second subtask, split the first into easy and hard, and double the size of the last one."
    for chosen in (models, embedded):
        revision = await refine_plan(text, PLAN, SPEC, models=chosen, max_size=500)
        assert [(s.name, s.quota) for s in revision.plan.subtasks] == [
            ("Fractions (easy)", 7), ("Fractions (hard)", 7), ("Geometry", 12)]
        assert [p.outcome for p in revision.parts] == ["done"] * 3 and all(p.changes for p in revision.parts)
        assert revision.spec.size == 26
    assert models.usage["chat"].requests == 1 and "chat" not in embedded.usage


async def test_a_part_that_cannot_be_made_is_named_and_the_others_are_still_made() -> None:
    models = stage_models(Script(submit_edit=[{"edits": []}]))
    models.names["chat"] = "embedded:smollm2-135m"
    revision = await refine_plan("drop Astrophysics, don't drop Fractions, and make geometry harder", PLAN, SPEC,
                                 models=models, max_size=500)
    assert [p.outcome for p in revision.parts] == ["not_possible", "not_asked", "done"]
    assert "Astrophysics" in revision.parts[0].note and "1. Fractions" in revision.parts[0].note
    assert revision.plan.subtasks[2].difficulty == "hard" and len(revision.plan.subtasks) == 3


async def test_what_a_real_model_does_not_understand_is_named_in_the_revision() -> None:
    script = Script(submit_edit=[{"edits": [{"op": "drop", "subtask": "geometry"}],
                                  "not_understood": ["make the stories funnier"]}])
    revision = await refine_plan("drop geometry and make the stories funnier", PLAN, SPEC, models=stage_models(script),
                                 max_size=500)
    assert [(p.text, p.outcome) for p in revision.parts] == [("drop 'Geometry'", "done"),
                                                            ("make the stories funnier", "not_understood")]
    assert "1. id=fractions" in script.calls["submit_edit"][0]


async def test_references_mean_the_plan_the_user_saw_even_after_an_earlier_part_changed_it() -> None:
    models = stage_models(Script(submit_edit=[{"edits": []}]))
    models.names["chat"] = "embedded:smollm2-135m"
    revision = await refine_plan("drop 1, then rename 2 to Rates", PLAN, SPEC, models=models, max_size=500)
    assert _names(revision.plan) == ["Rates", "Geometry"], "'2' is Percentages, the second subtask the user saw"
    again = await refine_plan("split 1 and make 1 harder", PLAN, SPEC, models=models, max_size=500)
    assert [p.outcome for p in again.parts] == ["done", "not_possible"]
    assert "already changed by an earlier part" in again.parts[1].note


def test_a_size_change_of_one_subtask_moves_the_total_and_leaves_the_others() -> None:
    plan = _edit("add 10 to Geometry")
    assert [s.quota for s in plan.subtasks] == [10, 6, 14]
    with pytest.raises(InvalidEdit, match="leave it none"):
        revise(PLAN, SPEC, parse_edit("remove 4 from geometry", PLAN) or [], max_size=500)


async def test_the_model_reads_an_edit_that_no_rule_reads_and_it_is_validated() -> None:
    script = Script(submit_edit=[{"edits": [{"op": "merge", "subtasks": ["1", "percent"], "name": "Numbers"}]}])
    revision = await refine_plan("fold the first two together, call it Numbers", PLAN, SPEC,
                                 models=stage_models(script), max_size=500)
    assert _names(revision.plan) == ["Numbers", "Geometry"] and revision.plan.subtasks[0].quota == 16
    assert "Request: fold the first two together" in script.calls["submit_edit"][0]


@pytest.mark.parametrize("answer", [
    {"edits": [{"op": "drop", "subtask": "Astrophysics"}]},  # a subtask that does not exist
    {"edits": []},  # no edit at all
])
async def test_a_model_edit_that_does_not_fit_the_plan_changes_nothing(answer: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidEdit):
        await refine_plan("tidy the plan up", PLAN, SPEC, models=stage_models(Script(submit_edit=[answer])), max_size=500)


async def test_malformed_model_output_fails_the_stage_after_retries() -> None:
    script = Script(submit_edit=['{"edits": [{"op": "explode"}]}'])
    with pytest.raises(StageFailed):
        await refine_plan("tidy the plan up", PLAN, SPEC, models=stage_models(script), max_size=500)


def test_a_split_of_a_subtask_with_a_long_id_is_described_as_a_split() -> None:
    long = "multi-step-addition-and-subtraction-word"  # 40 characters: the halves' ids are cut short
    plan = SubtaskPlan(subtasks=[
        Subtask(id=long, name="Multi-step addition and subtraction", description="d", answer_format="numeric", quota=10),
        Subtask(id="geometry", name="Geometry", description="d", answer_format="numeric", quota=10),
    ])
    revision = revise(plan, SPEC, [parse_edit("split 1", plan)[0]], max_size=500)  # type: ignore[index]
    assert revision.changes == ["split 'Multi-step addition and subtraction' into 'Multi-step addition and subtraction "
                                "(easy)' (5) and 'Multi-step addition and subtraction (hard)' (5)"]
