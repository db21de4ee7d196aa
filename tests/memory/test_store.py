"""SampleStore against the real packaged all-MiniLM-L6-v2 model and a local Chroma directory."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memory.embeddings import _LRU, ChromaEmbedding, HashEmbedder, MiniLMEmbedder
from memory.store import Match, SampleStore

# Set before sentence-transformers is first imported (MiniLMEmbedder imports it when it loads the model).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The settings default; measured MiniLM similarities for these pairs are in the comments below.
THRESHOLD = 0.9

text = SampleStore.sample_text


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])  # load the model once for the whole module
    return embedder


def find_duplicate(store: SampleStore, text: str, *, threshold: float, build_id: str | None = None) -> Match | None:
    """The nearest stored item when it is at least `threshold` similar: how the memory's candidates are found."""
    best = store.nearest(text, k=1, build_id=build_id)
    return best[0] if best and best[0].similarity >= threshold else None


@pytest.fixture
def store(tmp_path: Path, minilm: MiniLMEmbedder) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=minilm) as opened:
        yield opened


def test_paraphrase_with_same_answer_is_a_duplicate(store: SampleStore) -> None:
    store.add("s1", text("What is the capital city of France?", None, "Paris"), build_id="b1", subtask_id="t1")
    # Measured similarity ~0.98.
    match = find_duplicate(store, text("Which city is France's capital?", None, "Paris"), threshold=THRESHOLD)
    assert match is not None
    assert match.id == "s1"
    assert match.build_id == "b1"
    assert match.metadata["subtask_id"] == "t1"
    assert match.similarity >= THRESHOLD


def test_same_topic_different_question_is_kept(store: SampleStore) -> None:
    store.add("s1", text("What is the capital of France?", None, "Paris"), build_id="b1", subtask_id="t1")
    # Measured similarity ~0.65.
    candidate = text("What river flows through Paris?", None, "The Seine")
    assert find_duplicate(store, candidate, threshold=THRESHOLD) is None
    assert store.nearest(candidate, k=1)[0].similarity < THRESHOLD


def test_same_wording_different_answer_is_not_a_duplicate(store: SampleStore) -> None:
    store.add(
        "s1", text("What is the largest planet in the solar system?", None, "Jupiter"), build_id="b1", subtask_id="t1"
    )
    # Measured similarity ~0.70.
    candidate = text("What is the smallest planet in the solar system?", None, "Mercury")
    assert find_duplicate(store, candidate, threshold=THRESHOLD) is None


def test_store_survives_reopening(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    path = tmp_path / "chroma"
    sample = text("Who painted the Mona Lisa?", None, "Leonardo da Vinci")
    with SampleStore(path, embedder=minilm) as first:
        first.add("s1", sample, build_id="b1", subtask_id="t1", metadata={"difficulty": "easy"})

    with SampleStore(path, embedder=minilm) as reopened:
        assert reopened.count() == 1
        match = find_duplicate(reopened, 
            text("The Mona Lisa was painted by whom?", None, "Leonardo da Vinci"), threshold=THRESHOLD
        )
        assert match is not None
        assert (match.id, match.text, match.metadata["difficulty"]) == ("s1", sample, "easy")


def test_build_filter_only_searches_that_build(store: SampleStore) -> None:
    sample = text("What is the chemical symbol for gold?", None, "Au")
    store.add("b1-s1", sample, build_id="b1", subtask_id="t1")
    store.add("b2-s1", text("How many legs does a spider have?", None, "8"), build_id="b2", subtask_id="t1")

    assert find_duplicate(store, sample, threshold=THRESHOLD, build_id="b2") is None
    assert [m.id for m in store.nearest(sample, k=5, build_id="b2")] == ["b2-s1"]
    in_b1 = find_duplicate(store, sample, threshold=THRESHOLD, build_id="b1")
    everywhere = find_duplicate(store, sample, threshold=THRESHOLD)
    assert in_b1 is not None and everywhere is not None
    assert in_b1.id == everywhere.id == "b1-s1"
    assert in_b1.similarity == pytest.approx(1.0, abs=1e-4)
    assert (store.count(), store.count("b1"), store.count("b2")) == (2, 1, 1)

    store.remove_build("b1")
    assert (store.count(), store.count("b1")) == (1, 0)
    assert find_duplicate(store, sample, threshold=THRESHOLD) is None


def test_empty_store_has_no_duplicates(store: SampleStore) -> None:
    probe = text("What is the capital of France?", None, "Paris")
    assert store.count() == 0
    assert store.nearest(probe) == []
    assert store.nearest(probe, build_id="b1") == []
    assert find_duplicate(store, probe, threshold=0.0) is None


def test_same_text_is_embedded_once(
    store: SampleStore, minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[str] = []
    encode = minilm.model.encode

    def counting_encode(inputs: list[str], **kwargs: Any) -> Any:
        encoded.extend(inputs)
        return encode(inputs, **kwargs)

    monkeypatch.setattr(minilm.model, "encode", counting_encode)
    sample = text("Which element has atomic number 79?", None, "Gold")
    store.add("s1", sample, build_id="b1", subtask_id="t1")
    store.add("s1", sample, build_id="b1", subtask_id="t1")  # upsert: still one item
    store.add("s2", sample, build_id="b2", subtask_id="t1")
    assert find_duplicate(store, sample, threshold=THRESHOLD) is not None
    minilm.embed([sample, sample])

    assert encoded == [sample]
    assert store.count() == 2


def test_upsert_replaces_text_and_metadata(store: SampleStore) -> None:
    store.add("s1", text("What is 2 + 2?", None, "4"), build_id="b1", subtask_id="t1", metadata={"v": 1})
    store.add("s1", text("What is 3 + 3?", None, "6"), build_id="b1", subtask_id="t2", metadata={"v": 2})
    [match] = store.nearest(text("What is 3 + 3?", None, "6"))
    assert (match.metadata["v"], match.metadata["subtask_id"]) == (2, "t2")
    assert match.text.startswith("Question: What is 3 + 3?")


def test_sample_text_keeps_question_and_answer_before_context() -> None:
    joined = SampleStore.sample_text(" Q? ", "A long passage.", " A ", ["x", "y"])
    assert joined == "Question: Q?\nChoices: x | y\nAnswer: A\nContext: A long passage."
    assert SampleStore.sample_text("Q?", None, "A") == "Question: Q?\nAnswer: A"


def test_chroma_rebuilds_the_live_embedding_function() -> None:
    function = ChromaEmbedding(HashEmbedder(dims=32))
    assert not function.is_legacy()
    assert ChromaEmbedding.build_from_config(function.get_config()) is function


def test_opening_with_another_embedder_is_refused(tmp_path: Path) -> None:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder(dims=64)) as first:
        first.add("s1", "some text", build_id="b1", subtask_id="t1")
    with pytest.raises(ValueError, match="hash-64"):
        SampleStore(tmp_path / "chroma", embedder=HashEmbedder(dims=128))


def test_embedding_cache_is_bounded() -> None:
    cache = _LRU(max_entries=2)
    cache.put("a", (1.0,))
    cache.put("b", (2.0,))
    assert cache.get("a") == (1.0,)  # "a" is now the most recent
    cache.put("c", (3.0,))
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == ((1.0,), None, (3.0,), 2)


def test_store_raises_no_chroma_warnings(tmp_path: Path) -> None:
    # pyproject ignores DeprecationWarning, which is how Chroma flags a legacy embedding function.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
            store.add("s1", "some text", build_id="b1", subtask_id="t1")
            store.nearest("some text")
        with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as reopened:
            find_duplicate(reopened, "some text", threshold=0.5)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
