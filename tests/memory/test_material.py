"""The material index ranks a material set's passages by meaning, with the shipped embedder, per material set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.embeddings import HashEmbedder
from memory.material import MaterialIndex, collection_name
from memory.minilm_onnx import OnnxMiniLMEmbedder
from memory.store import SampleStore

PASSAGES = [
    ("doc:c1", "The lighthouse keeper climbed the tower every evening to light the lamp for passing ships.",
     {"anchor": "page 1"}),
    ("doc:c2", "Granite from the quarry was cut into blocks and carried to the railway station by horse carts.",
     {"anchor": "page 2"}),
    ("doc:c3", "The town council approved a budget for a new bridge after the river flooded the lower streets.",
     {"anchor": "page 3"}),
    ("doc:c4", "Children at the village school learned arithmetic and reading from a single teacher.",
     {"anchor": "page 4", "note": None}),
]


@pytest.fixture
def index(tmp_path: Path, int8: OnnxMiniLMEmbedder) -> Iterator[MaterialIndex]:
    with MaterialIndex(tmp_path / "chroma", int8, "thread-1/material") as opened:
        opened.add(PASSAGES)
        yield opened


@pytest.mark.parametrize(("query", "best"), [
    ("Who kept the lamp burning for sailors?", "doc:c1"),
    ("stone blocks transported by rail", "doc:c2"),
    ("flood damage and money for a crossing", "doc:c3"),
    ("education of the children", "doc:c4"),
])
def test_passages_are_ranked_by_meaning_with_the_shipped_embedder(index: MaterialIndex, query: str, best: str) -> None:
    ranked = index.rank(query, k=4)
    assert ranked[0][0] == best, ranked
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_ranking_can_be_limited_to_some_units(index: MaterialIndex) -> None:
    ranked = index.rank("Who kept the lamp burning for sailors?", k=5, ids=["doc:c3", "doc:c4"])
    assert {unit for unit, _ in ranked} == {"doc:c3", "doc:c4"}
    assert index.rank("anything", k=3, ids=[]) == [] and index.rank("anything", k=0) == []


def test_adding_the_same_units_again_embeds_nothing(index: MaterialIndex) -> None:
    assert index.add(PASSAGES) == 0
    assert index.add([*PASSAGES, ("doc:c5", "A new passage about cargo ships.", {})]) == 1
    assert index.count() == 5


def test_material_sets_have_separate_collections_and_drop_removes_one(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    with SampleStore(tmp_path / "chroma", embedder=embedder) as store:
        first = MaterialIndex(store, embedder, "folder-a")
        second = MaterialIndex(store, embedder, "folder-b")
        first.add(PASSAGES)
        assert (first.count(), second.count()) == (4, 0)
        first.drop()
        assert MaterialIndex(store, embedder, "folder-a").count() == 0
        store.add("s1", "a sample", build_id="b", subtask_id="t")
        assert store.count() == 1, "the samples memory is untouched and still open"


def test_collection_names_follow_chromas_rules() -> None:
    name = collection_name("/data/threads/42/material", "all-MiniLM-L6-v2-int8")
    assert name.startswith("material-") and name.endswith("-all-MiniLM-L6-v2-int8")
    assert collection_name("a", "hash-256") != collection_name("b", "hash-256")
