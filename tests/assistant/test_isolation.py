"""Two users of one server: neither reaches the other's threads, files, downloads or builds, by any id or URL.

Requests go through Chainlit's own HTTP app (no socket, no browser), signed in with the tokens it issues.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if "CHAINLIT_APP_ROOT" not in os.environ:  # importing chainlit writes .chainlit/ and .files/ under its app root
    os.environ["CHAINLIT_APP_ROOT"] = tempfile.mkdtemp(prefix="chainlit-app-root-")
    atexit.register(shutil.rmtree, os.environ["CHAINLIT_APP_ROOT"], ignore_errors=True)
os.environ.setdefault("CHAINLIT_AUTH_SECRET", "test-secret")  # else the app keeps one under ./data at import

import chainlit as cl  # noqa: E402
import chainlit.data  # noqa: E402
import pytest  # noqa: E402
from chainlit.auth import create_jwt  # noqa: E402
from chainlit.config import config  # noqa: E402
from chainlit.context import ChainlitContext, context_var  # noqa: E402
from chainlit.emitter import BaseChainlitEmitter  # noqa: E402
from chainlit.server import app as server  # noqa: E402
from chainlit.session import HTTPSession, WebsocketSession  # noqa: E402
from chainlit.user import User  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import assistant.app as app  # noqa: E402
from assistant import boot  # noqa: E402
from assistant.chat_history import FILE_ROUTE, HistoryLayer  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from memory.embeddings import HashEmbedder  # noqa: E402
from tests.assistant.threads import open_database  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(app, "memory_embedder", HashEmbedder)
    monkeypatch.setattr(chainlit.data, "_data_layer", None)  # the chat history of this test's data dir
    monkeypatch.setattr(chainlit.data, "_data_layer_initialized", False)
    app.runtime.cache_clear()
    app.sign_in.cache_clear()
    yield
    if app.runtime.cache_info().currsize:
        app.runtime().store.close()
        if app.runtime().catalog is not None:
            app.runtime().catalog.close()
    app.runtime.cache_clear()


def _as(user: str | None, thread_id: str = "t") -> None:
    """Calls from here on come from a chat session of `user` (None: from the server itself)."""
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id=thread_id,
                          user=cl.User(identifier=user) if user else None)
    context_var.set(ChainlitContext(session, emitter=BaseChainlitEmitter(session)))


def _step(thread_id: str, step_id: str, text: str) -> dict[str, Any]:
    return {"id": step_id, "threadId": thread_id, "type": "assistant_message", "output": text,
            "createdAt": "2025-01-01T00:00:00", "name": "Assistant"}


async def _alice_thread(layer: HistoryLayer, thread_id: str = "alice-thread") -> str:
    _as(None)
    alice = await layer.create_user(User(identifier="alice"))
    await layer.create_user(User(identifier="bob"))
    assert alice is not None
    await layer.update_thread(thread_id, name="alice's plan", user_id=alice.id)
    _as("alice", thread_id)
    await layer.create_step(_step(thread_id, "a1", "alice's card"))
    return alice.id


async def test_another_users_session_cannot_take_over_write_into_or_delete_from_a_thread(tmp_path: Path) -> None:
    layer = HistoryLayer(open_database(tmp_path), tmp_path / "files")
    await _alice_thread(layer)
    bob = await layer.get_user("bob")
    assert bob is not None
    _as("bob", "alice-thread")  # bob's browser claims alice's thread id
    await layer.update_thread("alice-thread", name="mine now", user_id=bob.id)
    await layer.create_step(_step("alice-thread", "b1", "bob was here"))
    await layer.update_step(_step("alice-thread", "a1", "bob overwrote the card"))
    await layer.delete_step("a1")
    thread = await HistoryLayer(open_database(tmp_path), tmp_path / "files").get_thread("alice-thread")
    assert thread is not None and thread["userIdentifier"] == "alice" and thread["name"] == "alice's plan"
    assert [(s["id"], s["output"]) for s in thread["steps"]] == [("a1", "alice's card")]


def _client() -> TestClient:
    return TestClient(server)


def _token(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_jwt(User(identifier=user))}"}


async def test_a_guessed_thread_id_gets_another_user_nothing_over_http() -> None:
    layer = chainlit.data.get_data_layer()
    assert isinstance(layer, HistoryLayer)
    alice_id = await _alice_thread(layer)
    client = _client()
    assert client.get("/project/thread/alice-thread", headers=_token("alice")).json()["steps"][0]["output"] == "alice's card"
    for headers in (_token("bob"), {}):
        response = client.get("/project/thread/alice-thread", headers=headers)
        assert response.status_code == 401 and "alice's card" not in response.text
        assert client.get("/project/thread/alice-thread/element/e1", headers=headers).status_code == 401
    listed = client.post("/project/threads", headers=_token("bob"),
                         json={"pagination": {"first": 20}, "filter": {"userId": alice_id}})
    assert listed.status_code == 200 and listed.json()["data"] == [], "bob's list is bob's, whatever he asks for"
    assert client.put("/project/thread", headers=_token("bob"),
                      json={"threadId": "alice-thread", "name": "renamed"}).status_code == 401
    assert client.request("DELETE", "/project/thread", headers=_token("bob"),
                          json={"threadId": "alice-thread"}).status_code == 401
    assert (await layer.get_thread("alice-thread"))["name"] == "alice's plan"  # type: ignore[index]


async def test_a_download_url_of_another_users_session_gets_nothing(tmp_path: Path) -> None:
    session = WebsocketSession(id=str(uuid.uuid4()), socket_id=str(uuid.uuid4()), emit=lambda *a: None,
                               emit_call=lambda *a: None, user_env={}, client_type="webapp",
                               user=User(identifier="alice"), thread_id="alice-thread")
    try:
        served = await session.persist_file(name="benchmark.jsonl", mime="application/jsonl", content=b'{"q": 1}\n')
        url = f"/project/file/{served['id']}?session_id={session.id}"
        client = _client()
        assert client.get(url, headers=_token("alice")).content == b'{"q": 1}\n'
        for headers in (_token("bob"), {}):
            response = client.get(url, headers=headers)
            assert response.status_code == 401 and b'"q"' not in response.content
        assert client.get(f"/project/file/{served['id']}?session_id={uuid.uuid4()}",
                          headers=_token("bob")).status_code == 401
    finally:
        await session.delete()


async def test_builds_and_material_of_each_user_live_in_their_own_thread_folder() -> None:
    thread_id = str(uuid.uuid4())
    _as("alice", thread_id)
    alice = await app._deps(thread_id)
    _as("bob", thread_id)  # the same thread id, guessed or replayed
    bob = await app._deps(thread_id)
    threads = app.runtime().threads
    assert alice.builds_dir != bob.builds_dir
    assert alice.builds_dir.parent == threads.thread_dir(thread_id, "alice")
    assert threads.material_dir(thread_id, "alice").parent == alice.builds_dir.parent
    assert not bob.builds_dir.is_relative_to(alice.builds_dir.parent)
    alice.state.phase = "planned"
    await threads.save(alice.state)
    assert (await threads.load(thread_id, owner="bob")).phase == "gathering", "bob loads his own, empty thread"


def test_no_other_site_may_call_the_server_unless_it_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert "*" not in config.project.allow_origins
    server.middleware_stack = None  # built again from the settings on the next request
    refused = _client().options("/project/threads", headers=preflight)
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    monkeypatch.setattr(config.project, "allow_origins", config.project.allow_origins)  # restored after the test
    try:
        boot.prepare(Settings(allowed_origins="https://lab.example.org"))
        server.middleware_stack = None
        allowed = _client().options("/project/threads", headers={**preflight, "Origin": "https://lab.example.org"})
        assert allowed.headers["access-control-allow-origin"] == "https://lab.example.org"
        assert _client().options("/project/threads", headers=preflight).status_code == 400
    finally:
        boot.prepare(Settings())
        server.middleware_stack = None


def test_chainlit_refuses_uploads_over_the_settings_before_the_reader_does(monkeypatch: pytest.MonkeyPatch) -> None:
    uploads = config.features.spontaneous_file_upload
    assert uploads is not None
    monkeypatch.setattr(uploads, "max_files", uploads.max_files)  # restored after the test
    monkeypatch.setattr(uploads, "max_size_mb", uploads.max_size_mb)
    boot.prepare(Settings(max_uploads=2, max_upload_mb=50))
    assert (uploads.max_files, uploads.max_size_mb) == (2, 50)


async def test_feedback_on_another_users_message_is_refused_and_theirs_cannot_be_deleted() -> None:
    layer = chainlit.data.get_data_layer()
    assert isinstance(layer, HistoryLayer)
    await _alice_thread(layer)
    client = _client()
    feedback = {"feedback": {"forId": "a1", "value": 0, "comment": "bob's"}, "sessionId": str(uuid.uuid4())}
    assert client.put("/feedback", headers=_token("bob"), json=feedback).status_code >= 400
    assert (await layer.get_thread("alice-thread"))["steps"][0].get("feedback") is None  # type: ignore[index]
    given = client.put("/feedback", headers=_token("alice"), json={**feedback, "feedback": {"forId": "a1", "value": 1}})
    assert given.status_code == 200, given.text
    feedback_id = given.json()["feedbackId"]
    client.request("DELETE", "/feedback", headers=_token("bob"), json={"feedbackId": feedback_id})
    assert (await layer.get_thread("alice-thread"))["steps"][0]["feedback"]["value"] == 1  # type: ignore[index]
    client.request("DELETE", "/feedback", headers=_token("alice"), json={"feedbackId": feedback_id})
    assert (await layer.get_thread("alice-thread"))["steps"][0].get("feedback") is None  # type: ignore[index]


def test_the_chat_socket_accepts_the_servers_own_page_and_the_allowed_origins_only() -> None:
    check = boot.socket_origins(["https://lab.example.org"])
    own = {"HTTP_HOST": "10.0.0.5:8000"}
    assert check("http://10.0.0.5:8000", own) and check("https://lab.example.org", own)
    assert check("https://chat.lab.org", {"HTTP_HOST": "127.0.0.1:8000", "HTTP_X_FORWARDED_HOST": "chat.lab.org"})
    assert not check("https://evil.example", own) and not check("http://10.0.0.5:8001", own)
    assert check(None, own), "a client without an Origin header is no browser page of another site"


async def test_a_button_of_another_users_session_cannot_be_pressed_over_http() -> None:
    session = WebsocketSession(id=str(uuid.uuid4()), socket_id=str(uuid.uuid4()), emit=lambda *a: None,
                               emit_call=lambda *a: None, user_env={}, client_type="webapp",
                               user=User(identifier="alice"), thread_id="alice-thread")
    try:
        action = {"name": "confirm", "payload": {"phase": "planned"}, "label": "Build it", "id": str(uuid.uuid4())}
        pressed = _client().post("/project/action", headers=_token("bob"),
                                 json={"sessionId": session.id, "action": action})
        assert pressed.status_code == 401
        assert app.runtime.cache_info().currsize == 0, "no step ran: the runtime was never even started"
    finally:
        await session.delete()


async def test_a_file_shown_in_a_thread_is_stored_per_user_and_thread_and_served_to_its_author_only() -> None:
    layer = chainlit.data.get_data_layer()
    assert isinstance(layer, HistoryLayer)
    await _alice_thread(layer)
    _as("alice", "alice-thread")
    chart = cl.File(name="../../report.csv", content=b"q,a\n1,2\n", mime="text/csv", for_id="a1", thread_id="alice-thread")
    await layer.create_element(chart)
    stored = await layer.get_element("alice-thread", chart.id)
    assert stored is not None and stored["url"].startswith(FILE_ROUTE)
    key = stored["objectKey"]
    assert key is not None and key.split("/")[1:] == ["alice-thread", chart.id, "report.csv"]
    files = layer.storage_provider.root  # type: ignore[union-attr]
    assert (files / key).read_bytes() == b"q,a\n1,2\n" and (files / key).resolve().is_relative_to(files.resolve())
    client = _client()
    assert client.get(stored["url"], headers=_token("alice")).content == b"q,a\n1,2\n"
    for headers in (_token("bob"), {}):
        response = client.get(stored["url"], headers=headers)
        assert response.status_code == 404 and b"q,a" not in response.content
    _as("bob", "alice-thread")
    assert await layer.get_element("alice-thread", chart.id) is None
    await layer.delete_element(chart.id, "alice-thread")
    assert (files / key).exists(), "bob's session cannot delete it"
    _as("alice", "alice-thread")
    await layer.delete_thread("alice-thread")
    assert not (files / key).exists() and await layer.get_thread("alice-thread") is None


async def test_a_deleted_message_takes_its_stored_files_with_it() -> None:
    layer = chainlit.data.get_data_layer()
    assert isinstance(layer, HistoryLayer)
    await _alice_thread(layer)
    _as("alice", "alice-thread")
    chart = cl.File(name="chart.svg", content=b"<svg/>", mime="image/svg+xml", for_id="a1", thread_id="alice-thread")
    await layer.create_element(chart)
    stored = await layer.get_element("alice-thread", chart.id)
    assert stored is not None
    path = layer.storage_provider.root / stored["objectKey"]  # type: ignore[union-attr]
    assert path.exists()
    await layer.delete_step("a1")  # the card replaced by a new one
    assert not path.exists() and await layer.get_element("alice-thread", chart.id) is None
