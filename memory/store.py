"""The vector store of accepted samples, used to find near-duplicates within a build or across all builds."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import chromadb
import numpy as np
from chromadb.api.client import Client
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings

from memory.embeddings import ChromaEmbedding, Embedder
from memory.owners import ITEM, LOCAL_USER, OWNER, PUBLISHED, both, claim_unowned, ownership, scope_lock, visible_to

DEFAULT_HTTP_PORT = 8000
_QUERY_BATCH = 1000
_WIDEN = 4  # unfiltered neighbours asked per neighbour wanted (query_vectors)
_EXACT_UP_TO = 256  # a filtered query over at most this many visible items is answered exactly (query_vectors)
_EMBEDDER_KEY = "embedder"  # collection metadata: which embedder's vectors the collection holds


@dataclass(frozen=True)
class Match:
    id: str
    similarity: float
    build_id: str | None
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


class ClosesOnExit:
    """`with` support for the memory's Chroma-backed classes: leaving the block calls `close()`."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class SampleStore(ClosesOnExit):
    """Samples as vectors in one Chroma collection (cosine space), tagged with their build, subtask and owner.

    Local by default (a PersistentClient at `path`); with `host` set, a `chroma run` server over HTTP.
    A store acts for one `owner` (memory/owners.py): it reads that owner's entries and the published ones, and
    writes entries of that owner; `scoped` gives a view of the same collection for another user or thread.
    Entries are keyed by owner, so two users' samples with the same id never overwrite each other.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        embedder: Embedder,
        host: str | None = None,
        port: int | None = None,
        collection: str = "samples",
        owner: str = LOCAL_USER,
        legacy_owner: str | None = None,
    ) -> None:
        self._embedder = embedder
        self._client = make_client(path, host, port)
        self._owner, self._view = owner, False
        self._thread_id: str | None = None
        self._scope = (host, port) if host else str(path)
        try:
            self._collection = open_collection(self._client, collection, ChromaEmbedding(embedder))
            claim_unowned(self._collection, legacy_owner or owner)  # entries of versions before owners
        except BaseException:
            self._client.close()
            raise

    def scoped(self, owner: str, *, thread_id: str | None = None) -> SampleStore:
        """This store (same client and collection) acting for `owner`, writing entries tagged with `thread_id`."""
        view = copy.copy(self)
        view._owner, view._thread_id, view._view = owner, thread_id, True
        return view

    @property
    def owner(self) -> str:
        return self._owner

    def accepting(self) -> asyncio.Lock:
        """The lock of this owner's memory scope: hold it from checking items against memory until the accepted
        ones are stored, so that two builds sharing the scope never both accept near-duplicates of each other."""
        return scope_lock((self._scope, self._collection.name, self._owner))

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def client(self) -> Client:
        """The Chroma client, for other collections kept beside the samples (memory/material.py)."""
        return self._client

    # -- text ---------------------------------------------------------------------------------------

    @staticmethod
    def sample_text(
        question: str,
        context: str | None,
        answer: str,
        choices: Sequence[str] | None = None,
    ) -> str:
        """The text a sample is compared on.

        The answer is part of it, so the same wording with another answer is a different sample, while a
        paraphrase with the same answer is a duplicate. The context goes last: the model reads only the
        first 256 word pieces, so a long passage is what gets cut, never the question or answer.
        """
        parts = [f"Question: {question.strip()}"]
        if choices:
            parts.append("Choices: " + " | ".join(choice.strip() for choice in choices))
        parts.append(f"Answer: {answer.strip()}")
        if context and context.strip():
            parts.append(f"Context: {context.strip()}")
        return "\n".join(parts)

    # -- queries ------------------------------------------------------------------------------------

    def nearest(self, text: str, *, k: int = 5, build_id: str | None = None) -> list[Match]:
        """The up-to-`k` stored items most similar to `text`, best first (only `build_id`'s when given)."""
        available = self.count(build_id, at_most=k) if k > 0 else 0
        if available == 0:
            return []
        result = self._collection.query(
            query_texts=[text],
            n_results=min(k, available),
            where=self._visible(build_id),
            include=["documents", "metadatas", "distances"],
        )
        return _matches(result)

    def query_vectors(self, vectors: np.ndarray, *, k: int = 5, build_id: str | None = None) -> list[list[Match]]:
        """For each vector, the up-to-`k` most similar stored items this owner sees, best first (only `build_id`'s
        when given)."""
        total = self._collection.count() if k > 0 else 0  # a filtered query returns fewer when fewer match
        if total == 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        if build_id is not None:
            return self._filtered(np.asarray(vectors, dtype=np.float32), min(k, total), build_id)
        # A filtered query costs Chroma ~30x an unfiltered one (20,000 items: ~200 ms against ~7 ms). Most neighbours
        # are usually the owner's own or published: ask for the unfiltered top ones and keep the visible; only the
        # rows where fewer than k of those are visible are asked again with the filter.
        wide = min(total, k * _WIDEN)
        found: list[list[Match]] = []
        for start in range(0, len(vectors), _QUERY_BATCH):
            batch = np.asarray(vectors[start : start + _QUERY_BATCH], dtype=np.float32)
            result = self._collection.query(query_embeddings=batch, n_results=wide,
                                            include=["documents", "metadatas", "distances"])
            rows = [[m for m in _matches(result, row) if self._sees(m.metadata)][:k] for row in range(len(batch))]
            again = [row for row, kept in enumerate(rows) if len(kept) < k and wide < total]
            if again:
                for row, matches in zip(again, self._filtered(batch[again], min(k, total), None), strict=True):
                    rows[row] = matches
            found.extend(rows)
        return found

    def _filtered(self, vectors: np.ndarray, n: int, build_id: str | None) -> list[list[Match]]:
        # Chroma's filtered search walks its approximate index and can miss the one match of a filter that few items
        # pass (a published sample among many of other owners): a small visible set is searched exactly instead.
        few = self._collection.get(where=cast(Any, self._visible(build_id)), include=[], limit=_EXACT_UP_TO + 1)["ids"]
        if len(few) <= _EXACT_UP_TO:
            return self._exact(vectors, n, few)
        found: list[list[Match]] = []
        for start in range(0, len(vectors), _QUERY_BATCH):
            result = self._collection.query(query_embeddings=vectors[start : start + _QUERY_BATCH], n_results=n,
                                            where=self._visible(build_id),
                                            include=["documents", "metadatas", "distances"])
            found.extend(_matches(result, row) for row in range(len(result["ids"])))
        return found

    def _exact(self, vectors: np.ndarray, n: int, ids: list[str]) -> list[list[Match]]:
        """The `n` most similar of the items `ids` for each vector, by cosine over their stored vectors."""
        if not ids:
            return [[] for _ in range(len(vectors))]
        got = self._collection.get(ids=ids, include=["embeddings", "documents", "metadatas"])
        stored = np.asarray(got["embeddings"], dtype=np.float32)
        stored /= np.clip(np.linalg.norm(stored, axis=1, keepdims=True), 1e-12, None)
        queries = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        scores = queries @ stored.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :n]
        documents, metadatas = got.get("documents") or [""] * len(ids), got.get("metadatas") or [{}] * len(ids)
        result = {"ids": [[got["ids"][j] for j in row] for row in order],
                  "documents": [[documents[j] for j in row] for row in order],
                  "metadatas": [[metadatas[j] for j in row] for row in order],
                  "distances": [[1.0 - float(scores[i, j]) for j in row] for i, row in enumerate(order)]}
        return [_matches(result, row) for row in range(len(vectors))]

    def _sees(self, meta: dict[str, Any]) -> bool:
        return meta.get(OWNER) == self._owner or meta.get(PUBLISHED) is True

    def with_metadata(self, key: str, values: Sequence[str], *,
                      build_id: str | None = None) -> list[tuple[Match, np.ndarray]]:
        """Stored items whose metadata `key` is one of `values`, with their vectors (similarity left at 0)."""
        found: list[tuple[Match, np.ndarray]] = []
        for start in range(0, len(values), _QUERY_BATCH):
            where = both({key: {"$in": list(values[start : start + _QUERY_BATCH])}}, self._visible(build_id))
            result = self._collection.get(where=cast(Any, where), include=["documents", "metadatas", "embeddings"])
            embeddings = result.get("embeddings")
            for n, sample_id in enumerate(result["ids"]):
                meta = dict((result.get("metadatas") or [{}] * (n + 1))[n] or {})
                build = meta.get("build_id")
                match = Match(id=str(meta.get(ITEM) or sample_id), similarity=0.0, build_id=str(build) if build is not None else None,
                              text=(result.get("documents") or [""] * (n + 1))[n] or "", metadata=meta)
                found.append((match, np.asarray(embeddings[n], dtype=np.float32)))  # type: ignore[index]
        return found

    def count(self, build_id: str | None = None, *, at_most: int | None = None) -> int:
        """How many stored items this owner sees (only `build_id`'s when given), counting up to `at_most` when
        given: the filter makes a full count read every visible id, while a capped one stops early."""
        return len(self._collection.get(where=self._visible(build_id), include=[], limit=at_most)["ids"])

    # -- writes -------------------------------------------------------------------------------------

    def add(
        self,
        sample_id: str,
        text: str,
        *,
        build_id: str,
        subtask_id: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Store (or replace) one sample; adding the same id again overwrites it."""
        self._collection.upsert(ids=[self._key(sample_id)], documents=[text],
                                metadatas=[self._tags(sample_id, metadata, build_id, subtask_id)])

    def add_vector(
        self,
        sample_id: str,
        vector: Sequence[float] | np.ndarray,
        document: str,
        *,
        build_id: str,
        subtask_id: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Store (or replace) one sample under a vector computed by the caller with this store's embedder."""
        embedding = cast(Any, [np.asarray(vector, dtype=np.float32)])  # Chroma's stubs are narrower than what it takes
        self._collection.upsert(ids=[self._key(sample_id)], embeddings=embedding, documents=[document],
                                metadatas=[self._tags(sample_id, metadata, build_id, subtask_id)])

    def add_vectors(self, entries: Sequence[tuple[str, np.ndarray, str, dict[str, Any]]], *, build_id: str,
                    subtask_id: str) -> None:
        """`add_vector` for many samples in one write: (id, vector, document, metadata) each."""
        if not entries:
            return
        self._collection.upsert(ids=[self._key(e[0]) for e in entries],
                                embeddings=cast(Any, np.asarray([e[1] for e in entries], dtype=np.float32)),
                                documents=[e[2] for e in entries],
                                metadatas=[self._tags(e[0], e[3], build_id, subtask_id) for e in entries])

    def build_ids(self, build_id: str) -> set[str]:
        """The ids of this owner's items stored for build `build_id`."""
        return {_item_id(key, meta) for key, meta in self._own(build_id)}

    def remove(self, ids: Sequence[str]) -> None:
        """Remove this owner's items with these ids (another owner's are never touched)."""
        for start in range(0, len(ids), _QUERY_BATCH):
            wanted = list(ids[start : start + _QUERY_BATCH])
            found = self._collection.get(where=both({OWNER: self._owner}, {ITEM: {"$in": wanted}}), include=[])
            if found["ids"]:
                self._collection.delete(ids=found["ids"])

    def remove_build(self, build_id: str) -> None:
        self._collection.delete(where=cast(Any, both({OWNER: self._owner}, _build_filter(build_id))))

    # -- sharing ------------------------------------------------------------------------------------

    def owners_of(self, build_id: str) -> set[str]:
        """Who owns the items stored for `build_id` (any owner: for telling "not yours" from "unknown")."""
        found = self._collection.get(where=_build_filter(build_id), include=["metadatas"])
        return {str((meta or {}).get(OWNER)) for meta in found.get("metadatas") or []}

    def set_published(self, build_id: str, published: bool) -> int:
        """Publish (or unpublish) this owner's items of `build_id`; return how many there are."""
        own = self._own(build_id)
        if own:
            self._collection.update(ids=[key for key, _ in own], metadatas=cast(Any, [{PUBLISHED: published}] * len(own)))
        return len(own)

    def published_count(self, build_id: str) -> int:
        """How many of this owner's items of `build_id` are published."""
        return sum(1 for _, meta in self._own(build_id) if meta.get(PUBLISHED))

    # -- scope --------------------------------------------------------------------------------------

    def _visible(self, build_id: str | None) -> dict[str, Any]:
        return cast(dict[str, Any], both(visible_to(self._owner), _build_filter(build_id)))

    def _own(self, build_id: str) -> list[tuple[str, dict[str, Any]]]:
        found = self._collection.get(where=cast(Any, both({OWNER: self._owner}, _build_filter(build_id))),
                                     include=["metadatas"])
        metas: list[Any] = [*(found.get("metadatas") or [])] or [None] * len(found["ids"])
        return [(key, dict(meta or {})) for key, meta in zip(found["ids"], metas, strict=True)]

    def _key(self, sample_id: str) -> str:
        return f"{self._owner}/{sample_id}"

    def _tags(self, sample_id: str, metadata: dict[str, Any] | None, build_id: str, subtask_id: str) -> dict[str, Any]:
        """What is stored with a sample: Chroma rejects None values; the build, subtask and owner tags win."""
        stored = {key: value for key, value in (metadata or {}).items() if value is not None}
        stored.update(build_id=build_id, subtask_id=subtask_id, **ownership(self._owner, self._thread_id))
        stored[ITEM] = sample_id
        return stored

    # -- lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the client (for a local store: its files), so the same path can be reopened. A view made by
        `scoped` leaves the client to the store it came from."""
        if not self._view:
            self._client.close()



def make_client(path: Path | None, host: str | None, port: int | None) -> Client:
    """A Chroma client: a `chroma run` server when `host` is set, else an embedded one persisting under `path`."""
    settings = Settings(anonymized_telemetry=False)
    if host:
        # Both factories return chromadb.api.client.Client (typed as ClientAPI, which lacks close()).
        return cast(Client, chromadb.HttpClient(host=host, port=port or DEFAULT_HTTP_PORT, settings=settings))
    if path is None:
        raise ValueError("SampleStore needs a directory (path) or a server (host)")
    path.mkdir(parents=True, exist_ok=True)
    return cast(Client, chromadb.PersistentClient(path=str(path), settings=settings))


def open_collection(client: Client, name: str, function: ChromaEmbedding) -> Collection:
    """Open or create the collection, always with our embedding function (never Chroma's default)."""
    embedder_name = function.embedder.name
    collection = client.get_or_create_collection(
        name=name,
        embedding_function=cast(Any, function),  # Chroma's stubs want EmbeddingFunction[Embeddable]
        configuration={"hnsw": {"space": "cosine"}},
        metadata={_EMBEDDER_KEY: embedder_name},
    )
    # An existing collection keeps its metadata and space: refuse to mix embedders or misread distances.
    stored = (collection.metadata or {}).get(_EMBEDDER_KEY)
    if stored is not None and stored != embedder_name:
        raise ValueError(f"Collection {name!r} holds {stored!r} vectors; cannot use embedder {embedder_name!r}")
    space = _space(collection)
    if space is not None and space != "cosine":
        raise ValueError(f"Collection {name!r} uses {space!r} distance; SampleStore needs 'cosine'")
    return collection


def _space(collection: Collection) -> str | None:
    configuration = cast(dict[str, Any], collection.configuration)
    for index in ("hnsw", "spann"):
        settings = configuration.get(index)
        if settings and settings.get("space"):
            return str(settings["space"])
    return None


def _build_filter(build_id: str | None) -> dict[str, Any] | None:
    return {"build_id": build_id} if build_id is not None else None


def _matches(result: Any, row: int = 0) -> list[Match]:
    """Matches for query `row` of a Chroma result; cosine distance d gives similarity 1 - d."""
    ids = result["ids"][row]
    documents = (result.get("documents") or [[]] * (row + 1))[row] or [""] * len(ids)
    metadatas = (result.get("metadatas") or [[]] * (row + 1))[row] or [{}] * len(ids)
    distances = (result.get("distances") or [[]] * (row + 1))[row]
    matches = []
    for sample_id, document, metadata, distance in zip(ids, documents, metadatas, distances, strict=True):
        meta = dict(metadata or {})
        build = meta.get("build_id")
        matches.append(
            Match(
                id=_item_id(sample_id, meta),
                similarity=1.0 - float(distance),
                build_id=str(build) if build is not None else None,
                text=document or "",
                metadata=meta,
            )
        )
    return matches


def _item_id(key: str, meta: dict[str, Any]) -> str:
    """The sample's own id: the stored key is prefixed with its owner (an entry of an earlier version is not)."""
    return str(meta.get(ITEM) or key)
