"""Checking a benchmark file from the chat: attach it, say 'check this benchmark', read the audit.

The Chainlit handlers are called with the recording context of test_app.py; the models are the fake
OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import chainlit as cl
import pytest

from assistant import flow
from tests.assistant.test_app import (  # noqa: F401  (fixtures: the fake server, a fresh runtime per test)
    Recorder,
    _runtime,
    app,
    llm,
    no_errors,
    open_session,
    state,
    use_endpoint,
)
from tests.fake_llm import FakeLLMServer
from tests.tools.test_audit import PLANTED


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch, llm: FakeLLMServer) -> FakeLLMServer:  # noqa: F811 (the imported fixture)
    return use_endpoint(monkeypatch, llm)


def _benchmark(tmp_path: Path) -> Path:
    path = tmp_path / "theirs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in PLANTED), encoding="utf-8")
    return path


async def _send(text: str, *files: cl.File) -> None:
    await app.on_message(cl.Message(content=text, author="User", type="user_message", elements=list(files)))


def _said(recorder: Recorder) -> str:
    return "\n".join(m["output"] for m in recorder.messages())


async def test_an_attached_benchmark_is_checked_when_asked_and_each_failing_item_is_named(
        fake_models: FakeLLMServer, tmp_path: Path) -> None:
    recorder = open_session()
    path = _benchmark(tmp_path)
    await _send("", cl.File(name=path.name, path=str(path), mime="application/jsonl"))
    recorder.forget()
    await _send("check this benchmark")
    no_errors(recorder)
    said = _said(recorder)
    assert "**Audit of theirs.jsonl**: 7 items read of 7 rows" in said
    assert "| schema |" in said and "| leakage |" in said and "First items that failed:" in said
    assert "row 2" in said, "the item whose answer is none of its options is named"
    folder = Path(state().material_dir or "")
    [found] = list((folder / "checks").glob("*/check.json"))
    assert len(json.loads(found.read_text())["items"]) == 7
    assert state().phase == "gathering", "checking a file is no request: nothing of the spec changed"


async def test_check_is_offered_only_once_a_benchmark_file_is_attached(fake_models: FakeLLMServer) -> None:
    open_session()
    assert flow.CHECK not in flow.offered_tools(state())
    state().last_message = "check this benchmark"
    assert flow.offered_tools(state()) == (flow.ANALYZE,), "without a file the words are a request like any other"
