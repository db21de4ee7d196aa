"""Tests never reach a real provider or the network; every data directory is under tmp_path."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from pathlib import Path  # noqa: E402

import pydantic_ai.models  # noqa: E402
import pytest  # noqa: E402

pydantic_ai.models.ALLOW_MODEL_REQUESTS = False


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings come from the test, never from the developer's shell or a .env file."""
    for name in list(os.environ):
        if name.startswith("BENCHMARK_AGENT_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST",
                                                           "CHROMA_PORT"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
