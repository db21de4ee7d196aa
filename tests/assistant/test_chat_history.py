"""The chat history on the database (Chainlit's SQLAlchemy layer): threads survive a restart and each user sees
only their own."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
from sqlalchemy import text  # noqa: E402

from assistant.chat_history import HistoryLayer  # noqa: E402
from assistant.database import SCHEMA_VERSION, database_url  # noqa: E402
from assistant.session import ThreadState  # noqa: E402
from memory.files import write_atomic, write_json  # noqa: E402
from tests.assistant.threads import open_database, thread_store  # noqa: E402
from tools.errors import BenchmarkAgentError  # noqa: E402


def _layer(directory: Path) -> HistoryLayer:
    """The layer on the data dir's database, with a new engine (as a restarted server opens it)."""
    return HistoryLayer(open_database(directory), directory / "history-files")


def _open(directory: Path) -> HistoryLayer:
    """The layer, inside a Chainlit context (call it in the test: the context needs the running loop). Outside a
    websocket session the layer writes at once, without waiting for a first user message."""
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id="t")
    context_var.set(ChainlitContext(session, emitter=BaseChainlitEmitter(session)))
    return _layer(directory)


def _step(thread_id: str, step_id: str, created: str, text: str = "hi") -> dict:  # type: ignore[type-arg]
    return {"id": step_id, "threadId": thread_id, "type": "assistant_message", "output": text, "createdAt": created,
            "name": "Assistant"}


async def _thread(layer: HistoryLayer, user: str, thread_id: str, name: str) -> str:
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

    restarted = _layer(tmp_path)
    thread = await restarted.get_thread("t1")
    assert thread is not None and thread["userIdentifier"] == "alice" and thread["name"] == "geometry benchmark"
    assert [(s["id"], s["output"]) for s in thread["steps"]] == [("t1-1", "hi"), ("card", "card v2")]
    assert await restarted.get_thread_author("t1") == "alice"
    assert (await restarted.get_user("alice")) == (await layer.get_user("alice"))


async def test_each_user_lists_only_their_own_threads_most_recently_active_first(tmp_path: Path) -> None:
    layer = _open(tmp_path)
    alice = await _thread(layer, "alice", "a1", "first")
    await _thread(layer, "alice", "a2", "second")
    bob = await _thread(layer, "bob", "b1", "bob's")
    page = await _layer(tmp_path).list_threads(Pagination(first=10), ThreadFilter(userId=alice))
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
    assert (await _layer(tmp_path).get_thread("t1"))["steps"][0]["output"] == "w2"  # type: ignore[index]
    await asyncio.gather(*pending)
    await layer.delete_thread("t1")
    assert await _layer(tmp_path).get_thread("t1") is None
    assert (await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice))).data == []


async def test_writes_leave_the_event_loop_free_and_land_in_the_order_asked(tmp_path: Path) -> None:
    layer = _open(tmp_path)
    await _thread(layer, "alice", "t1", "n")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(layer.update_step(_step("t1", "t1-1", "2025-01-01T00:00:01", f"v{i}")) for i in range(40)))
    took = time.perf_counter() - started
    beat.cancel()
    assert ticks > 40, f"the event loop served other work while the database wrote ({ticks} ticks in {took:.2f} s)"
    thread = await _layer(tmp_path).get_thread("t1")
    assert thread is not None and thread["steps"][0]["output"] == "v39", "the last update is the one stored"


async def test_a_second_server_on_the_same_database_sees_every_write_at_once(tmp_path: Path) -> None:
    layer, other = _open(tmp_path), _layer(tmp_path)
    await _thread(layer, "alice", "t1", "n")
    for i in range(5):
        await layer.update_step(_step("t1", "t1-1", "2025-01-01T00:00:01", f"v{i}"))
        assert (await other.get_thread("t1"))["steps"][0]["output"] == f"v{i}"  # type: ignore[index]


