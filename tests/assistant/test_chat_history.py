"""The file-backed Chainlit data layer: threads survive a restart and each user sees only their own."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

if "CHAINLIT_APP_ROOT" not in os.environ:  # importing chainlit writes .chainlit/ and .files/ under its app root
    os.environ["CHAINLIT_APP_ROOT"] = tempfile.mkdtemp(prefix="chainlit-app-root-")
    atexit.register(shutil.rmtree, os.environ["CHAINLIT_APP_ROOT"], ignore_errors=True)

import pytest  # noqa: E402
from chainlit.context import ChainlitContext, context_var  # noqa: E402
from chainlit.emitter import BaseChainlitEmitter  # noqa: E402
from chainlit.session import HTTPSession  # noqa: E402
from chainlit.types import Feedback, Pagination, ThreadFilter  # noqa: E402
from chainlit.user import User  # noqa: E402

from assistant import chat_history  # noqa: E402
from assistant.chat_history import FileDataLayer  # noqa: E402
from memory.files import write_atomic  # noqa: E402


def _open(directory: Path) -> FileDataLayer:
    """The layer, inside a Chainlit context (call it in the test: the context needs the running loop). Outside a
    websocket session the layer writes at once, without waiting for a first user message."""
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id="t")
    context_var.set(ChainlitContext(session, emitter=BaseChainlitEmitter(session)))
    return FileDataLayer(directory)


def _step(thread_id: str, step_id: str, created: str, text: str = "hi") -> dict:  # type: ignore[type-arg]
    return {"id": step_id, "threadId": thread_id, "type": "assistant_message", "output": text, "createdAt": created,
            "name": "Assistant"}


async def _thread(layer: FileDataLayer, user: str, thread_id: str, name: str) -> str:
    persisted = await layer.create_user(User(identifier=user))
    assert persisted is not None
    await layer.update_thread(thread_id, name=name, user_id=persisted.id)
    await layer.create_step(_step(thread_id, f"{thread_id}-1", f"2025-01-01T00:00:0{len(name) % 10}"))
    return persisted.id


async def test_a_thread_with_its_messages_survives_a_restart(tmp_path: Path) -> None:
    layer = _open(tmp_path)
    await _thread(layer, "alice", "t1", "geometry benchmark")
    await layer.create_step(_step("t1", "card", "2025-01-01T00:01:00", "card v1"))
    await layer.update_step({**_step("t1", "card", "2025-01-01T00:01:00", "card v2"), "createdAt": None})
    await layer.create_step(_step("t1", "gone", "2025-01-01T00:02:00"))
    await layer.delete_step("gone")

    restarted = FileDataLayer(tmp_path)
    thread = await restarted.get_thread("t1")
    assert thread is not None and thread["userIdentifier"] == "alice" and thread["name"] == "geometry benchmark"
    assert [(s["id"], s["output"]) for s in thread["steps"]] == [("t1-1", "hi"), ("card", "card v2")]
    assert await restarted.get_thread_author("t1") == "alice"
    assert (await restarted.get_user("alice")) == (await layer.get_user("alice"))


async def test_each_user_lists_only_their_own_threads_newest_first(tmp_path: Path) -> None:
    layer = _open(tmp_path)
    alice = await _thread(layer, "alice", "a1", "first")
    await _thread(layer, "alice", "a2", "second one")
    bob = await _thread(layer, "bob", "b1", "bob's")
    page = await FileDataLayer(tmp_path).list_threads(Pagination(first=10), ThreadFilter(userId=alice))
    assert [t["id"] for t in page.data] == ["a2", "a1"] and not page.pageInfo.hasNextPage
    assert [t["id"] for t in (await layer.list_threads(Pagination(first=10), ThreadFilter(userId=bob))).data] == ["b1"]
    assert (await layer.list_threads(Pagination(first=10), ThreadFilter(userId=None))).data == []


async def test_thread_list_pages_and_searches(tmp_path: Path) -> None:
    layer = _open(tmp_path)
    alice = ""
    for i in range(5):
        alice = await _thread(layer, "alice", f"t{i}", "x" * (i + 1))
    first = await layer.list_threads(Pagination(first=2), ThreadFilter(userId=alice))
    second = await layer.list_threads(Pagination(first=2, cursor=first.pageInfo.endCursor), ThreadFilter(userId=alice))
    assert first.pageInfo.hasNextPage and len(first.data) == len(second.data) == 2
    assert not {t["id"] for t in first.data} & {t["id"] for t in second.data}
    found = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice, search="xxxxx"))
    assert [t["id"] for t in found.data] == ["t4"]


async def test_feedback_and_deletion(tmp_path: Path) -> None:
    layer = _open(tmp_path)
    alice = await _thread(layer, "alice", "t1", "n")
    feedback_id = await layer.upsert_feedback(Feedback(forId="t1-1", value=1, comment="good"))
    liked = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice, feedback=1))
    assert [t["id"] for t in liked.data] == ["t1"]
    assert await layer.delete_feedback(feedback_id)
    pending = [asyncio.create_task(layer.update_step(_step("t1", "t1-1", "2025-01-01T00:00:01", f"w{i}")))
               for i in range(3)]
    await asyncio.sleep(0)
    await layer.close()  # at shutdown: Chainlit ends the process right after
    assert (await FileDataLayer(tmp_path).get_thread("t1"))["steps"][0]["output"] == "w2"  # type: ignore[index]
    await asyncio.gather(*pending)
    await layer.delete_thread("t1")
    assert await FileDataLayer(tmp_path).get_thread("t1") is None
    assert (await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice))).data == []


async def test_writes_leave_the_event_loop_free_and_land_in_the_order_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = _open(tmp_path)
    await _thread(layer, "alice", "t1", "n")

    def slow_write(path: Path, text: str) -> None:  # a slow disk: each write takes 50 ms
        time.sleep(0.05)
        write_atomic(path, text)

    monkeypatch.setattr(chat_history, "write_atomic", slow_write)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    beat = asyncio.create_task(ticker())
    await asyncio.gather(*(layer.update_step(_step("t1", "t1-1", "2025-01-01T00:00:01", f"v{i}")) for i in range(5)))
    beat.cancel()
    assert ticks > 50, f"the event loop served other work while the files were written ({ticks} ticks in 250 ms)"
    thread = await FileDataLayer(tmp_path).get_thread("t1")
    assert thread is not None and thread["steps"][0]["output"] == "v4", "the last update is the one on disk"
    pending = [asyncio.create_task(layer.update_step(_step("t1", "t1-1", "2025-01-01T00:00:01", f"w{i}")))
               for i in range(3)]
    await asyncio.sleep(0)
    await layer.close()  # at shutdown: Chainlit ends the process right after
    assert (await FileDataLayer(tmp_path).get_thread("t1"))["steps"][0]["output"] == "w2"  # type: ignore[index]
    await asyncio.gather(*pending)
    await layer.delete_thread("t1")
    assert await FileDataLayer(tmp_path).get_thread("t1") is None
