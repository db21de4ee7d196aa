"""The Chainlit handlers, called directly with a recording Chainlit context (no server, no browser).

The models are the fake OpenAI-compatible server on 127.0.0.1; the vector memory uses the hash embedder.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Importing chainlit writes .chainlit/ and .files/ under its app root (read once, at import): keep them
# out of the repository, and do not leak the variable to other tests' subprocesses.
_APP_ROOT = tempfile.mkdtemp(prefix="chainlit-app-root-")
atexit.register(shutil.rmtree, _APP_ROOT, ignore_errors=True)
_previous_root = os.environ.get("CHAINLIT_APP_ROOT")
os.environ["CHAINLIT_APP_ROOT"] = _APP_ROOT
os.environ.setdefault("CHAINLIT_AUTH_SECRET", "test-secret")  # else the app keeps one under ./data at import

import chainlit as cl  # noqa: E402
import chainlit.config  # noqa: E402
import chainlit.data  # noqa: E402
import pydantic_ai.models  # noqa: E402
import pytest  # noqa: E402
from chainlit.context import ChainlitContext, context_var  # noqa: E402
from chainlit.emitter import BaseChainlitEmitter  # noqa: E402
from chainlit.session import HTTPSession  # noqa: E402

import assistant.app as app  # noqa: E402
from assistant import auth, flow  # noqa: E402
from assistant.chat_markdown import keep_visible  # noqa: E402
from assistant.model_registry import TOY_MODEL_WARNING  # noqa: E402
from assistant.render import CONFIRM_LABELS  # noqa: E402
from assistant.settings import EMBEDDED_MODEL  # noqa: E402
from memory.embeddings import HashEmbedder  # noqa: E402
from tests.assistant.threads import run_sync  # noqa: E402
from tests.fake_llm import FakeLLMServer  # noqa: E402
from tests.tools.sources.fixtures import write_image  # noqa: E402
from tools.sources import SUPPORTED  # noqa: E402
from tools.stages.file_words import files_named  # noqa: E402

if _previous_root is None:
    del os.environ["CHAINLIT_APP_ROOT"]
else:
    os.environ["CHAINLIT_APP_ROOT"] = _previous_root

REQUEST = "8 multiple-choice arithmetic word problems"


class Recorder(BaseChainlitEmitter):
    """What the handlers would send to the browser."""

    def __init__(self, session: HTTPSession) -> None:
        super().__init__(session)
        self.events: list[tuple[str, Any]] = []

    async def emit(self, event: str, data: Any) -> None:
        self.events.append((event, data))

    async def send_step(self, step_dict: Any) -> None:
        self.events.append(("send_step", step_dict))

    async def update_step(self, step_dict: Any) -> None:
        self.events.append(("update_step", step_dict))

    async def send_element(self, element_dict: Any) -> None:
        self.events.append(("element", element_dict))

    async def delete_step(self, step_dict: Any) -> None:
        self.events.append(("delete_step", step_dict))

    def set_chat_settings(self, settings: dict[str, Any]) -> None:  # not a coroutine in Chainlit's own emitter
        self.events.append(("chat_settings_values", settings))

    def of(self, kind: str) -> list[Any]:
        return [data for event, data in self.events if event == kind]

    def messages(self) -> list[dict[str, Any]]:
        # The welcome's notes go as system messages (so that Chainlit keeps its welcome screen and starters).
        return [s for s in self.of("send_step") if s["type"] in ("assistant_message", "system_message")]

    def last_message(self) -> dict[str, Any]:
        return self.messages()[-1]

    def for_message(self, kind: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        return [d for d in self.of(kind) if d.get("forId") == message["id"]]

    def forget(self) -> None:
        self.events.clear()


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=11) as server:
        yield server


@pytest.fixture(autouse=True)
def _runtime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A fresh runtime per test; the hash embedder keeps the build fast (MiniLM is tested elsewhere)."""
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(app, "memory_embedder", HashEmbedder)  # for the samples memory and the catalog
    app.runtime.cache_clear()
    app.sign_in.cache_clear()
    monkeypatch.setattr(chainlit.data, "_data_layer", None)  # the chat history of this test's data dir
    monkeypatch.setattr(chainlit.data, "_data_layer_initialized", False)
    yield
    if app.runtime.cache_info().currsize:
        app.runtime().store.close()
        if app.runtime().catalog is not None:
            app.runtime().catalog.close()
    app.runtime.cache_clear()


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch, llm: FakeLLMServer) -> FakeLLMServer:
    return use_endpoint(monkeypatch, llm)


def use_endpoint(monkeypatch: pytest.MonkeyPatch, server: FakeLLMServer) -> FakeLLMServer:
    """Point every model at `server`: requests go only to the fake server on 127.0.0.1."""
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    monkeypatch.setenv("BENCHMARK_AGENT_MODEL", "openai:fake-model")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    return server


def open_session(thread_id: str | None = None, user: str | None = None) -> Recorder:
    """Install a Chainlit context for one browser session (call inside the test: it needs the running loop)."""
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id=thread_id or str(uuid.uuid4()),
                          user=cl.User(identifier=user) if user else None)
    recorder = Recorder(session)
    context_var.set(ChainlitContext(session, emitter=recorder))
    return recorder


