"""Build leases: replicas sharing a database never run one build twice, and a dead holder's lease is taken over."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from sqlalchemy import text

from assistant.build_slots import BuildSlots
from assistant.conversation import respond
from assistant.deps import AssistantDeps
from assistant.leases import BuildLeases, pid_alive
from assistant.session import ThreadState
from assistant.settings import Settings
from assistant.steps import recover_interrupted
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.assistant.threads import open_database, thread_store
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
from tools.llm.stage import StageModels


def _live_pid() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


async def test_a_build_held_by_a_live_replica_is_not_taken_and_says_where_it_runs(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    other, here = BuildLeases(database, host="replica-a"), BuildLeases(database, host="replica-b")
    assert await other.take("t1", "alice") is None
    assert await here.take("t1", "alice") == f"replica-a (process {other.pid})"
    assert await here.holder_elsewhere("t1") == f"replica-a (process {other.pid})"
    assert await other.holder_elsewhere("t1") is None, "its own build is not elsewhere"
    await other.release("t1")
    assert await here.take("t1", "alice") is None and await other.holder_elsewhere("t1") is not None
    await here.release("t1")


async def test_a_lease_without_a_heartbeat_for_the_timeout_is_taken_over(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    gone, here = BuildLeases(database, host="a", timeout_s=5), BuildLeases(database, host="b", timeout_s=5)
    assert await gone.take("t1", "alice") is None
    gone._beats.pop("t1").cancel()  # the holder hangs: no more heartbeats
    async with database.write() as connection:
        await connection.execute(text("UPDATE build_leases SET heartbeat_at = :t"), {"t": time.time() - 6})
    assert await here.holder_elsewhere("t1") is None
    assert await here.take("t1", "alice") is None
    assert (await database.rows("SELECT holder FROM build_leases"))[0]["holder"] == here.holder
    await here.release("t1")


async def test_the_heartbeat_keeps_a_long_build_its_lease(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    holder, other = BuildLeases(database, host="a", timeout_s=5), BuildLeases(database, host="b", timeout_s=5)
    assert await holder.take("t1", "alice") is None
    first = (await database.rows("SELECT heartbeat_at FROM build_leases"))[0]["heartbeat_at"]
    await asyncio.sleep(1.5)  # a beat every timeout / 4
    assert (await database.rows("SELECT heartbeat_at FROM build_leases"))[0]["heartbeat_at"] > first
    assert await other.take("t1", "alice") is not None
    await holder.release("t1")


async def test_a_restarted_server_takes_over_its_dead_instances_leases_at_once(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    child = _live_pid()
    dead = BuildLeases(database, host="this-host", pid=child.pid)
    assert await dead.take("t1", "alice") is None
    dead._beats.pop("t1").cancel()
    restarted = BuildLeases(database, host="this-host")
    assert await restarted.take("t1", "alice") is not None, "its process runs: the lease holds"
    child.kill()
    child.wait()
    assert not pid_alive(child.pid)
    assert await restarted.take("t1", "alice") is None, "the holder's process is gone: taken over at once"
    await restarted.release("t1")
    # In a container a restarted server often gets the very pid of the one that died: that holder is gone too.
    same_pid = BuildLeases(database, host="this-host")
    assert await same_pid.take("t2", "alice") is None
    same_pid._beats.pop("t2").cancel()
    assert await BuildLeases(database, host="this-host").take("t2", "alice") is None


async def test_a_thread_whose_build_runs_on_another_replica_is_not_marked_interrupted(tmp_path: Path) -> None:
    database = open_database(tmp_path)
    elsewhere, here = BuildLeases(database, host="replica-a"), BuildLeases(database, host="replica-b")
    assert await elsewhere.take("t1", "alice") is None
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        deps = AssistantDeps(settings=Settings(data_dir=tmp_path), models=None, store=store,  # type: ignore[arg-type]
                             state=ThreadState(thread_id="t1", owner="alice", phase="building"), leases=here)
        await recover_interrupted(deps)
        assert deps.state.phase == "building" and not deps.state.notices
        reply = await respond(deps, "go", None)  # type: ignore[arg-type]
        assert "running on another server process (replica-a" in reply.text and reply.view == "note"
        await elsewhere.release("t1")
        deps.build_elsewhere = None
        await recover_interrupted(deps)
        assert deps.state.phase == "planned" and any("interrupted" in n for n in deps.state.notices)


async def test_the_build_limits_count_the_builds_another_replica_runs(tmp_path: Path) -> None:
    def build(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if any(isinstance(p, ToolReturnPart) for p in messages[-1].parts):
            return ModelResponse(parts=[TextPart("Done.")])
        return ModelResponse(parts=[ToolCallPart(info.function_tools[0].name, {})])

    database = open_database(tmp_path)
    elsewhere, here = BuildLeases(database, host="replica-a"), BuildLeases(database, host="replica-b")
    assert await elsewhere.take("alice-other-thread", "alice") is None  # alice's build on the other replica
    spec = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=2)
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        def deps_for(owner: str, slots: BuildSlots) -> AssistantDeps:
            state = ThreadState(thread_id=f"{owner}-here", owner=owner, phase="planned")
            state.commit(SubtaskPlan(subtasks=[Subtask(id="a", name="A", description="d", answer_format="numeric",
                                                       quota=2)]), spec, "designed", [])
            return AssistantDeps(settings=Settings(data_dir=tmp_path / "data"), store=store, state=state, leases=here,
                                 models=StageModels(models={"chat": FunctionModel(build)}, names={"chat": "f:chat"}),
                                 active_builds=slots)

        alice = deps_for("alice", BuildSlots(per_user=1, total=8))  # this replica runs nothing of alice's
        reply = await respond(alice, "go", thread_store(tmp_path / "data"))
        assert "BENCHMARK_AGENT_MAX_BUILDS_PER_USER=1" in reply.text, reply.text
        assert alice.state.phase == "planned" and "alice-here" not in alice.active_builds
        assert await elsewhere.take("alice-here", "alice") is None, "the refused build left no lease behind"
        await elsewhere.release("alice-here")

        carol = deps_for("carol", BuildSlots(per_user=1, total=1))  # one build in all, and it runs on replica-a
        reply = await respond(carol, "go", thread_store(tmp_path / "data"))
        assert "BENCHMARK_AGENT_MAX_BUILDS=1" in reply.text, reply.text
    await elsewhere.release("alice-other-thread")
