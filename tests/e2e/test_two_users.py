"""Two password users of one real server, through Chainlit's own HTTP and socket protocol: neither reaches the
other's thread by its id, whichever way they ask."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import socketio

from tests.e2e.conftest import AppServer, chainlit_env, chainlit_server
from tests.fake_llm import FakeLLMServer

pytestmark = pytest.mark.slow

USERS = {"alice": "alice-password-1", "bob": "bob-password-2"}
REQUEST = "8 multiple-choice arithmetic word problems"


@pytest.fixture(scope="module")
def lab_server(llm: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    workdir = tmp_path_factory.mktemp("lab")
    env = chainlit_env(workdir / "data", BENCHMARK_AGENT_MODEL="openai:fake-model", OPENAI_BASE_URL=llm.base_url,
                       OPENAI_API_KEY="test", BENCHMARK_AGENT_AUTH_USERS=",".join(f"{u}:{p}" for u, p in USERS.items()))
    with chainlit_server(workdir, env) as server:
        yield server


def _signed_in(server: AppServer, user: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post("/login", data={"username": user, "password": USERS[user]})
    assert response.status_code == 200, response.text
    return client


async def _connect(server: AppServer, client: httpx.Client, thread_id: str,
                   origin: str | None = None) -> tuple[socketio.AsyncClient, list[Any]]:
    """A chat session of the client's user on `thread_id`, as the browser on `origin` (default: the server's own
    page) opens one; the messages it receives."""
    sio = socketio.AsyncClient(reconnection=False)
    received: list[Any] = []
    sio.on("new_message", received.append)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    try:
        await sio.connect(server.url, socketio_path="/ws/socket.io", transports=["websocket"],
                          headers={"Cookie": cookie, "Origin": origin or server.url},
                          auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": thread_id,
                                "userEnv": "{}", "chatProfile": None},
                          wait_timeout=20)  # as the page's client; python-socketio's default is 1 s
    except socketio.exceptions.ConnectionError:
        if sio.eio.http is not None and not sio.eio.http.closed:  # a refused client keeps its HTTP session open
            await sio.eio.http.close()
        raise
    await sio.emit("connection_successful")
    return sio, received


async def _say(sio: socketio.AsyncClient, thread_id: str, text: str) -> None:
    await sio.emit("client_message", {"message": {
        "id": str(uuid.uuid4()), "threadId": thread_id, "type": "user_message", "name": "User", "output": text,
        "createdAt": datetime.now(UTC).isoformat()}, "fileReferences": []})


def _stored_spec(client: httpx.Client, thread_id: str) -> bool:
    """Whether the server has stored the thread with its plan's spec among the steps."""
    response = client.get(f"/project/thread/{thread_id}")
    return response.status_code == 200 and any("**Spec**" in (s.get("output") or "")
                                               for s in response.json()["steps"])


async def _until(check: Any, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    pytest.fail("timed out")


def test_a_wrong_password_signs_nobody_in(lab_server: AppServer) -> None:
    with httpx.Client(base_url=lab_server.url) as client:
        assert client.post("/login", data={"username": "alice", "password": USERS["bob"]}).status_code == 401
        assert client.post("/login", data={"username": "eve", "password": "anything"}).status_code == 401
        assert client.post("/project/threads", json={"pagination": {"first": 5}, "filter": {}}).status_code == 401


async def test_another_users_thread_is_out_of_reach_by_page_socket_or_list(lab_server: AppServer) -> None:
    alice, bob = _signed_in(lab_server, "alice"), _signed_in(lab_server, "bob")
    thread_id = str(uuid.uuid4())
    sio, received = await _connect(lab_server, alice, thread_id)
    try:
        await _say(sio, thread_id, REQUEST)
        await _until(lambda: any("**Spec**" in (m.get("output") or "") for m in received))
        await _until(lambda: _stored_spec(alice, thread_id))  # Chainlit stores each message in a task of its own
    finally:
        await sio.disconnect()
    mine = alice.get(f"/project/thread/{thread_id}").json()
    assert mine["userIdentifier"] == "alice" and any("**Spec**" in (s.get("output") or "") for s in mine["steps"])

    taken = bob.get(f"/project/thread/{thread_id}")
    assert taken.status_code == 401 and "Spec" not in taken.text
    listed = bob.post("/project/threads", json={"pagination": {"first": 20}, "filter": {}}).json()["data"]
    assert thread_id not in [t["id"] for t in listed]
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _connect(lab_server, bob, thread_id)
    assert alice.get(f"/project/thread/{thread_id}").json()["steps"] == mine["steps"], "nothing of bob's got in"


async def test_a_page_of_another_site_cannot_open_a_chat_session_with_the_users_cookie(lab_server: AppServer) -> None:
    alice = _signed_in(lab_server, "alice")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _connect(lab_server, alice, str(uuid.uuid4()), origin="https://evil.example")
    preflight = alice.options("/project/threads", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    own, _ = await _connect(lab_server, alice, str(uuid.uuid4()))  # the server's own page still connects
    await own.disconnect()
