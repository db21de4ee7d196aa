from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.embeddings import HashEmbedder
from memory.store import SampleStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as opened:
        yield opened
