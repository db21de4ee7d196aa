from __future__ import annotations

from assistant.render import preview_view, state_view
from assistant.session import ThreadState
from tools.contracts import BenchmarkSpec, PreviewItem, Subtask, SubtaskPlan

SPEC = BenchmarkSpec(goal="g", capability="arithmetic", domain="word problems", answer_format="numeric", size=4)
PLAN = SubtaskPlan(subtasks=[Subtask(id="adding", name="Adding", description="Additions.", answer_format="numeric", quota=4)])


def _planned() -> ThreadState:
    state = ThreadState(thread_id="t1", phase="planned")
    state.commit(PLAN, SPEC, note="first plan", changes=[])
    return state


def test_the_plan_card_says_in_bold_which_reviewers_share_the_generators_model() -> None:
    estimate = ("Estimate: 9 model calls, 4,000 tokens, unknown cost\n"
                "Not independent: the judge and the solver are the generator's model (openai:g), so ...")
    card = state_view(_planned(), estimate)
    assert "_Estimate: 9 model calls, 4,000 tokens, unknown cost_" in card
    assert "**Not independent: the judge and the solver are the generator's model (openai:g), so ...**" in card


def test_a_preview_shows_its_check_verdicts_and_the_card_lists_drafts_the_checks_dropped() -> None:
    item = PreviewItem(id="adding-p1", subtask_id="adding", answer_format="numeric", question="What is 2 + 3?",
                       answer="5", checks=["leakage: passed", "executed: passed (the solution code computes the gold answer)"])
    view = preview_view(item, 1, "Adding")
    assert "Checks: leakage: passed; executed: passed (the solution code computes the gold answer)" in view
    state = _planned()
    state.previews, state.preview_problems = [item], ["Adding: a draft failed the executed check (it computes '7')"]
    assert "Not shown (1 dropped by the checks): Adding: a draft failed the executed check" in state_view(state)
