from __future__ import annotations

from pathlib import Path

import pytest

from memory.minilm_onnx import OnnxMiniLMEmbedder


@pytest.fixture(scope="session")
def model_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """XDG_CACHE_HOME for the tests: the int8 ONNX export is made once and kept in pytest's cache
    (or, with the cache plugin off, in a temporary directory for this session)."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("xdg-cache")) if cache is not None else tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(scope="session")
def int8(model_cache: Path) -> OnnxMiniLMEmbedder:
    """The shipped memory embedder, exported into pytest's cache on the first run (~8 s), loaded once."""
    embedder = OnnxMiniLMEmbedder(cache_dir=model_cache / "benchmark-agent")
    embedder.embed(["warm up"])
    return embedder


@pytest.fixture
def shipped_cache(model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Code that builds its own embedder (the CLI) finds the same cached export."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(model_cache))
    return model_cache
