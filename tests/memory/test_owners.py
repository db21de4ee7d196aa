"""Memory per user: each entry has an owner; a user sees their own entries and the published ones, nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from memory.catalog import PriorCatalog
from memory.dedup import DedupItem, Deduplicator
from memory.embeddings import ChromaEmbedding, HashEmbedder
from memory.owners import LOCAL_USER
from memory.store import SampleStore
from tools.sharing import NotYourBuild, UnknownBuild, is_published, share

EMBEDDER = HashEmbedder(dims=512)
CAPITAL = DedupItem(id="s1", question="What is the capital city of France?", answer="Paris")
REWORDED = DedupItem(id="n1", question="What is the capital city of France?", answer="Paris.")


@pytest.fixture
def alice(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=EMBEDDER, owner="alice") as opened:
        yield opened


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[PriorCatalog]:
    with PriorCatalog(tmp_path / "chroma", embedder=EMBEDDER, owner="alice", collection="catalog") as opened:
        yield opened


def _remember(store: SampleStore, item: DedupItem, build_id: str) -> None:
    Deduplicator(EMBEDDER).remember(item, store, build_id=build_id, subtask_id="t")


async def test_another_users_unpublished_items_are_invisible_to_counts_queries_and_dedup(alice: SampleStore) -> None:
    _remember(alice, CAPITAL, "a-build")
    bob = alice.scoped("bob")
    dedup = Deduplicator(EMBEDDER)
    assert alice.count() == 1 and await dedup.check(REWORDED, alice) is not None
    assert bob.count() == 0 and bob.count("a-build") == 0 and bob.build_ids("a-build") == set()
    assert bob.nearest(CAPITAL.as_text()) == [] and await dedup.check(REWORDED, bob) is None
    vector = dedup.vectors([CAPITAL])
    assert bob.query_vectors(vector) == [[]] and bob.with_metadata("bucket", [CAPITAL.features.bucket]) == []


async def test_published_items_take_part_in_everyones_dedup_until_unpublished(
        alice: SampleStore, catalog: PriorCatalog) -> None:
    _remember(alice, CAPITAL, "a-build")
    catalog.add_built(build_id="a-build", name="Capitals (geography)", measures="capital cities", format="short answer",
                      size=1)
    bob, bobs_catalog = alice.scoped("bob"), catalog.scoped("bob")
    dedup = Deduplicator(EMBEDDER)
    assert [m.benchmark.build_id for m in bobs_catalog.search("capital cities", k=50)].count("a-build") == 0
    assert bobs_catalog.built() == []

    shared = share(alice, catalog, "a-build", published=True)
    assert shared.items == 1 and shared.published and "Capitals (geography)" in shared.describe()
    assert is_published(alice, catalog, "a-build")
    found = await dedup.check(REWORDED, bob)
    assert found is not None and found.a == "s1" and found.build_id == "a-build"
    assert [b.build_id for b in bobs_catalog.built()] == ["a-build"]
    assert "a-build" in [m.benchmark.build_id for m in bobs_catalog.search("capital cities", k=50)]

    share(alice, catalog, "a-build", published=False)
    assert not is_published(alice, catalog, "a-build")
    assert await dedup.check(REWORDED, bob) is None and bobs_catalog.built() == []
    assert alice.count() == 1 and [b.build_id for b in catalog.built()] == ["a-build"], "the owner keeps seeing it"


def test_only_the_owner_publishes_and_an_unknown_build_is_named(alice: SampleStore, catalog: PriorCatalog) -> None:
    _remember(alice, CAPITAL, "a-build")
    with pytest.raises(NotYourBuild, match="belongs to another user: only the user who built it can publish it"):
        share(alice.scoped("bob"), catalog.scoped("bob"), "a-build", published=True)
    with pytest.raises(UnknownBuild, match="No benchmark nope is in memory"):
        share(alice, catalog, "nope", published=True)
    assert alice.published_count("a-build") == 0, "nothing was published by the refused attempt"


def test_two_users_samples_with_the_same_id_are_kept_apart(alice: SampleStore) -> None:
    bob = alice.scoped("bob", thread_id="t-bob")
    _remember(alice, CAPITAL, "a-build")
    _remember(bob, CAPITAL, "b-build")  # the same sample id (same subtask, question and answer)
    assert alice.build_ids("a-build") == {"s1"} and bob.build_ids("b-build") == {"s1"}
    assert alice.count() == 1 and bob.count() == 1
    [match] = bob.nearest(CAPITAL.as_text())
    assert match.id == "s1" and match.metadata["owner"] == "bob" and match.metadata["thread_id"] == "t-bob"
    bob.remove(["s1"])
    bob.remove_build("a-build")  # another owner's build: nothing of it goes
    assert alice.build_ids("a-build") == {"s1"} and bob.count() == 0


def test_entries_of_earlier_versions_are_claimed_by_the_local_identity_unpublished(tmp_path: Path) -> None:
    # Written as versions before owners wrote them: plain ids, no owner.
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False))
    old = client.get_or_create_collection("samples", embedding_function=ChromaEmbedding(EMBEDDER),  # type: ignore[arg-type]
                                          configuration={"hnsw": {"space": "cosine"}}, metadata={"embedder": EMBEDDER.name})
    vector = np.asarray(EMBEDDER.embed([CAPITAL.key_text])[0], dtype=np.float32)
    old.add(ids=["s1"], embeddings=[vector], documents=[CAPITAL.as_text()],
            metadatas=[{**CAPITAL.metadata(), "build_id": "old-build", "subtask_id": "t"}])
    client.close()

    with SampleStore(tmp_path / "chroma", embedder=EMBEDDER, owner="alice", legacy_owner=LOCAL_USER) as store:
        assert store.count() == 0, "a chat user does not see the installation's earlier memory"
        local = store.scoped(LOCAL_USER)
        assert local.count() == 1 and local.build_ids("old-build") == {"s1"}
        [match] = local.nearest(CAPITAL.as_text())
        assert match.id == "s1" and match.metadata["owner"] == LOCAL_USER and match.metadata["published"] is False
        # The local identity may publish it; then every user's de-duplication sees it.
        assert local.set_published("old-build", True) == 1 and store.count() == 1
    # Claimed once: reopening finds nothing left to claim and changes nothing.
    with SampleStore(tmp_path / "chroma", embedder=EMBEDDER, owner="bob", legacy_owner="someone-else") as again:
        assert again.count() == 1 and again.scoped("someone-else").build_ids("old-build") == set()


def test_built_benchmarks_of_earlier_versions_are_claimed_and_shipped_ones_stay_everyones(tmp_path: Path) -> None:
    with PriorCatalog(tmp_path / "chroma", embedder=EMBEDDER, collection="catalog") as first:
        shipped = first.count()
        first._collection.upsert(ids=["built:old"], documents=["Old: things. Format: short answer."],  # as before owners
                                 metadatas=[{"name": "Old", "measures": "things", "format": "short answer", "size": "3",
                                             "area": "built here", "source": "built", "aliases": "[]", "digest": "x",
                                             "build_id": "old"}])
        first._collection.modify(metadata={"embedder": EMBEDDER.name})  # an earlier version never marked it
    with PriorCatalog(tmp_path / "chroma", embedder=EMBEDDER, collection="catalog", owner="alice",
                      legacy_owner=LOCAL_USER) as catalog:
        assert catalog.count() == shipped and catalog.built() == [], "the shipped benchmarks are seen by everyone"
        [old] = catalog.scoped(LOCAL_USER).built()
        assert old.build_id == "old" and old.owner == LOCAL_USER and not old.published


def test_a_published_neighbour_is_found_behind_many_closer_unseen_ones(alice: SampleStore) -> None:
    # The unfiltered neighbours are all alice's (unseen by bob): bob's query falls back to the owner filter.
    dedup = Deduplicator(EMBEDDER)
    near = [DedupItem(id=f"a{n}", question=f"What is the capital city of France, {n}?", answer="Paris")
            for n in range(60)]
    dedup.remember_all(near, alice, build_id="a-build", subtask_id="t")
    carol = alice.scoped("carol")
    _remember(carol, DedupItem(id="c1", question="Capital of France: which city is it?", answer="Paris"), "c-build")
    carol.set_published("c-build", True)
    [mine], [bobs] = alice.query_vectors(dedup.vectors([CAPITAL]), k=10), alice.scoped("bob").query_vectors(
        dedup.vectors([CAPITAL]), k=10)
    assert len(mine) == 10 and all(m.metadata["owner"] == "alice" for m in mine)
    assert [m.id for m in bobs] == ["c1"]


def test_the_plans_overlap_notes_name_another_users_benchmark_only_once_it_is_published(
        catalog: PriorCatalog) -> None:
    from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
    from tools.stages.design import with_overlaps

    spec = BenchmarkSpec(goal="tide tables", capability="reading tide tables", domain="coastal navigation",
                         answer_format="numeric", size=4)
    plan = SubtaskPlan(subtasks=[Subtask(id="tides", name="Tide tables", description="High and low water times.",
                                         answer_format="numeric", quota=4)])
    catalog.add_built(build_id="a-build", name="Alice's tide tables",
                      measures="Tide tables: High and low water times. (reading tide tables; coastal navigation)",
                      format="numeric", size=4)
    assert [o.name for o in with_overlaps(plan, spec, catalog).subtasks[0].overlaps] == ["Alice's tide tables"]
    assert with_overlaps(plan, spec, catalog.scoped("bob")).subtasks[0].overlaps == []
    catalog.set_published("a-build", True)
    assert [o.name for o in with_overlaps(plan, spec, catalog.scoped("bob")).subtasks[0].overlaps] == \
        ["Alice's tide tables"]
