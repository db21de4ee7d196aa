"""Two users of one chat server: one's finished benchmark stays out of the other's memory until it is published.

The Chainlit handlers are called with the recording context of test_app.py; the models are the fake
OpenAI-compatible server on 127.0.0.1; the memory uses the hash embedder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chainlit as cl
import pytest

from assistant import flow, publishing
from tests.assistant.test_app import (  # noqa: F401  (fixtures: the fake server, a fresh runtime per test)
    REQUEST,
    Recorder,
    _runtime,
    app,
    buttons,
    confirm,
    llm,
    no_errors,
    open_session,
    state,
    use_endpoint,
)
from tests.fake_llm import FakeLLMServer


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch, llm: FakeLLMServer) -> FakeLLMServer:  # noqa: F811 (the imported fixture)
    return use_endpoint(monkeypatch, llm)


async def _send(text: str, *files: cl.File) -> None:
    await app.on_message(cl.Message(content=text, author="User", type="user_message", elements=list(files)))


def _said(recorder: Recorder) -> str:
    return "\n".join(m["output"] for m in recorder.messages())


async def _alice_builds() -> tuple[str, Path]:
    """Alice's finished build in her thread: its id and a copy of its items under other ids (a file to check)."""
    open_session("alice-thread", user="alice")
    await _send(REQUEST)
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    await app.ON_BUTTON["confirm"](confirm("planned"))
    built = state()
    assert built.phase == "built" and built.build is not None and built.build.status == "complete"
    rows = [json.loads(line) for line in (Path(built.build.directory) / "benchmark.jsonl").read_text().splitlines()]
    copy = Path(built.build.directory).parent.parent / "copy.jsonl"
    copy.write_text("".join(json.dumps({**row, "id": f"copy-{n}"}) + "\n" for n, row in enumerate(rows)))
    return built.build.build_id, copy


async def _bob_checks(copy: Path) -> str:
    """What bob's chat says when he checks the copy of alice's items (attached to his own thread)."""
    recorder = open_session("bob-thread", user="bob")
    await _send("", cl.File(name="copy.jsonl", path=str(copy), mime="application/jsonl"))
    recorder.forget()
    await _send("check this benchmark")
    no_errors(recorder)
    return _said(recorder)


def _card(recorder: Recorder) -> dict[str, Any]:
    return [m for m in recorder.messages() if "**Build " in m["output"]][-1]


async def test_a_users_benchmark_enters_others_memory_only_while_published(fake_models: FakeLLMServer) -> None:
    build_id, copy = await _alice_builds()
    said = await _bob_checks(copy)
    assert "**Audit of copy.jsonl**: 8 items read" in said and f"build {build_id}" not in said
    assert (await app._deps()).store.count() == 0 and (await app._deps()).catalog.built() == []  # type: ignore[union-attr]

    recorder = open_session("alice-thread", user="alice")
    await _send("publish it")
    no_errors(recorder)
    said = _said(recorder)
    assert f"({build_id}) to the shared catalog: its 8 samples now take part in every user's de-duplication" in said
    card = _card(recorder)
    assert "_Published: every user's de-duplication checks against its samples" in card["output"]
    [unpublish] = buttons(recorder, card, "publish")
    assert unpublish["label"] == "Unpublish (make it private)" and unpublish["payload"]["publish"] is False

    said = await _bob_checks(copy)
    assert f"from build {build_id}" in said, "bob's check now finds alice's published items"
    assert (await app._deps()).store.count() == 8
    assert [b.build_id for b in (await app._deps()).catalog.built()] == [build_id]  # type: ignore[union-attr]

    recorder = open_session("alice-thread", user="alice")
    await app.ON_BUTTON["publish"](cl.Action(name="publish", payload=unpublish["payload"], label=unpublish["label"]))
    no_errors(recorder)
    assert f"({build_id}): its 8 samples and its catalog entry are yours alone again" in _said(recorder)
    card = _card(recorder)
    assert "_Private: only your own builds are checked against its samples" in card["output"]
    [publish] = buttons(recorder, card, "publish")
    assert publish["label"] == "Publish to the shared catalog" and publish["payload"]["publish"] is True

    said = await _bob_checks(copy)
    assert f"build {build_id}" not in said
    assert (await app._deps()).store.count() == 0 and (await app._deps()).catalog.built() == []  # type: ignore[union-attr]


async def test_publishing_in_a_thread_without_a_finished_benchmark_says_so(fake_models: FakeLLMServer) -> None:
    recorder = open_session("bob-thread", user="bob")
    deps = await app._deps()
    reply = await flow.run(flow.STEPS[flow.PUBLISH], deps, flow.Given(message="publish it"))
    assert reply == publishing.NOTHING
    no_errors(recorder)