async def test_the_database_is_created_with_its_schema_version_and_opened_again_unchanged(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    assert await database.schema_version() == SCHEMA_VERSION
    tables = {r["name"] for r in await database.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "threads", "steps", "elements", "feedbacks", "thread_states", "build_leases"} <= tables
    journal = await database.rows("PRAGMA journal_mode")
    assert journal[0]["journal_mode"] == "wal"
    assert await open_database(tmp_path).schema_version() == SCHEMA_VERSION


async def test_a_database_newer_than_this_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    async with database.write() as connection:
        await connection.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(BenchmarkAgentError, match="newer than this release"):
        await open_database(tmp_path).migrate()


@pytest.mark.parametrize(("url", "expected"), [
    (None, "sqlite+aiosqlite:///"), ("postgresql://u:p@db:5432/lab", "postgresql+asyncpg://u:p@db:5432/lab"),
    ("postgres://u@db/lab", "postgresql+asyncpg://u@db/lab"), ("sqlite:////srv/h.db", "sqlite+aiosqlite:////srv/h.db")])
def test_the_database_url_gets_its_async_driver(tmp_path: Path, url: str | None, expected: str) -> None:
    assert database_url(url, tmp_path).startswith(expected)


@pytest.mark.parametrize("url", ["mysql://u@db/lab", "not a url"])
def test_a_database_url_this_app_cannot_use_is_refused_with_an_example(tmp_path: Path, url: str) -> None:
    with pytest.raises(BenchmarkAgentError, match="postgresql"):
        database_url(url, tmp_path)


async def test_the_json_files_of_an_earlier_release_are_imported_once(tmp_path: Path) -> None:
    user = {"id": "u-1", "createdAt": "2025-01-01T00:00:00", "identifier": "alice", "display_name": None,
            "metadata": {}}
    thread = {"id": "t-old", "createdAt": "2025-01-01T00:00:00", "name": "geometry", "userId": "u-1",
              "userIdentifier": "alice", "tags": None, "metadata": {},
              "steps": [{**_step("t-old", "s-1", "2025-01-01T00:00:01", "the old card"), "streaming": False,
                         "feedback": {"id": "f-1", "forId": "s-1", "value": 1, "comment": None}}], "elements": []}
    state = ThreadState(thread_id="t-old", owner="alice", phase="planned", last_message="make them hard")
    write_json(tmp_path / "chat" / "users" / "a.json", user)
    write_json(tmp_path / "chat" / "threads" / "b.json", thread)
    (tmp_path / "chat" / "threads" / "c.json").write_text("{not json")
    write_atomic(tmp_path / "threads" / "users" / "x" / "d.json", state.model_dump_json())
    layer = _open(tmp_path)
    imported = await layer.get_thread("t-old")
    assert imported is not None and imported["userIdentifier"] == "alice" and imported["name"] == "geometry"
    assert [(s["output"], s["feedback"]["value"]) for s in imported["steps"]] == [("the old card", 1)]  # type: ignore[index]
    assert (await thread_store(tmp_path, layer.database).load("t-old", "alice")).last_message == "make them hard"
    [summary] = await layer.database.rows("SELECT summary FROM imports")
    assert summary["summary"] == "1 users, 1 threads, 1 thread states imported; 1 unreadable files skipped"
    await layer.delete_thread("t-old")
    assert await _layer(tmp_path).get_thread("t-old") is None, "imported once: a deleted thread stays deleted"


async def test_a_damaged_state_is_kept_aside_and_said(tmp_path: Path) -> None:
    threads = thread_store(tmp_path)
    await threads.save(ThreadState(thread_id="t1", owner="alice", phase="planned"))
    async with threads.database.write() as connection:
        await connection.execute(text("UPDATE thread_states SET state = '{\"phase\": 7}'"))
    state = await threads.load("t1", "alice")
    assert state.phase == "gathering" and "kept aside in the database (table damaged_thread_states)" in state.notices[0]
    [kept] = await threads.database.rows("SELECT state FROM damaged_thread_states")
    assert kept["state"] == '{"phase": 7}'
    assert not (await threads.load("t1", "alice")).notices, "said once"


@pytest.mark.parametrize("thread_id", ["x') OR 1=1 --", "a/b", "", "t" * 201])
async def test_a_thread_id_the_history_cannot_hold_safely_gets_no_row(tmp_path: Path, thread_id: str) -> None:
    layer = _open(tmp_path)
    alice = await _thread(layer, "alice", "t1", "mine")
    await layer.update_thread(thread_id, name="crafted", user_id=alice)
    await layer.create_step(_step(thread_id, "s-crafted", "2025-01-01T00:00:09"))
    await thread_store(tmp_path, layer.database).save(ThreadState(thread_id=thread_id, owner="alice"))
    assert [r["id"] for r in await layer.database.rows('SELECT "id" FROM threads')] == ["t1"]
    listed = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice))
    assert [t["id"] for t in listed.data] == ["t1"]


def test_servers_starting_together_on_one_sqlite_file_migrate_it_once(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:  # an event loop each, as processes or threads would
        versions = list(pool.map(lambda _: asyncio.run(open_database(tmp_path).schema_version()), range(4)))
    assert versions == [SCHEMA_VERSION] * 4
    rows = asyncio.run(open_database(tmp_path).rows("SELECT version FROM schema_version"))
    assert {r["version"] for r in rows} == set(range(1, SCHEMA_VERSION + 1))
