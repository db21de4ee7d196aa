"""Two builds at once against one memory scope, on a fake endpoint that proposes the same items to both: the
check against memory and the storing of what is accepted are one step, so they never both accept an item."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.deps import build_options
from assistant.model_registry import stage_models
from assistant.settings import Settings
from memory.dedup import Deduplicator
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.fake_llm import FakeLLMServer
from tools.contracts import BenchmarkSpec, Sample, Subtask, SubtaskPlan
from tools.engine.build import run_build
from tools.engine.ledger import dedup_item

SPEC = BenchmarkSpec(goal="arithmetic word problems", capability="multi-step arithmetic", domain="arithmetic word problems",
                     answer_format="multiple_choice", size=8)
PLAN = SubtaskPlan(subtasks=[Subtask(id="add-sub", name="Multi-step addition and subtraction", description="d",
                                     answer_format="multiple_choice", quota=8)])


@pytest.fixture(autouse=True)
def _allow_local_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # only 127.0.0.1 is reached


MEETING_S = 10.0


@pytest.fixture
def met(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The first two checks against memory wait for each other (up to MEETING_S): two builds that may check at the
    same time do so together, while a build held off by the other's lock lets the first one go on after the wait.
    The list says whether they met (one entry)."""
    count, meeting, waits, result = SampleStore.count, threading.Barrier(2, timeout=MEETING_S), [2], [False]

    def wait_then_count(self: SampleStore, build_id: str | None = None, *, at_most: int | None = None) -> int:
        if build_id is None and at_most == 1 and waits[0] > 0:  # Deduplicator.against asks this first
            waits[0] -= 1
            try:
                meeting.wait()
                result[0] = True
            except threading.BrokenBarrierError:
                pass
        return count(self, build_id, at_most=at_most)

    monkeypatch.setattr(SampleStore, "count", wait_then_count)
    return result


@pytest.fixture
def slow_store(tmp_path: Path, met: list[bool]) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder(dims=1024)) as opened:
        yield opened


def _settings(server: FakeLLMServer) -> Settings:
    return Settings(model="openai:fake-model", openai_base_url=server.base_url, openai_api_key="test",  # type: ignore[call-arg]
                    data_dir=Path("data"), request_timeout_s=5.0, concurrency=4, dedup_threshold=0.97, qc=False,
                    design_briefs=False, batch_size=4, max_rounds_per_sample=3)


async def _two_builds(tmp_path: Path, store: SampleStore, other: SampleStore) -> tuple[list[Sample], list[Sample]]:
    # One server that answers the same request the same way: both builds are proposed the same items.
    with FakeLLMServer(port=0, seed=11, deterministic=True) as server:
        settings = _settings(server)
        first, second = await asyncio.gather(*(
            run_build(SPEC, PLAN, build_id=name, models=stage_models(settings), store=memory, directory=tmp_path / name,
                      options=build_options(settings))
            for name, memory in (("b1", store), ("b2", other))))
    return first[0], second[0]


async def _shared(a: list[Sample], b: list[Sample], embedder: HashEmbedder) -> list[tuple[str, str]]:
    """The pairs (one sample of each build) that the memory's de-duplication calls duplicates."""
    items = [dedup_item(s) for s in a] + [replace(dedup_item(s), id=f"2:{s.id}") for s in b]
    first = {s.id for s in a}
    found = await Deduplicator(embedder, threshold=0.97).within(items)
    return [(d.a, d.b) for d in found if d.a in first and d.b.startswith("2:")]


async def test_two_builds_of_one_user_at_once_never_both_accept_the_same_item(
        tmp_path: Path, slow_store: SampleStore, met: list[bool]) -> None:
    a, b = await _two_builds(tmp_path, slow_store, slow_store.scoped(slow_store.owner))
    assert a and b, "both builds accepted samples"
    assert met == [False], "the second build could not check while the first held the lock"
    assert await _shared(a, b, HashEmbedder(dims=1024)) == []


async def test_without_the_scope_lock_the_same_two_builds_do_accept_the_same_items(
        tmp_path: Path, slow_store: SampleStore, met: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: what the lock prevents does happen without it, so the test above can fail.
    @contextlib.asynccontextmanager
    async def no_lock() -> AsyncIterator[None]:
        yield

    monkeypatch.setattr(SampleStore, "accepting", lambda self: no_lock())
    a, b = await _two_builds(tmp_path, slow_store, slow_store.scoped(slow_store.owner))
    assert met == [True], "both builds checked the memory at once"
    assert await _shared(a, b, HashEmbedder(dims=1024)) != []


async def test_two_users_builds_do_not_share_memory_so_each_may_keep_the_same_items(
        tmp_path: Path, slow_store: SampleStore, met: list[bool]) -> None:
    # Unpublished memory is per user: the second user's build does not see (or wait for) the first one's items.
    a, b = await _two_builds(tmp_path, slow_store, slow_store.scoped("another-user"))
    assert len(a) == len(b) == 8 and met == [True], "neither waited for the other"
    assert len(await _shared(a, b, HashEmbedder(dims=1024))) >= 4, "both kept the first batch proposed to both"
    assert slow_store.count("b1") == 8 and slow_store.scoped("another-user").count("b1") == 0
