"""Nearest neighbours of a batch of vectors, from a throwaway in-memory Chroma collection (HNSW)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import chromadb
import numpy as np
from chromadb.api.client import Client
from chromadb.config import Settings

from memory.store import ClosesOnExit

# Lighter than Chroma's defaults (ef_construction 100, max_neighbors 16, ef_search 100). Measured here on 100k
# synthetic benchmark questions: indexing and querying took ~22 s instead of ~30 s with 64/16/64, and found
# exactly the same duplicates: near-duplicates are the easiest neighbours to find.
HNSW = {"space": "cosine", "ef_construction": 40, "max_neighbors": 12, "ef_search": 32}
QUERY_BATCH = 1000


class Neighbours(ClosesOnExit):
    """Index `vectors` (unit rows) once; `query` returns, per row, (row index, cosine similarity) best first."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._client = cast(Client, chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False)))
        self._name = f"neighbours-{uuid.uuid4().hex}"
        self._collection = self._client.create_collection(
            self._name, embedding_function=None, configuration=cast(Any, {"hnsw": HNSW})
        )
        self._size = len(vectors)
        step = self._client.get_max_batch_size()
        for start in range(0, self._size, step):
            stop = min(start + step, self._size)
            self._collection.add(ids=[str(i) for i in range(start, stop)], embeddings=vectors[start:stop])

    def query(self, vectors: np.ndarray, *, k: int) -> list[list[tuple[int, float]]]:
        k = min(k, self._size)
        found: list[list[tuple[int, float]]] = []
        for start in range(0, len(vectors), QUERY_BATCH):
            result = self._collection.query(
                query_embeddings=vectors[start : start + QUERY_BATCH], n_results=k, include=["distances"]
            )
            for ids, distances in zip(result["ids"], result["distances"] or [], strict=True):
                found.append([(int(i), 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)])
        return found

    def close(self) -> None:
        try:
            self._client.delete_collection(self._name)
        finally:
            self._client.close()

