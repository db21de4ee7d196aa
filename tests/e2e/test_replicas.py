"""Two chat servers on two ports sharing one PostgreSQL (scripts/throwaway-postgres) and one `chroma run` server, as
a lab runs replicas: a thread started on one opens on the other with its state, and a build runs once, on the server
that started it, while the other says it runs elsewhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import AppServer, chainlit_env, chainlit_server
from tests.e2e.test_two_users import USERS, _connect, _say, _signed_in, _until
from tests.fake_llm import FakeLLMServer
from tests.memory.test_chroma_server import CHROMA, _free_port, _start, _stop
from tests.postgres import throwaway_postgres

pytestmark = pytest.mark.slow

REQUEST = "8 multiple-choice arithmetic word problems"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, AppServer]]:
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} is missing: the chromadb package installs it")
    work = tmp_path_factory.mktemp("replicas")
    chroma_port = _free_port()
    with throwaway_postgres() as database, FakeLLMServer(port=0, seed=3, latency_ms=150) as llm:
        chroma = _start(work / "chroma", chroma_port)
        try:
            env = chainlit_env(work / "data", BENCHMARK_AGENT_MODEL="openai:fake-model", OPENAI_BASE_URL=llm.base_url,
                               OPENAI_API_KEY="test", BENCHMARK_AGENT_DATABASE_URL=database,
                               CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(chroma_port),
                               BENCHMARK_AGENT_AUTH_USERS=",".join(f"{u}:{p}" for u, p in USERS.items()))
            (work / "one").mkdir()
            (work / "two").mkdir()
            with chainlit_server(work / "one", env) as one, chainlit_server(work / "two", env) as two:
                yield one, two
        finally:
            _stop(chroma)


def _outputs(received: list[dict[str, str]]) -> list[str]:
    return [m.get("output") or "" for m in received]


async def test_a_thread_started_on_one_replica_opens_on_the_other_and_its_build_runs_once(
        replicas: tuple[AppServer, AppServer]) -> None:
    one, two = replicas
    assert one.url != two.url
    alice_one, alice_two, bob_two = _signed_in(one, "alice"), _signed_in(two, "alice"), _signed_in(two, "bob")
    thread_id = str(uuid.uuid4())
    sio, received = await _connect(one, alice_one, thread_id)
    try:
        await _say(sio, thread_id, REQUEST)
        await _until(lambda: any("**Spec**" in o for o in _outputs(received)))
        await _say(sio, thread_id, "go")
        await _until(lambda: any("**Plan**" in o for o in _outputs(received)))
        await _say(sio, thread_id, "go")
        await _until(lambda: any(o.startswith("Building.") for o in _outputs(received)))

        # The same user on the other replica, while the build runs on the first.
        opened = alice_two.get(f"/project/thread/{thread_id}")
        assert opened.status_code == 200 and any("**Plan**" in (s.get("output") or "") for s in opened.json()["steps"])
        assert bob_two.get(f"/project/thread/{thread_id}").status_code == 401, "another user gets nothing there"
        other, seen = await _connect(two, alice_two, thread_id)
        try:
            await _say(other, thread_id, "go")
            await _until(lambda: any("running on another server process" in o for o in _outputs(seen)))
        finally:
            await other.disconnect()
        await _until(lambda: any("**Build " in o for o in _outputs(received)), timeout_s=240)
    finally:
        await sio.disconnect()
    builds = sorted(Path(one.data_dir / "threads").rglob("builds/*/benchmark.jsonl"))
    assert len(builds) == 1, f"one build, run once: {builds}"
    # Chainlit stores a message's last update in a task of its own, so the other replica may see it a moment later.
    def finished_there() -> bool:
        thread = alice_two.get(f"/project/thread/{thread_id}").json()
        return (any("**Build " in (s.get("output") or "") for s in thread["steps"])
                and any((e.get("url") or "").endswith("/benchmark.jsonl") for e in thread.get("elements") or []))

    await _until(finished_there, timeout_s=30)  # the other replica sees it finished
    finished = alice_two.get(f"/project/thread/{thread_id}").json()
    # The finished build's files, by the URLs the thread gives its author: served by either replica to her, to bob by
    # neither (on the replica that built them, or the other).
    urls = [e["url"] for e in finished.get("elements") or [] if e.get("url")]
    assert any(url.endswith("/benchmark.jsonl") for url in urls), urls
    bob_one = _signed_in(one, "bob")
    for url in urls:
        assert alice_two.get(url).status_code == 200 and alice_one.get(url).status_code == 200, url
        assert bob_two.get(url).status_code in (401, 403, 404) and bob_one.get(url).status_code in (401, 403, 404), url
    for server in (one, two):
        log = server.log.read_text(errors="replace")
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
