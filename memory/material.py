"""The vector index of one material set (a thread's or a build's attached files): its passages embedded with
the memory's explicit embedder in a Chroma collection of their own, ranked by similarity to a query.

The collection is named from a key the caller gives (for example the material folder's hash) and the
embedder's name, so material sets never mix and vectors of different embedders never meet. The same
Chroma client as the samples memory is used, so a Chroma server (CHROMA_HOST) works the same way.
Texts longer than the embedder's window are ranked by their beginning (the int8 MiniLM reads 128 word
pieces unless built with a larger `max_tokens`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from chromadb.api.client import Client

from memory.embeddings import ChromaEmbedding, Embedder, embed_array
from memory.store import ClosesOnExit, SampleStore, make_client, open_collection

_BATCH = 256


def collection_name(key: str, embedder_name: str) -> str:
    """'material-<16 hex of the key's hash>-<embedder name>', within Chroma's naming rules."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "-", f"material-{digest}-{embedder_name}")[:200]
    return name.rstrip("-._") or f"material-{digest}"


class MaterialIndex(ClosesOnExit):
    """Passages of one material set as vectors (cosine space).

    `store_or_client` is the samples memory (its client is shared and left open on close), a Chroma client
    (left open too), or a directory for a local store of its own (closed on close)."""

    def __init__(self, store_or_client: SampleStore | Client | Path, embedder: Embedder, name: str) -> None:
        self._owned: Client | None = None
        if isinstance(store_or_client, SampleStore):
            self._client = store_or_client.client
        elif isinstance(store_or_client, Path):
            self._client = self._owned = make_client(store_or_client, None, None)
        else:
            self._client = store_or_client
        self._embedder = embedder
        self.name = collection_name(name, embedder.name)
        try:
            self._collection = open_collection(self._client, self.name, ChromaEmbedding(embedder))
        except BaseException:
            self.close()
            raise

    def add(self, units: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Store (id, text, metadata) units in batches; ids already stored are skipped, so adding twice costs
        nothing. Returns how many were embedded now."""
        added = 0
        for start in range(0, len(units), _BATCH):
            batch = list(units[start : start + _BATCH])
            present = set(self._collection.get(ids=[u[0] for u in batch], include=[])["ids"])
            fresh = {u[0]: u for u in batch if u[0] not in present}  # an id twice in one call is stored once
            if not fresh:
                continue
            ids = list(fresh)
            vectors = embed_array(self._embedder, [fresh[i][1] for i in ids])
            metadatas = [_metadata(fresh[i][2]) for i in ids]
            self._collection.upsert(
                ids=ids,
                embeddings=cast(Any, vectors),
                documents=[fresh[i][1] for i in ids],
                metadatas=cast(Any, metadatas) if any(m is not None for m in metadatas) else None,
            )
            added += len(ids)
        return added

    def rank(self, query: str, k: int, ids: list[str] | None = None) -> list[tuple[str, float]]:
        """The up-to-`k` stored units most similar to `query` (among `ids` when given), best first, with
        their cosine similarity."""
        if k <= 0 or (ids is not None and not ids):
            return []
        available = self.count() if ids is None else len(ids)
        if available == 0:
            return []
        vector = embed_array(self._embedder, [query])
        result = self._collection.query(query_embeddings=cast(Any, vector), n_results=min(k, available),
                                        ids=ids, include=["distances"])
        found = result["ids"][0]
        distances = (result.get("distances") or [[]])[0]
        return [(unit, 1.0 - float(d)) for unit, d in zip(found, distances, strict=True)]

    def count(self) -> int:
        return self._collection.count()

    def drop(self) -> None:
        """Delete the collection and every vector in it."""
        self._client.delete_collection(self.name)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def _metadata(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """Chroma takes str, int, float and bool values, and no empty mapping."""
    kept = {k: (v if isinstance(v, (str, int, float, bool)) else str(v)) for k, v in metadata.items() if v is not None}
    return kept or None

