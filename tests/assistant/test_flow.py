"""The conversation table is the one place that decides the next step: for typed words, buttons and the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic_ai.toolsets import FunctionToolset

from assistant import flow
from assistant.agent import chat_agent
from assistant.conversation import press, run_next_step
from assistant.render import card_buttons
from assistant.session import BuildSummary, ThreadState
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.assistant.test_conversation import Chat
from tests.scripted import Script
from tests.tools.samples import ACCEPT, SPEC_CLEAR, SPEC_VAGUE, SUBTASKS, batch_for
from tools.contracts import BenchmarkSpec, ClarifyingQuestion, Subtask, SubtaskOutcome, SubtaskPlan

_SPEC = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=4)
_PLAN = SubtaskPlan(subtasks=[Subtask(id=i, name=i.capitalize(), description="d", answer_format="numeric", quota=2)
                              for i in ("fractions", "decimals")])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as opened:
        yield opened


def _script(spec: dict = SPEC_CLEAR) -> Script:  # type: ignore[type-arg]
    return Script(submit_spec=[spec], submit_subtasks=[SUBTASKS], submit_samples=[batch_for], submit_verdict=[ACCEPT])


def _states() -> list[ThreadState]:
    """One thread in each phase, with what makes every conditional step available (a second version, a short build)."""
    states = [ThreadState(thread_id=phase, phase=phase) for phase in ("gathering", "spec_ready", "building")]  # type: ignore[arg-type]
    clarifying = ThreadState(thread_id="c", phase="clarifying", spec=_SPEC,
                             questions=[ClarifyingQuestion(field="size", question="How many?", default="4")])
    states.append(clarifying)
    planned = ThreadState(thread_id="p", phase="planned")
    planned.commit(_PLAN, _SPEC, "designed", [])
    planned.commit(_PLAN, _SPEC, "edited", ["x"])
    built = ThreadState(thread_id="b", phase="built")
    built.commit(_PLAN, _SPEC, "designed", [])
    built.build = BuildSummary(build_id="b", directory="d", status="short", accepted=3, requested=4,
                               shortfalls=[SubtaskOutcome(subtask_id="decimals", quota=2, accepted=1, rounds=1)])
    return [*states, planned, built]


def test_every_tool_of_the_orchestrator_is_a_step_of_the_table_with_its_doc() -> None:
    [toolset] = [t for t in chat_agent.toolsets if isinstance(t, FunctionToolset)]
    assert {name: tool.description for name, tool in toolset.tools.items()} == {
        name: flow.STEPS[name].doc for name in flow.TOOLS}
    assert set(flow.TOOLS) == {"analyze_request", "design_plan", "build_benchmark", "refine_plan", "undo_plan",
                               "preview_samples", "settle_shortfall", "evaluate_models", "refresh_benchmark", "check_benchmark_file",
                               "publish_benchmark"}


def test_every_step_the_table_names_exists_and_a_confirm_button_runs_the_confirmation_step() -> None:
    for phase, row in flow.TABLE.items():
        named = {row.confirm, *row.tools, *(step for _, step in row.commands), *row.buttons.values()} - {None}
        assert named <= set(flow.STEPS), phase
        assert set(row.tools) <= set(flow.TOOLS), f"{phase}: the model is offered only tools"
        assert row.buttons.get("confirm") == row.confirm, phase


def test_every_button_on_the_card_is_one_the_table_offers_in_that_state() -> None:
    def shown(state: ThreadState) -> set[str]:  # a finished build's card has the publish button (its memory says which)
        return {name for name, _, _ in card_buttons(state, False if state.phase == "built" else None)}

    for state in _states():
        assert {name for name in shown(state) if flow.button_step(state, name) is None} == set(), state.phase
    # Review buttons sit under each preview, and the Stop button under the running build's progress.
    assert {name for state in _states() for name in shown(state)} | {"review", "stop"} == flow.BUTTONS


def test_a_step_that_needs_a_condition_is_offered_only_while_it_holds() -> None:
    planned = ThreadState(thread_id="p", phase="planned", last_message="undo")
    planned.commit(_PLAN, _SPEC, "designed", [])
    assert flow.button_step(planned, "undo") is None and flow.UNDO not in flow.offered_tools(planned)
    assert flow.offered_tools(planned) == (flow.REFINE, flow.ANALYZE, flow.DESIGN, flow.PREVIEW)
    planned.commit(_PLAN, _SPEC, "edited", ["x"])
    assert flow.button_step(planned, "undo") is flow.STEPS[flow.UNDO] and flow.offered_tools(planned) == (flow.UNDO,)


@pytest.mark.parametrize(("phase", "action"), [
    ("spec_ready", "undo"), ("spec_ready", "preview"), ("spec_ready", "shortfall"), ("gathering", "confirm"),
    ("clarifying", "edit"), ("built", "review"), ("building", "confirm"), ("planned", "answer"),
])
async def test_a_button_the_table_does_not_offer_in_that_phase_does_nothing_but_say_so(
        tmp_path: Path, store: SampleStore, phase: str, action: str) -> None:
    chat = Chat(tmp_path, store, _script())
    state = chat.deps.state
    state.phase, state.spec = phase, _SPEC  # type: ignore[assignment]
    before = state.model_copy(deep=True)
    reply = await press(chat.deps, chat.threads, action, {"item": "x", "verdict": "accept", "index": 0, "subtask": "x",
                                                           "choice": "drop"})
    assert reply.view == "note" and reply.text == flow.STALE
    assert state == before and chat.offered == [] and not chat.script.calls, "nothing ran, no model was asked"
    assert await chat.threads.database.rows("SELECT * FROM thread_states") == [], "nothing was saved"


async def test_a_button_made_for_another_phase_is_refused_even_where_its_step_is_offered(
        tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_VAGUE), "analyze_request")
    await chat.say("a hard reasoning benchmark")
    assert chat.deps.state.phase == "clarifying"
    reply = await press(chat.deps, chat.threads, "confirm", {"phase": "spec_ready"})
    assert reply.text == flow.STALE and chat.deps.state.phase == "clarifying"


async def test_the_confirm_button_runs_the_step_a_typed_confirmation_would(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(), "analyze_request")
    await chat.say("40 arithmetic word problems")
    assert flow.allowed_tools("spec_ready", "go") == (flow.confirm_step("spec_ready"),) == (flow.DESIGN,)
    calls = len(chat.offered)
    reply = await press(chat.deps, chat.threads, "confirm", {"phase": "spec_ready"})
    assert reply.view == "turn" and chat.deps.state.phase == "planned" and len(chat.offered) == calls
    assert chat.script.calls["submit_subtasks"], "the design stage ran, without the chat model"


async def test_with_nothing_to_confirm_a_confirmation_says_so(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script())
    reply = await run_next_step(chat.deps, chat.threads)
    assert reply.text == "There is nothing to confirm right now." and chat.deps.state.phase == "gathering"


def test_plain_words_narrow_the_choice_to_one_step_and_other_words_leave_the_row_s_tools() -> None:
    assert flow.allowed_tools("planned", "undo that") == (flow.UNDO,)
    assert flow.allowed_tools("planned", "undo that", can_undo=False) == (
        flow.REFINE, flow.ANALYZE, flow.DESIGN, flow.PREVIEW), "undo needs an earlier version"
    assert flow.allowed_tools("planned", "preview a few") == (flow.PREVIEW,)
    assert flow.allowed_tools("planned", "redesign it please") == (flow.DESIGN,)
    assert flow.allowed_tools("planned", "drop 2") == (flow.REFINE,)
    assert flow.allowed_tools("gathering", "drop 2") == (flow.ANALYZE,), "commands belong to their phase"
    assert flow.allowed_tools("built", "go") == (flow.ANALYZE, flow.EVALUATE, flow.REFRESH, flow.PUBLISH), \
        "a finished build has nothing to confirm"
    assert flow.allowed_tools("built", "publish it") == flow.allowed_tools("built", "unpublish it") == (flow.PUBLISH,)
    assert flow.allowed_tools("planned", "publish it") != (flow.PUBLISH,), "only a finished build is published"
    assert flow.allowed_tools("built", "evaluate openai:a and openai:b") == (flow.EVALUATE,)
    assert flow.allowed_tools("built", "make a fresh version") == (flow.REFRESH,)
    assert flow.allowed_tools("built", "evaluate the new version on openai:a") == (flow.EVALUATE,)


@pytest.mark.parametrize("message", ["double the last one", "halve Fractions", "make it sixty items", "20% more",
                                     "make 2 easier", "give Geometry 8 samples", "make it a 60-item benchmark"])
def test_amounts_and_difficulty_words_go_straight_to_the_plan_editor(message: str) -> None:
    assert flow.allowed_tools("planned", message) == (flow.REFINE,)
