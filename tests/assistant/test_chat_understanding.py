"""The chat does what the researcher said, with the fake endpoint as every model (handlers called directly).

The fake endpoint answers the spec and design stages, and turns a plan edit into typed edits as a capable
chat model would (tests/fake_llm_edits.py).
"""

from __future__ import annotations

import re

import chainlit as cl
import pytest

from assistant.chat_markdown import keep_visible
from tests.assistant.test_app import (  # noqa: F401  (fixtures: the fake server, a fresh runtime per test)
    Recorder,
    _runtime,
    app,
    confirm,
    llm,
    no_errors,
    open_session,
    state,
    use_endpoint,
)
from tests.fake_llm import FakeLLMServer
from tools.stages.edit_words import make_edit
from tools.stages.refine import revise


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, llm: FakeLLMServer) -> FakeLLMServer:  # noqa: F811 (the imported fixture)
    return use_endpoint(monkeypatch, llm)


async def _say(text: str) -> None:
    await app.on_message(cl.Message(content=text, author="User", type="user_message"))


def _outputs(recorder: Recorder) -> list[str]:
    return [s["output"] for s in [*recorder.of("send_step"), *recorder.of("update_step")] if s.get("output")]


async def test_a_size_written_as_60_item_is_read_and_not_assumed(endpoint: FakeLLMServer) -> None:
    recorder = open_session()
    await _say("A 60-item benchmark of grade-school arithmetic word problems, numeric answers")
    no_errors(recorder)
    card = recorder.last_message()["output"]
    assert "| Size | 60 |" in card and "not specified" not in card.split("Size: ")[-1][:40]
    assert state().spec.size == 60 and not [a for a in state().spec.assumptions if a.startswith(("Size", "Domain"))]


async def test_what_a_request_states_is_not_asked_again(endpoint: FakeLLMServer) -> None:
    recorder = open_session()
    await _say("Six yes/no questions about the planets of the solar system, easy.")
    no_errors(recorder)
    spec = state().spec
    assert (spec.size, spec.answer_format, spec.difficulty, spec.domain) == (6, "yes_no", "easy",
                                                                             "planets of the solar system")
    assert "subject area" not in recorder.last_message()["output"]


async def test_a_compound_edit_is_carried_out_in_full_and_each_part_is_named(endpoint: FakeLLMServer) -> None:
    recorder = open_session()
    await _say("30 multiple-choice arithmetic word problems")
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    before = state().plan
    assert before is not None and len(before.subtasks) == 3
    first, _, last = before.subtasks
    recorder.forget()
    asked_before = endpoint.stats.by_tool["submit_edit"]
    await _say("Drop the second subtask, split the first into easy and hard, and double the size of the last one, "
               "but don't drop the last one.")
    no_errors(recorder)
    after = state().plan
    assert [s.name for s in after.subtasks] == [f"{first.name} (easy)", f"{first.name} (hard)", last.name]
    dropped = revise(before, state().versions[0].spec, [make_edit(op="drop", subtask="2")], max_size=500).plan
    assert after.subtasks[2].quota == 2 * dropped.subtasks[1].quota, "edits apply in order: the drop, then the doubling"
    reply = "\n".join(_outputs(recorder))
    assert "3 of the 4 instructions in your message carried out" in reply
    assert "'don't drop the last one': left as it is" in reply
    assert state().version.number == 2, "one new plan version for the whole message"
    assert endpoint.stats.by_tool["submit_edit"] == asked_before + 1 and "returned no edit" not in reply, \
        "the chat model read the message as typed edits"


async def test_every_message_the_chat_sends_shows_text_between_colons_as_written(endpoint: FakeLLMServer) -> None:
    recorder = open_session()
    await app.start()
    await _say("evaluate openai:gpt-4o-mini: 8 multiple-choice arithmetic word problems")
    outputs = _outputs(recorder)
    assert outputs and all(keep_visible(o) == o for o in outputs), "nothing the renderer would swallow is sent"
    assert not [o for o in outputs if re.search(r"(?<![\\`]):[A-Za-z]", re.sub(r"`[^`]*`", "", o))]