def confirm(phase: str) -> cl.Action:
    return cl.Action(name="confirm", payload={"phase": phase}, label=CONFIRM_LABELS.get(phase, "?"))


def no_errors(recorder: Recorder) -> None:
    assert not [s for s in recorder.of("send_step") if s.get("isError")], recorder.events


def task_lists(recorder: Recorder) -> list[dict[str, Any]]:
    """Each version of the build's task list that was sent, as the browser reads it."""
    files = cl.context.session.files
    return [json.loads(Path(files[e["chainlitKey"]]["path"]).read_text()) for e in recorder.of("element")
            if e["type"] == "tasklist"]


def state() -> Any:
    user = cl.context.session.user
    return run_sync(app.runtime().threads.load(cl.context.session.thread_id, owner=user.identifier if user else None))


async def test_welcome_names_the_configured_model(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.start()
    assert "Structured output" not in recorder.last_message()["output"], "the welcome does not wait for the probe"
    await asyncio.gather(*app.PROBES)
    welcome, probed = (m["output"] for m in recorder.messages()[-2:])
    assert [m["type"] for m in recorder.messages()[-2:]] == ["system_message"] * 2, \
        "not a user or assistant message, which would hide the welcome screen and its starters"
    assert "openai:fake-model" in welcome and "settings panel" in welcome
    assert TOY_MODEL_WARNING not in welcome and "toy" not in welcome.lower()
    assert "Structured output for 'fake-model'" in probed and "tool (found by probing at first contact)" in probed


async def test_welcome_without_a_model_names_the_embedded_one_and_warns_in_plain_words() -> None:
    recorder = open_session()
    await app.start()
    text = recorder.last_message()["output"]
    assert EMBEDDED_MODEL in text
    assert keep_visible(TOY_MODEL_WARNING) in text and "toy-level" in text
    # Sent so that the renderer shows every model name: unescaped, "openai:gpt-4o-mini" shows as "openai".
    assert "openai\\:gpt-4o-mini" in text and "openai:\\<name>" in text
    assert app.runtime().models.models["chat"]._llm is None, "the welcome must not load llama.cpp"  # type: ignore[attr-defined]


async def test_the_welcome_screen_offers_starters_that_are_requests_the_product_builds() -> None:
    offered = await app.starters(None)
    assert [s.message for s in offered] == [message for _, message, _ in app.STARTERS] and len(offered) >= 6
    assert chainlit.config.config.code.set_starters is not None
    public = Path(__file__).resolve().parents[2] / "public"
    for starter in offered:  # each icon is a file Chainlit serves under /public
        assert starter.icon and starter.icon.startswith("/public/")
        assert (public / starter.icon.removeprefix("/public/")).read_text().startswith("<svg")
    wants = {files_named(s.message) for s in offered}
    assert {"document", "image"} <= wants, "one starter asks questions on a document, one about images"


async def test_a_request_about_a_document_asks_for_it_and_goes_on_once_it_is_attached(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    [request] = [message for label, message, _ in app.STARTERS if label == "Questions on a document"]
    await app.on_message(cl.Message(content=request, author="User", type="user_message"))
    no_errors(recorder)
    asked = recorder.last_message()["output"]
    assert "Attach the document" in asked and "kept your request" in asked
    assert all(suffix in asked for suffix in SUPPORTED), "every file type it reads is named"
    kept = state()
    assert kept.phase == "gathering" and kept.spec is None, "nothing is planned before the file is read"
    assert kept.pending is not None and kept.pending.kind == "files" and kept.pending.request == request

    recorder.forget()
    notes = cl.File(name="harbours.md", content=b"# Harbours\n\nThe old harbour of Tarn was dredged in 1871 to take "
                    b"steamers. Its lighthouse, built in 1880, stands on the north mole.\n")
    await app.on_message(cl.Message(content="", author="User", type="user_message", elements=[notes]))
    no_errors(recorder)
    said = [m["output"] for m in recorder.messages()]
    assert any("harbours.md" in text and "Going on with your request" in text for text in said)
    assert "**Spec**" in recorder.last_message()["output"]
    after = state()
    assert after.phase in ("spec_ready", "clarifying") and after.spec is not None and after.spec.needs_material
    assert after.pending is None and after.material_dir is not None


async def test_a_file_that_cannot_be_read_leaves_the_request_waiting_for_one_that_can(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    request = "10 yes/no questions on the attached document"
    await app.on_message(cl.Message(content=request, author="User", type="user_message"))
    recorder.forget()
    broken = cl.File(name="notes.pdf", content=b"%PDF-1.4")  # no pages: read as nothing
    await app.on_message(cl.Message(content="", author="User", type="user_message", elements=[broken]))
    no_errors(recorder)
    said = "\n".join(m["output"] for m in recorder.messages())
    assert "notes.pdf" in said and "Going on with your request" not in said
    waiting = state()
    assert waiting.spec is None and waiting.pending is not None and waiting.pending.request == request


async def test_a_request_about_images_with_the_images_attached_is_not_asked_for_them(fake_models: FakeLLMServer,
                                                                                    tmp_path: Path) -> None:
    recorder = open_session()
    image = write_image(tmp_path / "chart1.png", "PNG", text="Chart 1: 40 units")
    [request] = [message for label, message, _ in app.STARTERS if label == "Questions about images"]
    await app.on_message(cl.Message(content=request, author="User", type="user_message",
                                    elements=[cl.Image(name="chart1.png", path=str(image))]))
    no_errors(recorder)
    assert not [m for m in recorder.messages() if "Attach the images" in m["output"]]
    assert state().spec is not None and state().pending is None


async def test_attached_files_are_each_named_and_the_text_is_still_answered(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    attached = [cl.File(name="notes.pdf", content=b"%PDF-1.4"), cl.File(name="data.csv", content=b"a,b\n1,2\n")]
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message", elements=attached))
    no_errors(recorder)
    said = [m["output"] for m in recorder.messages()]
    reply = next(text for text in said if "data.csv" in text)
    assert "notes.pdf" in reply.split("Not read")[1], "a corrupt PDF is named with why it was not read"
    assert "data.csv: 1 records" in reply or "data.csv: 1 record" in reply
    assert "**Spec**" in recorder.last_message()["output"]


async def test_a_request_gets_the_spec_card_and_a_confirm_button(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    no_errors(recorder)
    reply = recorder.last_message()
    assert "**Spec**" in reply["output"] and "| Size | 8 |" in reply["output"]
    assert state().phase == "spec_ready"
    [action] = recorder.for_message("action", reply)
    assert action["name"] == "confirm" and action["payload"] == {"phase": "spec_ready"}
    assert action["label"] == CONFIRM_LABELS["spec_ready"]


async def test_confirm_advances_the_phase_and_removes_the_clicked_button(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    recorder.forget()
    clicked = confirm("spec_ready")
    await app.ON_BUTTON["confirm"](clicked)
    no_errors(recorder)
    assert state().phase == "planned"
    assert [a["id"] for a in recorder.of("remove_action")] == [clicked.id]
    reply = recorder.last_message()
    assert "**Plan**" in reply["output"] and "**total**" in reply["output"]
    [action] = [a for a in recorder.for_message("action", reply) if a["name"] == "confirm"]
    assert action["payload"] == {"phase": "planned"} and action["label"] == CONFIRM_LABELS["planned"]
    assert {a["name"] for a in recorder.for_message("action", reply)} == {"confirm", "preview", "edit"}


async def test_a_full_flow_ends_with_the_four_files_attached(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.start()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    recorder.forget()
    await app.ON_BUTTON["confirm"](confirm("planned"))
    no_errors(recorder)

    built = state()
    assert built.phase == "built" and built.build is not None and built.build.status == "complete"
    reply = recorder.last_message()
    assert f"**Build {built.build.build_id}**: 8/8 samples, complete." in reply["output"]
    assert [a["name"] for a in recorder.for_message("action", reply)] == ["publish"], \
        "a finished build offers no confirm button, only publishing it"

    elements = recorder.for_message("element", reply)
    files_shown = [e for e in elements if e["type"] == "file"]
    assert sorted(e["name"] for e in files_shown) == sorted(app.DOWNLOADS)
    assert all(e["display"] == "inline" and e["chainlitKey"] for e in files_shown)
    # The quality report comes with the result: a table in the card and a chart.
    assert "## Quality" in reply["output"]
    assert [e["name"] for e in elements if e["type"] == "image"] == ["quality.svg"]
    # and the charts beside the tables: where the candidates went, and where the (multiple-choice) answers sit
    assert sorted(e["name"] for e in elements if e["type"] == "plotly") == ["answer positions", "candidates"]
    elements = files_shown
    build_dir = Path(built.build.directory)
    files = cl.context.session.files
    for element in elements:  # what the browser downloads is a copy of the build's file
        served = Path(files[element["chainlitKey"]]["path"])
        assert served.is_file() and served.read_bytes() == (build_dir / element["name"]).read_bytes()
    lines = (build_dir / "benchmark.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8

    # The build's progress was shown as steps, updated in place.
    steps = [s for s in recorder.of("send_step") if s["type"] == "tool"]
    assert steps and {s["id"] for s in recorder.of("update_step")} <= {s["id"] for s in steps}
    assert any("/" in u["output"] for u in recorder.of("update_step")), "counters like (4/8) are shown"
    sent = [s["output"] for s in [*recorder.of("send_step"), *recorder.of("update_step")] if s.get("output")]
    sent += [t["title"] for listed in task_lists(recorder) for t in listed["tasks"]]
    assert sent and all(keep_visible(text) == text for text in sent), "every message goes out escaped for the renderer"
    assert any(u["output"].startswith("Spent so far: ") and " tokens" in u["output"] for u in recorder.of("update_step"))
    # And as a task list: one task per subtask, each done at the end, under the count and the spend so far.
    lists = task_lists(recorder)
    assert len({e["id"] for e in recorder.of("element") if e["type"] == "tasklist"}) == 1, "one list, updated in place"
    final = lists[-1]
    assert [t["status"] for t in final["tasks"]] == ["done"] * len(built.plan.subtasks)
    assert [t["title"] for t in final["tasks"]] == [f"{s.name}: {s.quota}/{s.quota} accepted" for s in built.plan.subtasks]
    assert final["status"].startswith("8/8 accepted · spent generation ") and "tokens" in final["status"]
    assert {t["status"] for t in lists[0]["tasks"]} == {"ready"} and lists[0]["status"].startswith("0/8 accepted")
    assert any(t["status"] == "running" for listed in lists[:-1] for t in listed["tasks"]), "a subtask under way"


async def test_a_finished_benchmark_is_evaluated_on_the_models_a_message_names(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    await app.ON_BUTTON["confirm"](confirm("planned"))
    recorder.forget()
    await app.on_message(cl.Message(content="evaluate openai:fake-a and openai:fake-b, strongest first",
                                    author="User", type="user_message"))
    no_errors(recorder)
    said = "\n".join(m["output"] for m in recorder.messages())
    assert "| openai\\:fake-b |" in said and "Agreement with the expected order" in said
    card = recorder.last_message()
    assert "**Leaderboard**" in card["output"] and "openai\\:fake-a" in card["output"]
    # Chainlit sends a message's elements concurrently, so they may arrive in any order.
    assert sorted(e["name"] for e in recorder.for_message("element", card) if e["type"] == "plotly") == [
        "answer positions", "candidates", "leaderboard"]
    built = state()
    assert built.build is not None and (Path(built.build.directory) / "leaderboard.json").is_file()


async def test_a_stale_button_is_refused_and_changes_nothing(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    assert state().phase == "planned"
    recorder.forget()
    requests = fake_models.stats.requests

    await app.ON_BUTTON["confirm"](confirm("spec_ready"))  # the first message's button, clicked again

    assert state().phase == "planned" and state().build is None
    assert fake_models.stats.requests == requests, "a stale button runs nothing"
    [reply] = recorder.messages()
    assert "out of date" in reply["output"]


async def test_an_unexpected_failure_of_a_button_step_is_shown(
    fake_models: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))

    async def broken(*args: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(app, "press", broken)
    recorder.forget()
    with pytest.raises(OSError):  # re-raised so that Chainlit logs it
        await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    [error] = [s for s in recorder.of("send_step") if s.get("isError")]
    assert "disk full" in error["output"]


def test_every_button_callback_is_a_button_of_the_conversation_table() -> None:
    assert set(chainlit.config.config.code.action_callbacks) == flow.BUTTONS


async def test_a_button_whose_step_the_phase_does_not_offer_only_says_so(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    before, requests = state(), fake_models.stats.requests
    recorder.forget()

    await app.on_preview(click("preview", {}))  # a preview needs a plan: the table offers it only once planned
    await app.ON_BUTTON["undo"](click("undo", {}))

    assert [m["output"] for m in recorder.messages()] == [flow.STALE] * 2
    assert not [s for s in recorder.of("send_step") if s["type"] == "tool"], "no preview step was started"
    assert state() == before and fake_models.stats.requests == requests


def test_the_app_loads_the_way_chainlit_run_loads_it() -> None:
    # `chainlit run assistant/app.py` executes the file under its path as module name, without registering
    # it in sys.modules first (chainlit.config.load_module); a @dataclass in it failed exactly there.
    path = Path(app.__file__)
    spec = importlib.util.spec_from_file_location(str(path), path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


# --- refinement, preview and resume buttons ---------------------------------------------------


def click(name: str, payload: dict[str, Any]) -> cl.Action:
    return cl.Action(name=name, payload=payload, label=name)


def buttons(recorder: Recorder, message: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
    return [a for a in recorder.for_message("action", message) if name is None or a["name"] == name]


async def _planned(recorder: Recorder) -> Any:
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    assert state().phase == "planned"
    recorder.forget()
    return state()


async def test_the_card_is_replaced_each_turn_so_only_one_is_on_screen(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    first_card = state().card_message_id
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    assert first_card in [d["id"] for d in recorder.of("delete_step")]
    assert state().card_message_id == recorder.last_message()["id"] != first_card


async def test_the_edit_buttons_walk_through_an_edit_without_the_model(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    planned = await _planned(recorder)
    requests = fake_models.stats.requests
    version = {"version": 1}
    await app.ON_BUTTON["edit"](click("edit", version))
    menu = recorder.last_message()
    assert len(buttons(recorder, menu)) == 10  # nine operations and Cancel
    await app.ON_BUTTON["edit"](click("edit", {**version, "edit": {"op": "quota"}}))
    which = recorder.last_message()
    assert len(buttons(recorder, which)) == len(planned.plan.subtasks) + 1
    first = planned.plan.subtasks[0]
    await app.ON_BUTTON["edit"](click("edit", {**version, "edit": {"op": "quota", "subtask": first.id}}))
    assert state().pending is not None and state().pending.kind == "edit"
    wanted = first.quota + 1
    await app.on_message(cl.Message(content=str(wanted), author="User", type="user_message"))  # the typed value
    no_errors(recorder)
    edited = state()
    assert edited.plan.subtasks[0].quota == wanted and edited.plan.total == 8 and edited.version.number == 2
    assert fake_models.stats.requests == requests, "buttons and typed values need no model"
    card = recorder.last_message()
    assert "Plan v2 from v1" in card["output"] and buttons(recorder, card, "undo")
    assert {d["id"] for d in recorder.of("delete_step")} >= {menu["id"], which["id"]}, "the editor is gone"

    await app.ON_BUTTON["undo"](click("undo", {"version": 2}))
    assert state().plan == planned.plan and state().version.number == 3


async def test_an_edit_button_from_an_older_version_is_refused(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    planned = await _planned(recorder)
    await app.ON_BUTTON["edit"](click("edit", {"version": 1, "edit": {"op": "drop", "subtask": planned.plan.subtasks[0].id}}))
    recorder.forget()
    await app.ON_BUTTON["edit"](click("edit", {"version": 1, "edit": {"op": "drop", "subtask": planned.plan.subtasks[1].id}}))
    [reply] = recorder.messages()
    assert "out of date" in reply["output"] and len(state().plan.subtasks) == len(planned.plan.subtasks) - 1


async def test_preview_buttons_accept_and_reject_with_a_reason(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await _planned(recorder)
    await app.on_preview(click("preview", {"version": 1}))
    no_errors(recorder)
    previewed = state()
    assert previewed.previews and len(previewed.previews) <= 3 * len(previewed.plan.subtasks)
    shown = [m for m in recorder.messages() if m["output"].startswith("**Preview 1**")]
    assert len(buttons(recorder, shown[0])) == 3
    first, second = previewed.previews[0], previewed.previews[1]
    await app.ON_BUTTON["review"](click("review", {"item": first.id, "verdict": "accept"}))
    await app.ON_BUTTON["review"](click("review", {"item": second.id, "verdict": "reject"}))
    reasons = [a for a in recorder.of("action") if a["payload"].get("reason")]
    assert [a["label"] for a in reasons] == ["Wrong answer", "Too easy", "Ambiguous", "Off topic"]
    await app.ON_BUTTON["review"](click("review", reasons[1]["payload"]))
    reviewed = state()
    assert [p.status for p in reviewed.previews[:2]] == ["accepted", "rejected"]
    assert any("Too easy" in g for g in next(s for s in reviewed.plan.subtasks if s.id == second.subtask_id).guidance)
    assert recorder.of("update_step"), "the preview messages and the card are updated in place"
    assert reviewed.version.number == 2, "the rejection's instruction made a new plan version"
    edit = [b for b in reviewed.buttons if b.for_id == reviewed.card_message_id and b.name == "edit"]
    assert [b.payload for b in edit] == [{"version": 2}], "the card's buttons follow the new version"
    assert "**Checks**\n\n- ✅ " in shown[0]["output"], "each preview shows its check verdicts, one a line"
    assert "**Answer:** " in shown[0]["output"] and "**Q1.** " in shown[0]["output"]


async def test_a_reopened_thread_gets_its_buttons_and_current_card_back(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await _planned(recorder)
    thread_id = cl.context.session.thread_id
    saved = state()
    for _ in range(100):  # Chainlit persists messages in background tasks
        thread = await chainlit.data.get_data_layer().get_thread(thread_id)
        if thread is not None and saved.card_message_id in [s["id"] for s in thread["steps"]]:
            break
        await asyncio.sleep(0.05)
    assert thread is not None and saved.card_message_id in [s["id"] for s in thread["steps"]]

    reopened = open_session(thread_id)  # a new browser session on the same thread, e.g. after a restart
    app.runtime.cache_clear()
    await app.on_resume(thread)
    card = next(s for s in thread["steps"] if s["id"] == saved.card_message_id)
    assert "**Plan**" in card["output"]
    assert {a["name"] for a in reopened.of("action") if a["forId"] == saved.card_message_id} == {"confirm", "preview", "edit"}
    await app.ON_BUTTON["confirm"](confirm("planned"))  # and the flow goes on from where it was
    assert state().phase == "built"


async def test_a_reopened_built_thread_shows_its_files_once_and_keeps_the_users_own(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await _planned(recorder)
    await app.ON_BUTTON["confirm"](confirm("planned"))
    built, thread_id = state(), cl.context.session.thread_id
    assert built.phase == "built"
    layer = chainlit.data.get_data_layer()
    for _ in range(100):  # Chainlit stores a message's elements in background tasks
        thread = await layer.get_thread(thread_id)
        stored = [e["name"] for e in (thread or {}).get("elements") or [] if e.get("forId") == built.card_message_id]
        if "benchmark.jsonl" in stored:
            break
        await asyncio.sleep(0.05)
    assert thread is not None and "benchmark.jsonl" in stored, "the card's files are in the chat history"
    upload = {"id": "upload-1", "threadId": thread_id, "type": "file", "name": "benchmark.jsonl", "forId": "a-user-message",
              "display": "inline", "url": "/history-files/x"}
    thread["elements"].append(upload)  # the user's own file of the same name, on their message

    open_session(thread_id)
    app.runtime.cache_clear()
    await app.on_resume(thread)
    on_card = [e["name"] for e in thread["elements"] if e.get("forId") == built.card_message_id]
    assert sorted(on_card) == sorted(set(on_card)), f"each file of the card once: {on_card}"
    assert "benchmark.jsonl" in on_card and upload in thread["elements"]


async def test_sign_in_without_configured_users_is_the_local_user_and_with_them_needs_the_password(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    user = await app.header_user({})
    assert user is not None and user.identifier == "researcher"
    monkeypatch.setenv("BENCHMARK_AGENT_AUTH_USERS", "alice:s3cret,bob:pw")
    app.sign_in.cache_clear()
    assert (await app.password_user("alice", "s3cret")).identifier == "alice"  # type: ignore[union-attr]
    assert await app.password_user("alice", "pw") is None and await app.password_user("eve", "x") is None
    assert await app.header_user({}) is None, "with password users, nobody is signed in without a password"
    monkeypatch.setenv("BENCHMARK_AGENT_AUTH", "header")
    monkeypatch.setenv("BENCHMARK_AGENT_AUTH_HEADER", "X-Forwarded-User")
    app.sign_in.cache_clear()
    assert (await app.header_user({"X-Forwarded-User": "carol"})).identifier == "carol"  # type: ignore[union-attr]
    assert await app.header_user({}) is None


def test_the_auth_secret_is_generated_once_and_kept_under_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET")
    auth.ensure_auth_secret(tmp_path)
    secret = os.environ["CHAINLIT_AUTH_SECRET"]
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET")
    auth.ensure_auth_secret(tmp_path)
    assert os.environ["CHAINLIT_AUTH_SECRET"] == secret and len(secret) > 40
    assert (tmp_path / "chainlit_auth_secret").stat().st_mode & 0o077 == 0


async def test_each_signed_in_user_has_their_own_state_even_under_the_same_thread_id(fake_models: FakeLLMServer) -> None:
    thread_id = str(uuid.uuid4())
    open_session(thread_id, user="alice")
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    threads = app.runtime().threads
    assert (await threads.load(thread_id, owner="alice")).phase == "spec_ready"
    assert (await threads.load(thread_id, owner="bob")).phase == "gathering"
    assert (await threads.load(thread_id)).phase == "gathering"


# --- a build that fell short ------------------------------------------------------------------


async def test_the_buttons_under_a_short_build_keep_what_it_has_and_finish_the_same_build(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Half the judge's verdicts are rejections and few attempts are allowed: one subtask falls short.
    with FakeLLMServer(port=0, seed=11, judge_reject_rate=0.5, deterministic=True) as strict:
        use_endpoint(monkeypatch, strict)
        monkeypatch.setenv("BENCHMARK_AGENT_MAX_ROUNDS_PER_SAMPLE", "1.2")
        monkeypatch.setenv("BENCHMARK_AGENT_QC", "false")
        recorder = open_session()
        await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
        await app.ON_BUTTON["confirm"](confirm("spec_ready"))
        await app.ON_BUTTON["confirm"](confirm("planned"))
        short = state()
        assert short.build is not None and short.build.status == "short"
        outcomes = short.build.shortfalls
        assert outcomes and all(o.accepted >= 1 for o in outcomes), "the test needs subtasks with something to keep"
        short_names = {s.name for s in short.plan.subtasks if s.id in {o.subtask_id for o in outcomes}}
        final = task_lists(recorder)[-1]["tasks"]
        assert {t["title"].split(":")[0] for t in final if t["status"] == "failed"} == short_names
        card = recorder.last_message()
        assert "**Fell short**" in card["output"]
        offered = buttons(recorder, card, "shortfall")
        assert [(b["payload"]["subtask"], b["payload"]["choice"]) for b in offered] == [
            (o.subtask_id, choice) for o in outcomes for choice in ("relax", "drop")]
        drop = offered[1]
        calls = strict.stats.by_tool
        for number, outcome in enumerate(outcomes, 1):  # keep what each short subtask has, one click each
            relax = next(b for b in buttons(recorder, card, "shortfall")
                         if (b["payload"]["subtask"], b["payload"]["choice"]) == (outcome.subtask_id, "relax"))
            assert relax["label"].endswith(f"keep the {outcome.accepted} it has")
            recorder.forget()

            await app.ON_BUTTON["shortfall"](click("shortfall", relax["payload"]))

            no_errors(recorder)
            card = recorder.last_message()
            assert state().build.status == ("complete" if number == len(outcomes) else "short")  # type: ignore[union-attr]
        done = state()
        assert done.build is not None and done.build.status == "complete"
        assert (done.build.build_id, done.build.directory) == (short.build.build_id, short.build.directory)
        assert done.build.accepted == done.build.requested == short.build.accepted
        new = strict.stats.by_tool
        assert (new["submit_samples"], new["submit_verdict"]) == (calls["submit_samples"], calls["submit_verdict"])
        assert "complete." in card["output"] and not buttons(recorder, card, "shortfall")

        recorder.forget()
        await app.ON_BUTTON["shortfall"](click("shortfall", drop["payload"]))  # the other button, now out of date
        [reply] = recorder.messages()
        assert "out of date" in reply["output"] and state().version.number == done.version.number


async def test_the_chat_answers_while_a_build_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(port=0, seed=5, latency_ms=100) as slow:
        use_endpoint(monkeypatch, slow)
        open_session()
        await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
        await app.ON_BUTTON["confirm"](confirm("spec_ready"))
        thread = cl.context.session.thread_id
        build = asyncio.create_task(app.ON_BUTTON["confirm"](confirm("planned")))  # keeps this session's context
        for _ in range(200):
            if state().phase == "building":
                break
            await asyncio.sleep(0.02)
        assert state().phase == "building"

        same = open_session(thread_id=thread)  # the same conversation, e.g. from a second tab
        await app.on_message(cl.Message(content="how is it going?", author="User", type="user_message"))
        other = open_session()  # and someone else's
        await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
        assert not build.done(), "both answers came while the build was still running"
        [answer] = [m["output"] for m in same.messages()]  # the answer alone: the card is the build's
        assert answer.startswith("The build is running: ") and "samples accepted so far" in answer, answer
        assert (await app.runtime().threads.load(thread)).phase == "building", "the thread's state is left to the build"
        assert other.messages() and state().phase in ("clarifying", "spec_ready")
        no_errors(same)
        no_errors(other)
        await build
    open_session(thread_id=thread)
    assert state().phase == "built" and state().build.status == "complete"


async def test_a_fresh_version_from_the_chat_shares_no_item_and_names_the_build_it_replaces(
        fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    await app.ON_BUTTON["confirm"](confirm("planned"))
    first = state().build
    assert first is not None and first.status == "complete"
    recorder.forget()
    await app.on_message(cl.Message(content="make a fresh version of it", author="User", type="user_message"))
    no_errors(recorder)
    second = state().build
    assert second is not None and second.status == "complete" and second.directory != first.directory
    said = "\n".join(m["output"] for m in recorder.messages())
    assert f"fresh version of {first.build_id}" in said.lower(), "the card names the build it replaces"
    report = json.loads((Path(second.directory) / "report.json").read_text())
    assert report["replaces"] == first.build_id
    lineage = json.loads((Path(second.directory) / "versions.json").read_text())
    assert [v["build_id"] for v in lineage] == [first.build_id]

    def questions(build: Any) -> set[str]:
        rows = (Path(build.directory) / "benchmark.jsonl").read_text(encoding="utf-8").splitlines()
        return {json.loads(line)["question"] for line in rows}

    assert questions(first).isdisjoint(questions(second)), "the fresh version repeats no item of the first"


async def test_scores_a_message_gives_for_the_models_are_rank_correlated_with_ours(fake_models: FakeLLMServer) -> None:
    recorder = open_session()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    await app.ON_BUTTON["confirm"](confirm("planned"))
    recorder.forget()
    await app.on_message(cl.Message(content="evaluate openai:fake-a=71.5 and openai:fake-b=60, their MMLU scores",
                                    author="User", type="user_message"))
    no_errors(recorder)
    card = recorder.last_message()["output"]
    assert "their scores on the reference benchmark (openai\\:fake-a 71.5, openai\\:fake-b 60; 2 models)" in card


@pytest.mark.parametrize("how", ["button", "words", "chainlit stop"])
async def test_a_build_stopped_from_the_chat_keeps_its_samples_and_resumes_where_it_stopped(
        monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    with FakeLLMServer(port=0, seed=5, latency_ms=150) as slow:
        use_endpoint(monkeypatch, slow)
        recorder = open_session()
        await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
        await app.ON_BUTTON["confirm"](confirm("spec_ready"))
        thread = cl.context.session.thread_id
        build = asyncio.create_task(app.ON_BUTTON["confirm"](confirm("planned")))
        for _ in range(500):  # until the build has accepted something
            built = (await app.runtime().threads.load(thread)).build
            if built is not None and (Path(built.directory) / "checkpoints" / "accepted.jsonl").is_file():
                break
            await asyncio.sleep(0.02)
        stops = [b for b in recorder.of("action") if b.get("name") == "stop"]
        assert stops, "the build offers a Stop button while it runs"
        if how == "button":
            await app.ON_BUTTON["stop"](cl.Action(name="stop", payload={"phase": "building"}, id=stops[0]["id"]))
        elif how == "chainlit stop":  # the stop button Chainlit shows while a step runs
            await app.on_stop()
        else:
            await app.on_message(cl.Message(content="stop", author="User", type="user_message"))
        await asyncio.wait_for(build, timeout=60)
        stopped = state()
        assert stopped.phase == "planned" and stopped.build is not None and stopped.build.status == "stopped"
        assert "stopped from the chat" in "\n".join(m["output"] for m in recorder.messages())
        directory = Path(stopped.build.directory)
        kept = (directory / "checkpoints" / "accepted.jsonl").read_text().splitlines()
        assert 0 < len(kept) < 8

        await app.ON_BUTTON["confirm"](confirm("planned"))  # build again: the same build resumes
    done = state()
    assert done.phase == "built" and done.build is not None and done.build.status == "complete"
    assert Path(done.build.directory) == directory, "resumed in its own folder, not started anew"
    rows = (directory / "benchmark.jsonl").read_text().splitlines()
    assert len(rows) == 8 and len(set(rows)) == 8
    accepted = (directory / "checkpoints" / "accepted.jsonl").read_text().splitlines()
    assert accepted[:len(kept)] == kept, "nothing accepted before the stop was redone"


# --- limits of a shared server ----------------------------------------------------------------


async def test_a_message_over_the_length_limit_is_refused_naming_the_setting(
        fake_models: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARK_AGENT_MAX_MESSAGE_CHARS", "500")
    recorder = open_session()
    requests = fake_models.stats.requests
    await app.on_message(cl.Message(content=REQUEST + " and more" * 100, author="User", type="user_message"))
    no_errors(recorder)
    said = recorder.last_message()["output"]
    assert "BENCHMARK_AGENT_MAX_MESSAGE_CHARS" in said and "500" in said
    assert fake_models.stats.requests == requests and state().phase == "gathering"
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    assert state().phase == "spec_ready", "the next message is read as usual"


@pytest.mark.parametrize(("setting", "running"), [
    ("BENCHMARK_AGENT_MAX_BUILDS_PER_USER", [("alice-other-thread", "alice")]),
    ("BENCHMARK_AGENT_MAX_BUILDS", [("bob-thread", "bob"), ("carol-thread", "carol")]),
])
async def test_a_build_over_the_concurrency_limits_is_refused_naming_the_setting_and_the_plan_stays(
        fake_models: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, setting: str,
        running: list[tuple[str, str]]) -> None:
    monkeypatch.setenv("BENCHMARK_AGENT_MAX_BUILDS_PER_USER", "1")
    monkeypatch.setenv("BENCHMARK_AGENT_MAX_BUILDS", "2")
    recorder = open_session(user="alice")
    planned = await _planned(recorder)
    for thread_id, owner in running:  # builds of the same user, or of others, under way in this server
        app.runtime().active_builds.add(thread_id, owner)
    requests = fake_models.stats.requests

    await app.ON_BUTTON["confirm"](confirm("planned"))

    no_errors(recorder)
    said = "\n".join(m["output"] for m in recorder.messages())
    assert setting in said, said
    assert state().phase == "planned" and state().build is None and state().plan == planned.plan
    assert fake_models.stats.requests == requests, "nothing was spent"
    for thread_id, _ in running:
        app.runtime().active_builds.discard(thread_id)
    await app.ON_BUTTON["confirm"](confirm("planned"))
    assert state().phase == "built", "with a slot free, the same button builds"


async def test_a_plan_estimated_over_the_build_budget_is_refused_before_spending_anything(
        fake_models: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARK_AGENT_MAX_TOKENS", "1000")
    recorder = open_session()
    await _planned(recorder)
    requests = fake_models.stats.requests
    await app.ON_BUTTON["confirm"](confirm("planned"))
    said = "\n".join(m["output"] for m in recorder.messages())
    assert "BENCHMARK_AGENT_MAX_TOKENS" in said and "1,000 tokens" in said, said
    assert state().phase == "planned" and state().build is None and fake_models.stats.requests == requests


async def test_the_api_key_is_in_no_log_report_export_thread_state_or_chat_message(
        fake_models: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    key = "sk-proj-" + uuid.uuid4().hex  # the endpoint takes any key; this one is findable if anything writes it
    monkeypatch.setenv("OPENAI_API_KEY", key)
    caplog.set_level("DEBUG")
    recorder = open_session()
    await app.start()
    await app.on_message(cl.Message(content=REQUEST, author="User", type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    await app.ON_BUTTON["confirm"](confirm("planned"))
    no_errors(recorder)
    built = state()
    assert built.phase == "built" and built.build is not None and built.build.status == "complete"
    assert key not in built.model_dump_json(), "thread state"
    assert key not in json.dumps(recorder.events, default=str), "what went to the browser"
    assert key not in caplog.text, "logs"
    # Everything written under the data dir: the chat database (history and thread state), the build's ledger,
    # call cache, report, card and exports, the memory.
    written = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.name == "benchmark.jsonl" for p in written) and any(p.suffix == ".sqlite3" for p in written)
    assert [p for p in written if key.encode() in p.read_bytes()] == []


async def test_the_first_load_of_the_runtime_leaves_the_event_loop_free_and_loads_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedding model takes seconds to load: the first chat after a start loads it in a worker thread, so the
    loop goes on serving the other chats; two chats starting together load it once."""
    loads: list[int] = []

    def slow_embedder() -> HashEmbedder:
        loads.append(1)
        import time

        time.sleep(1.0)  # a model loading (CPU and disk, not the loop's to wait for)
        return HashEmbedder()

    monkeypatch.setattr(app, "memory_embedder", slow_embedder)
    gaps: list[float] = []

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not loads or app.runtime.cache_info().currsize == 0:
            await asyncio.sleep(0.01)
            gaps.append(loop.time() - last)
            last = loop.time()

    first, second, _ = await asyncio.gather(app.loaded(), app.loaded(), tick())
    assert first is second and loads == [1]
    assert max(gaps) < 0.5, f"the loop was held for {max(gaps):.2f} s while the runtime loaded"
    assert await app.loaded() is first
