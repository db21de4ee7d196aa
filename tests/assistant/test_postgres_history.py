"""The chat history, thread states and build leases on a real PostgreSQL (scripts/throwaway-postgres), shared by two
server processes' worth of engines: what one writes, the other reads at once."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator

if "CHAINLIT_APP_ROOT" not in os.environ:  # importing chainlit writes .chainlit/ and .files/ under its app root
    os.environ["CHAINLIT_APP_ROOT"] = tempfile.mkdtemp(prefix="chainlit-app-root-")
    atexit.register(shutil.rmtree, os.environ["CHAINLIT_APP_ROOT"], ignore_errors=True)

import pytest  # noqa: E402
from chainlit.context import ChainlitContext, context_var  # noqa: E402
from chainlit.emitter import BaseChainlitEmitter  # noqa: E402
from chainlit.session import HTTPSession  # noqa: E402
from chainlit.types import Feedback, Pagination, ThreadFilter  # noqa: E402
from chainlit.user import User  # noqa: E402

from assistant.chat_history import HistoryLayer  # noqa: E402
from assistant.database import SCHEMA_VERSION, Database, database_url  # noqa: E402
from assistant.leases import BuildLeases  # noqa: E402
from assistant.session import ThreadState, ThreadStore  # noqa: E402
from tests.postgres import throwaway_postgres  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


def _as(user: str | None) -> None:
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id="t",
                          user=User(identifier=user) if user else None)
    context_var.set(ChainlitContext(session, emitter=BaseChainlitEmitter(session)))


async def test_two_servers_on_one_postgresql_share_threads_states_and_leases(postgres: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = database_url(postgres, tmp_path)
    assert url.startswith("postgresql+asyncpg://")
    one, two = Database(url), Database(url)
    assert await one.schema_version() == SCHEMA_VERSION and await two.schema_version() == SCHEMA_VERSION
    first, second = HistoryLayer(one, tmp_path / "files"), HistoryLayer(two, tmp_path / "files")
    _as(None)
    alice = await first.create_user(User(identifier="alice"))
    assert alice is not None and (await second.get_user("alice")) is not None
    await first.update_thread("t1", name="geometry", user_id=alice.id)
    _as("alice")
    await first.create_step({"id": "s1", "threadId": "t1", "type": "assistant_message", "output": "card v1",
                             "createdAt": "2025-01-01T00:00:01", "name": "Assistant", "streaming": False,
                             "metadata": {}, "tags": ["x"]})
    await first.update_step({"id": "s1", "threadId": "t1", "type": "assistant_message", "output": "card v2",
                             "name": "Assistant"})
    thread = await second.get_thread("t1")
    assert thread is not None and thread["userIdentifier"] == "alice"
    assert [s["output"] for s in thread["steps"]] == ["card v2"]
    listed = await second.list_threads(Pagination(first=10), ThreadFilter(userId=alice.id))
    assert [t["id"] for t in listed.data] == ["t1"]
    await second.upsert_feedback(Feedback(forId="s1", value=1))
    _as("bob")
    with pytest.raises(PermissionError):
        await second.upsert_feedback(Feedback(forId="s1", value=0))
    await second.update_step({"id": "s1", "threadId": "t1", "type": "assistant_message", "output": "bob's",
                              "name": "Assistant"})
    assert (await first.get_thread("t1"))["steps"][0]["output"] == "card v2"  # type: ignore[index]

    states_one, states_two = ThreadStore(tmp_path / "threads", one), ThreadStore(tmp_path / "threads", two)
    state = ThreadState(thread_id="t1", owner="alice", phase="planned", last_message="make them hard")
    await states_one.save(state)
    assert (await states_two.load("t1", "alice")).last_message == "make them hard"
    assert (await states_two.load("t1", "bob")).phase == "gathering"

    lease_one, lease_two = BuildLeases(one, host="replica-1"), BuildLeases(two, host="replica-2")
    assert await lease_one.take("t1", "alice") is None
    assert await lease_two.take("t1", "alice") == f"replica-1 (process {lease_one.pid})"
    await lease_one.release("t1")
    assert await lease_two.take("t1", "alice") is None
    await lease_two.release("t1")

    _as("alice")
    await second.delete_thread("t1")
    assert await first.get_thread("t1") is None and (await states_one.load("t1", "alice")).phase == "gathering"
    await one.close()
    await two.close()
