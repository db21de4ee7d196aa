"""The vector store of accepted samples, used to find near-duplicates within a build or across all builds."""

from __future__ import annotations

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

DEFAULT_HTTP_PORT = 8000
_QUERY_BATCH = 1000
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
    """Samples as vectors in one Chroma collection (cosine space), tagged with their build and subtask.

    Local by default (a PersistentClient at `path`); with `host` set, a `chroma run` server over HTTP.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        embedder: Embedder,
        host: str | None = None,
        port: int | None = None,
        collection: str = "samples",
    ) -> None:
        self._embedder = embedder
        self._client = make_client(path, host, port)
        try:
            self._collection = open_collection(self._client, collection, ChromaEmbedding(embedder))
        except BaseException:
            self._client.close()
            raise

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
        available = self.count(build_id)
        if available == 0 or k <= 0:
            return []
        result = self._collection.query(
            query_texts=[text],
            n_results=min(k, available),
            where=_build_filter(build_id),
            include=["documents", "metadatas", "distances"],
        )
        return _matches(result)

    def query_vectors(self, vectors: np.ndarray, *, k: int = 5, build_id: str | None = None) -> list[list[Match]]:
        """For each vector, the up-to-`k` most similar stored items, best first (only `build_id`'s when given)."""
        available = self.count(build_id)
        if available == 0 or k <= 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        found: list[list[Match]] = []
        for start in range(0, len(vectors), _QUERY_BATCH):
            result = self._collection.query(
                query_embeddings=np.asarray(vectors[start : start + _QUERY_BATCH], dtype=np.float32),
                n_results=min(k, available),
                where=_build_filter(build_id),
                include=["documents", "metadatas", "distances"],
            )
            found.extend(_matches(result, row) for row in range(len(result["ids"])))
        return found

    def with_metadata(self, key: str, values: Sequence[str], *,
                      build_id: str | None = None) -> list[tuple[Match, np.ndarray]]:
        """Stored items whose metadata `key` is one of `values`, with their vectors (similarity left at 0)."""
        found: list[tuple[Match, np.ndarray]] = []
        for start in range(0, len(values), _QUERY_BATCH):
            where: dict[str, Any] = {key: {"$in": list(values[start : start + _QUERY_BATCH])}}
            if build_id is not None:
                where = {"$and": [where, {"build_id": build_id}]}
            result = self._collection.get(where=cast(Any, where), include=["documents", "metadatas", "embeddings"])
            embeddings = result.get("embeddings")
            for n, sample_id in enumerate(result["ids"]):
                meta = dict((result.get("metadatas") or [{}] * (n + 1))[n] or {})
                build = meta.get("build_id")
                match = Match(id=sample_id, similarity=0.0, build_id=str(build) if build is not None else None,
                              text=(result.get("documents") or [""] * (n + 1))[n] or "", metadata=meta)
                found.append((match, np.asarray(embeddings[n], dtype=np.float32)))  # type: ignore[index]
        return found

    def count(self, build_id: str | None = None) -> int:
        if build_id is None:
            return self._collection.count()
        return len(self._collection.get(where=_build_filter(build_id), include=[])["ids"])

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
        self._collection.upsert(ids=[sample_id], documents=[text], metadatas=[_tags(metadata, build_id, subtask_id)])

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
        self._collection.upsert(ids=[sample_id], embeddings=embedding, documents=[document],
                                metadatas=[_tags(metadata, build_id, subtask_id)])

    def add_vectors(self, entries: Sequence[tuple[str, np.ndarray, str, dict[str, Any]]], *, build_id: str,
                    subtask_id: str) -> None:
        """`add_vector` for many samples in one write: (id, vector, document, metadata) each."""
        if not entries:
            return
        self._collection.upsert(ids=[e[0] for e in entries], embeddings=cast(Any, np.asarray([e[1] for e in entries], dtype=np.float32)),
                                documents=[e[2] for e in entries],
                                metadatas=[_tags(e[3], build_id, subtask_id) for e in entries])

    def build_ids(self, build_id: str) -> set[str]:
        """The ids stored for build `build_id`."""
        return set(self._collection.get(where=_build_filter(build_id), include=[])["ids"])

    def remove(self, ids: Sequence[str]) -> None:
        if ids:
            self._collection.delete(ids=list(ids))

    def remove_build(self, build_id: str) -> None:
        self._collection.delete(where=_build_filter(build_id))

    # -- lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the client (for a local store: its files), so the same path can be reopened."""
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
                id=sample_id,
                similarity=1.0 - float(distance),
                build_id=str(build) if build is not None else None,
                text=document or "",
                metadata=meta,
            )
        )
    return matches


def _tags(metadata: dict[str, Any] | None, build_id: str, subtask_id: str) -> dict[str, Any]:
    """What is stored with a sample: Chroma rejects None values, and the build and subtask tags win."""
    stored = {key: value for key, value in (metadata or {}).items() if value is not None}
    stored.update(build_id=build_id, subtask_id=subtask_id)
    return stored
