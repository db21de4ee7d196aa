from __future__ import annotations

from tests.tools.qc_fixtures import SPEC
from tools.contracts import MaterialSelection, Subtask, SubtaskPlan
from tools.engine.budget import estimate_build
from tools.pipeline import describe_estimate
from tools.qc.independence import shared_models

PLAN = SubtaskPlan(subtasks=[Subtask(id="a", name="A", description="d", answer_format="multiple_choice", quota=4)])


def test_a_judge_and_solver_falling_back_to_the_generator_are_named_as_not_independent() -> None:
    [note] = shared_models({"generator": "openai:g", "judge": "openai:g", "solver": "openai:g"})
    assert note.startswith("Not independent: the judge and the solver are the generator's model (openai:g)")
    assert "BENCHMARK_AGENT_JUDGE_MODEL and BENCHMARK_AGENT_SOLVER_MODEL" in note


def test_only_the_reviewer_that_is_the_generator_is_named() -> None:
    [note] = shared_models({"generator": "openai:g", "judge": "openai:j", "solver": "openai:g"})
    assert "the solver is the generator's model" in note and "judge" not in note.split(" so ")[0]


def test_reviewers_of_their_own_say_nothing_and_a_shared_reviewer_model_is_said() -> None:
    assert shared_models({"generator": "openai:g", "judge": "openai:j", "solver": "openai:s"}) == []
    assert shared_models({"generator": "openai:g", "judge": "openai:r", "solver": "openai:r"}) == [
        "The judge and the solver share one model (openai:r); both differ from the generator."]


def test_the_plan_cards_estimate_says_which_roles_share_a_model_and_leaves_out_an_unused_solver() -> None:
    names = {"generator": "openai:g", "judge": "openai:g", "solver": "openai:g"}
    full = estimate_build(SPEC, PLAN, batch_size=4, names=names, prices={}, gate=True, resolve=True)  # type: ignore[arg-type]
    cost, shared = describe_estimate(full).splitlines()
    assert cost.startswith("Estimate: ") and shared.startswith("Not independent: the judge and the solver are")
    judge_only = estimate_build(SPEC, PLAN, batch_size=4, names=names, prices={}, gate=True, resolve=False)  # type: ignore[arg-type]
    assert judge_only.shared_models and "solver" not in judge_only.shared_models[0]


def test_a_reviewer_on_the_vision_model_is_named_for_image_items_only() -> None:
    names = {"generator": "openai:g", "judge": "openai:v", "solver": "openai:s", "vision": "openai:v"}
    [note] = shared_models(names, images=True)
    assert note.startswith("Not independent for image items: the judge is the vision model (openai:v), which writes "
                           "them.") and "BENCHMARK_AGENT_JUDGE_MODEL" in note
    assert shared_models(names) == [], "a plan without images has no items the vision model writes"
    image_plan = PLAN.model_copy(update={"subtasks": [PLAN.subtasks[0].model_copy(
        update={"material": MaterialSelection(units=["s1:img"])}), *PLAN.subtasks[1:]]})
    estimate = estimate_build(SPEC, image_plan, batch_size=4, names=names, prices={}, gate=True, resolve=True)  # type: ignore[arg-type]
    assert [n[:40] for n in estimate.shared_models] == ["Not independent for image items: the jud"]


def test_a_difficulty_panel_that_includes_the_generator_is_named_on_the_plan_and_in_the_report() -> None:
    names = {"generator": "openai:g", "judge": "openai:j", "solver": "openai:s"}
    [note] = shared_models(names, panel=["openai:other", "openai:g"])
    assert note.startswith("The difficulty panel includes the model that writes the items (openai:g)")
    assert shared_models(names, panel=["openai:other"]) == []
    estimate = estimate_build(SPEC, PLAN, batch_size=4, names=names, prices={}, gate=True, resolve=True,  # type: ignore[arg-type]
                              panel=["openai:g"])
    assert describe_estimate(estimate).splitlines()[1].startswith("The difficulty panel includes")
