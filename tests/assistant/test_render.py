from __future__ import annotations

from assistant.chat_markdown import keep_visible
from assistant.render import preview_view, state_view, verdict_mark
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
    assert "- ✅ leakage: passed\n- ✅ executed: passed (the solution code computes the gold answer)" in view
    state = _planned()
    state.previews, state.preview_problems = [item], ["Adding: a draft failed the executed check (it computes '7')"]
    assert "Not shown (1 dropped by the checks): Adding: a draft failed the executed check" in state_view(state)


MC = PreviewItem(id="geo-p2", subtask_id="geo", answer_format="multiple_choice", question="Which city is the capital of France?",
                 choices=["Berlin", "Paris", "Rome", "Madrid"], answer="Paris", rationale="Paris has been the capital since 987.",
                 context="France is a country in Europe.\nIts capital is its largest city.",
                 checks=["leakage: passed", "inspector: repaired (an option repeated another; replaced)",
                         "solver: passed (openai:solver answered B without the gold answer)"])


def test_a_preview_is_shown_as_a_question_with_lettered_options_the_answer_the_rationale_and_each_verdict() -> None:
    view = preview_view(MC, 2, "Capitals")
    lines = view.splitlines()
    assert lines[0] == "**Preview 2** · Capitals · multiple choice"
    assert "> France is a country in Europe.\n> Its capital is its largest city." in view, "every context line quoted"
    assert "**Q2.** Which city is the capital of France?" in lines
    # one option a line: a markdown list, not lines the renderer would join into one paragraph
    assert [line for line in lines if line.startswith("- **")] == [
        "- **A.** Berlin", "- **B.** Paris", "- **C.** Rome", "- **D.** Madrid"]
    assert "**Answer:** B. Paris" in lines and "**Why:** Paris has been the capital since 987." in lines
    assert lines[-5:] == ["**Checks**", "", "- ✅ leakage: passed",
                          "- 🛠️ inspector: repaired (an option repeated another; replaced)",
                          "- ✅ solver: passed (openai:solver answered B without the gold answer)"]


def test_each_verdict_outcome_has_its_mark_and_an_unknown_line_a_plain_bullet() -> None:
    assert [verdict_mark(v) for v in ("executed: passed", "judge: dropped (wrong)", "inspector: repaired (x)",
                                      "a note")] == ["✅", "❌", "🛠️", "•"]


def test_a_model_name_in_a_verdict_survives_the_renderer() -> None:
    shown = keep_visible(preview_view(MC, 2, "Capitals"))
    assert "openai\\:solver answered B" in shown, "escaped, so that the renderer shows it as written"
