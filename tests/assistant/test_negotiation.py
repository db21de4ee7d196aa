"""Scripted multi-turn conversations: negotiation, plan refinement and undo, previews, reloads, bad input.

Assertions are on the thread's spec, plan and versions, not on wording.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.conversation import respond, run_next_step, run_step
from assistant.editor import Ask, next_ask
from assistant.previews import preview_step, review_step
from assistant.refinement import undo_step
from assistant.steps import answer_step
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.assistant.test_conversation import Chat
from tests.assistant.threads import thread_store
from tests.scripted import Script
from tests.tools.samples import ACCEPT, SPEC_CLEAR, SPEC_VAGUE, SUBTASKS, batch_for

OFF_TOPIC = {"goal": "small talk", "questions": []}
THREE_SUBTASKS = {"subtasks": [
    {"name": "Fractions", "description": "Adding fractions in a story.", "weight": 2},
    {"name": "Percentages", "description": "Discounts and rates.", "weight": 2},
    {"name": "Geometry", "description": "Areas and perimeters.", "weight": 1},
], "rationale": "three facets"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as opened:
        yield opened


def _script(*specs: dict, subtasks: dict = THREE_SUBTASKS, edits: list | None = None) -> Script:  # type: ignore[type-arg]
    return Script(submit_spec=list(specs), submit_subtasks=[subtasks], submit_samples=[batch_for],
                  submit_verdict=[ACCEPT], submit_edit=edits or [{"edits": []}])


async def _planned(chat: Chat, request: str = "20 hard multiple-choice arithmetic word problems") -> None:
    await chat.say(request)
    await chat.say("go")
    assert chat.deps.state.phase == "planned"


def _consistent(chat: Chat) -> None:
    state = chat.deps.state
    assert state.plan is not None and state.spec is not None and state.version is not None
    assert state.plan.total == state.spec.size and state.version.plan == state.plan


# --- negotiation ------------------------------------------------------------------------------


async def test_vague_request_gets_at_most_three_questions_each_with_a_one_click_default(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_VAGUE), "analyze_request")
    await chat.say("a hard reasoning benchmark")
    state = chat.deps.state
    assert state.phase == "clarifying" and 1 <= len(state.questions) <= 3
    assert all(q.default for q in state.questions) and state.questions[0].field == "capability"
    assert any("Capability" in a for a in state.spec.assumptions)  # type: ignore[union-attr]
    calls = len(chat.offered)
    first = state.questions[0]
    await run_step(chat.deps, chat.threads, lambda: answer_step(chat.deps, 0))
    assert state.spec.capability == first.default  # type: ignore[union-attr]
    assert not any(a.startswith("Capability") for a in state.spec.assumptions)  # type: ignore[union-attr]
    while state.questions:
        await run_step(chat.deps, chat.threads, lambda: answer_step(chat.deps, 0))
    assert state.phase == "spec_ready" and len(chat.offered) == calls, "defaults are taken without the model"
    assert state.spec.difficulty == "hard", "what the user said is kept"  # type: ignore[union-attr]


async def test_clear_request_reaches_version_one_of_the_plan_after_one_confirmation(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await _planned(chat)
    state = chat.deps.state
    assert [v.number for v in state.versions] == [1] and state.version.parent is None  # type: ignore[union-attr]
    assert state.plan.total == 20 and len(state.plan.subtasks) == 3  # type: ignore[union-attr]
    _consistent(chat)


async def test_a_contradiction_is_resolved_by_the_later_message_and_said(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "analyze_request")
    await chat.say("50 multiple-choice arithmetic word problems")
    reply = await respond(chat.deps, "actually 100 items, and make them yes/no", chat.threads)
    spec = chat.deps.state.spec
    assert spec is not None and spec.size == 100 and spec.answer_format == "yes_no"
    assert any("50 to 100" in n for n in reply.notices) and any("yes no" in n for n in reply.notices)
    assert spec.capability == "multi-step arithmetic", "nothing else of the spec is lost"


async def test_a_million_samples_is_refused_and_the_maximum_offered(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request")
    reply = await respond(chat.deps, "1,000,000 arithmetic word problems", chat.threads)
    spec = chat.deps.state.spec
    assert spec is not None and spec.size == chat.settings.max_size
    assert any("limit of 500" in u for u in spec.unsupported_requests)
    assert any("limit of 500" in n for n in reply.notices)


async def test_off_topic_chatter_changes_nothing_and_is_steered_back(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR, OFF_TOPIC), "analyze_request", "analyze_request")
    await chat.say("40 multiple-choice arithmetic word problems")
    before = chat.deps.state.spec
    reply = await chat.say("by the way, how is the weather where you are?")
    assert chat.deps.state.spec == before and chat.deps.state.phase == "spec_ready"
    assert "steer back" in reply  # the tool tells the model to answer briefly and return to the spec


async def test_off_topic_chatter_while_planned_keeps_the_plan(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR, OFF_TOPIC), "analyze_request", "design_plan",
                "analyze_request")
    await _planned(chat)
    plan, versions = chat.deps.state.plan, len(chat.deps.state.versions)
    await chat.say("thanks, you are very helpful")
    assert chat.deps.state.plan == plan and len(chat.deps.state.versions) == versions
    assert set(chat.offered[-2]) == {"refine_plan", "analyze_request", "design_plan", "preview_samples"}


@pytest.mark.parametrize("message", ["", "🙂🙂", "x" * 200_000])
async def test_bad_input_while_planned_loses_nothing(tmp_path: Path, store: SampleStore, message: str) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await _planned(chat)
    before = chat.deps.state.model_copy(deep=True)
    await chat.say(message)
    after = chat.deps.state
    assert (after.spec, after.plan, after.versions, after.phase) == (before.spec, before.plan, before.versions, before.phase)


async def test_a_spec_change_the_plan_cannot_follow_sends_it_back_to_design(tmp_path: Path, store: SampleStore) -> None:
    french = {**SPEC_CLEAR, "language": "French"}
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR, french), "analyze_request", "design_plan",
                "analyze_request")
    await _planned(chat)
    reply = await respond(chat.deps, "the questions should be in French", chat.threads)
    state = chat.deps.state
    assert state.phase == "spec_ready" and state.plan is None and state.spec.language == "French"  # type: ignore[union-attr]
    assert len(state.versions) == 1, "earlier versions are kept"
    assert any("designed again" in n for n in reply.notices)


# --- refinement -----------------------------------------------------------------------------

EDITS = [
    ("drop Geometry", lambda p: [s.name for s in p.subtasks] == ["Fractions", "Percentages"]),
    ("add a subtask on unit conversions", lambda p: p.subtasks[-1].name == "Unit conversions"),
    ("rename Percentages to Rates", lambda p: "Rates" in [s.name for s in p.subtasks]),
    ("split fractions into easy and hard", lambda p: {"fractions-easy", "fractions-hard"} <= {s.id for s in p.subtasks}),
    ("merge 1 and 2", lambda p: p.subtasks[0].name == "Fractions (easy) + Fractions (hard)"),
    ("give Rates 9 samples", lambda p: next(s.quota for s in p.subtasks if s.name == "Rates") == 9),
    ("make it 30 samples", lambda p: p.total == 30),
    ("make Rates harder", lambda p: next(s for s in p.subtasks if s.name == "Rates").guidance),
    ("use numeric answers", lambda p: {s.answer_format for s in p.subtasks} == {"numeric"}),
]


async def test_every_refinement_makes_a_new_version_with_its_changes_and_undo_walks_back(
        tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan", *["refine_plan"] * len(EDITS),
                "undo_plan", "undo_plan")
    await _planned(chat)
    state = chat.deps.state
    for number, (text, check) in enumerate(EDITS, 2):
        await chat.say(text)
        assert chat.offered[-2] == ["refine_plan"], f"{text!r} is routed to the refinement step"
        assert state.version.number == number and state.version.changes, text  # type: ignore[union-attr]
        assert check(state.plan), (text, state.plan)
        _consistent(chat)
    assert state.spec.size == 30 and state.spec.answer_format == "numeric"  # type: ignore[union-attr]
    plans = [v.plan for v in state.versions]
    await chat.say("undo")
    assert state.plan == plans[-2] and state.version.parent == len(EDITS) - 1  # type: ignore[union-attr]
    assert state.spec.answer_format == "multiple_choice", "undo restores the spec that went with the plan"  # type: ignore[union-attr]
    await chat.say("undo")
    assert state.plan == plans[-3]
    _consistent(chat)


async def test_an_edit_the_rules_do_not_read_goes_to_the_model_and_is_validated(tmp_path: Path, store: SampleStore) -> None:
    edits = [{"edits": [{"op": "merge", "subtasks": ["1", "2"], "name": "Numbers"}]}]
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR, edits=edits), "analyze_request", "design_plan",
                ["refine_plan"])
    await _planned(chat)
    await chat.say("fold fractions and percentages together please")
    assert [s.name for s in chat.deps.state.plan.subtasks] == ["Numbers", "Geometry"]  # type: ignore[union-attr]
    assert chat.script.calls["submit_edit"], "the refinement agent was asked"


async def test_an_impossible_edit_is_refused_and_leaves_the_plan_as_it_was(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan", "refine_plan")
    await _planned(chat)
    plan = chat.deps.state.plan
    reply = await chat.say("make it 1000000 samples")
    assert chat.deps.state.plan == plan and len(chat.deps.state.versions) == 1
    assert "make it 500 samples" in reply


async def test_buttons_edit_the_plan_without_the_model(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await _planned(chat)
    state, calls = chat.deps.state, len(chat.offered)
    plan = state.plan
    assert plan is not None
    menu = next_ask(plan, {}, max_size=500)
    assert isinstance(menu, Ask) and len(menu.choices) == 9
    which = next_ask(plan, {"op": "quota"}, max_size=500)
    assert isinstance(which, Ask) and len(which.choices) == 3
    value = next_ask(plan, which.choices[2].edit, max_size=500)
    assert isinstance(value, Ask) and value.typed
    from assistant.session import PendingInput

    state.pending = PendingInput(kind="edit", edit=which.choices[2].edit, prompt=value.text)
    await chat.say("7")  # the typed value, read without the model
    assert state.plan.subtasks[2].quota == 7 and state.version.number == 2  # type: ignore[union-attr]
    assert len(chat.offered) == calls and state.pending is None


# --- previews ------------------------------------------------------------------------------


async def test_preview_feedback_reaches_the_generator_of_the_full_build(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR, subtasks=SUBTASKS), "analyze_request", "design_plan",
                "preview_samples", "build_benchmark")
    await _planned(chat, "8 multiple-choice arithmetic word problems")
    await chat.say("show me a few samples first")
    state = chat.deps.state
    assert len(state.previews) == 2 * chat.settings.preview_size
    await chat.say("reject 2 because the numbers are too small to need two steps")  # plain words, no model
    review_step(chat.deps, state.previews[0].id, "accept")
    review_step(chat.deps, state.previews[3].id, "edit", "What is 17 + 26 - 5? => 38")
    assert [p.status for p in state.previews][:4] == ["accepted", "rejected", "pending", "edited"]
    assert state.plan.subtasks[0].guidance and state.plan.subtasks[1].guidance  # type: ignore[union-attr]
    chat.script.calls.pop("submit_samples")
    await chat.say("go")
    assert state.phase == "built"
    prompts = chat.script.calls["submit_samples"]
    first, second = state.plan.subtasks  # type: ignore[union-attr]
    assert all("too small to need two steps" in p for p in prompts if f"Subtask: {first.name}" in p)
    assert all("What is 17 + 26 - 5?" in p for p in prompts if f"Subtask: {second.name}" in p)


async def test_state_survives_reloading_the_thread_with_versions_and_previews(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan", "refine_plan")
    await _planned(chat)
    await chat.say("drop 3")
    await run_step(chat.deps, chat.threads, lambda: preview_step(chat.deps))
    await run_step(chat.deps, chat.threads, lambda: review_step(chat.deps, chat.deps.state.previews[0].id, "reject"))
    reloaded = await thread_store(chat.settings.data_dir).load("t1")  # a new process reads the same database
    state = chat.deps.state
    assert (reloaded.spec, reloaded.plan, reloaded.versions) == (state.spec, state.plan, state.versions)
    assert reloaded.previews == state.previews and reloaded.pending == state.pending
    assert reloaded.pending is not None and reloaded.pending.kind == "reject_reason"


async def test_threads_of_different_users_are_kept_apart(tmp_path: Path) -> None:
    threads = thread_store(tmp_path)
    alice = await threads.load("same-id", owner="alice")
    alice.last_message = "secret plan"
    await threads.save(alice)
    assert (await threads.load("same-id", owner="bob")).last_message == ""
    assert (await threads.load("same-id", owner="alice")).last_message == "secret plan"


async def test_undo_without_an_earlier_version_says_so(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await _planned(chat)
    reply = await run_step(chat.deps, chat.threads, lambda: undo_step(chat.deps))
    assert "no earlier plan version" in reply.text and len(chat.deps.state.versions) == 1
    assert (await run_next_step(chat.deps, chat.threads)).text  # and the flow still builds


async def test_undo_can_go_back_to_a_named_version(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan", "refine_plan", "refine_plan",
                "undo_plan")
    await _planned(chat)
    first = chat.deps.state.plan
    await chat.say("drop 3")
    await chat.say("make it 40 samples")
    await chat.say("go back to version 1")
    state = chat.deps.state
    assert chat.offered[-2] == ["undo_plan"] and state.plan == first and state.version.number == 4  # type: ignore[union-attr]
    assert state.spec.size == 20  # type: ignore[union-attr]


async def test_a_preview_review_makes_a_new_plan_version_and_leaves_the_reviewed_one_as_it_was(
        tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR, subtasks=SUBTASKS), "analyze_request", "design_plan", "preview_samples")
    await _planned(chat, "8 multiple-choice arithmetic word problems")
    await chat.say("show me a few samples first")
    state = chat.deps.state
    first = state.version
    assert first is not None and first.number == 1 and all(p.checks for p in state.previews)
    review_step(chat.deps, state.previews[0].id, "reject", "too easy")
    review_step(chat.deps, state.previews[1].id, "accept")  # an acceptance adds no instruction, so no version
    assert [v.number for v in state.versions] == [1, 2] and state.version.parent == 1  # type: ignore[union-attr]
    assert not any(s.guidance for s in state.versions[0].plan.subtasks), "version 1 is never rewritten"
    assert any("too easy" in g for g in state.plan.subtasks[0].guidance)  # type: ignore[union-attr]
    assert state.version.plan == state.plan and state.version.note == "preview 1 rejected"  # type: ignore[union-attr]
    _consistent(chat)
