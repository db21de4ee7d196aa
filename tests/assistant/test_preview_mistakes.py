"""Previews in the chat against a fake endpoint whose generator errs: drafts the build's checks drop are named with
why, the others shown with their verdicts, as the build would check them."""

from __future__ import annotations

from collections.abc import Iterator

import chainlit as cl
import pytest

from tests.assistant.test_app import (  # noqa: F401  (fixtures: a fresh runtime per test)
    Recorder,
    _runtime,
    app,
    click,
    confirm,
    no_errors,
    open_session,
    state,
    use_endpoint,
)
from tests.fake_llm import FakeLLMServer
from tests.fake_llm_errors import ErrorRates


@pytest.fixture
def erring(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    mistakes = ErrorRates(wrong_program=0.4, second_correct=0.4)
    with FakeLLMServer(port=0, seed=5, errors=mistakes, choice_programs=True) as server:
        yield use_endpoint(monkeypatch, server)


async def test_previews_dropped_by_the_executed_check_are_named_and_the_rest_show_its_verdict(
        erring: FakeLLMServer) -> None:
    recorder: Recorder = open_session()
    await app.on_message(cl.Message(content="9 multiple-choice arithmetic word problems", author="User",
                                    type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    recorder.forget()
    await app.on_preview(click("preview", {"version": 1}))
    no_errors(recorder)
    made = erring.mistakes
    thread = state()
    assert made["generator:wrong_program"] + made["generator:second_correct"] > 0
    executed = [p for p in thread.preview_problems if "failed the executed check" in p]
    assert executed and all("the solution code computes" in p for p in executed)
    assert thread.previews and all(any(c.startswith("executed: passed") for c in p.checks) for p in thread.previews)
    card = recorder.last_message()["output"]
    assert "dropped by the checks" in card and "failed the executed check" in card
