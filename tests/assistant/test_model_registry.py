"""Models are built from settings as servers spell them, each role on its own endpoint if it has one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.model_registry import stage_models
from assistant.settings import Settings
from tests.fake_llm import FakeLLMServer
from tools.errors import ConfigurationError
from tools.llm.endpoints import negotiated_parts


@pytest.mark.parametrize("name", ["openai:llama3.1:8b", "llama3.1:8b", "org/model", "openai:org/model-GGUF:Q4_K_M"])
def test_model_names_reach_the_server_as_it_spells_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        name: str) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    with FakeLLMServer(port=0) as server:
        models = stage_models(Settings(model=name, openai_base_url=server.base_url, data_dir=tmp_path))
        asyncio.run(models.negotiate())
        assert server.recent_requests[-1]["model"] == name.removeprefix("openai:")


def test_each_role_uses_its_own_base_url_and_falls_back_to_the_shared_one(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    with FakeLLMServer(port=0) as shared, FakeLLMServer(port=0, quirks={"no_tools"}) as judges:
        monkeypatch.setenv("BENCHMARK_AGENT_JUDGE_BASE_URL", judges.base_url)
        models = stage_models(Settings(model="openai:fake-model", openai_base_url=shared.base_url, data_dir=tmp_path))
        notes = asyncio.run(models.negotiate())
        judge = negotiated_parts(models.model("judge"))[0].endpoint
        generator = negotiated_parts(models.model("generator"))[0].endpoint
        assert (judge.base_url, judge.mode) == (judges.base_url, "native")
        assert (generator.base_url, generator.mode) == (shared.base_url, "tool")
        assert len(notes) == 2 and shared.stats.completions == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:11434", "http://127.0.0.1:11434/"])
def test_a_base_url_without_an_api_path_is_refused_with_the_fix(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"set it to http://127\.0\.0\.1:11434/v1"):
        stage_models(Settings(model="openai:llama3.1:8b", openai_base_url=url, data_dir=tmp_path))


def test_a_name_without_a_provider_and_without_a_base_url_says_how_to_write_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"write openai:llama3\.1:8b"):
        stage_models(Settings(model="llama3.1:8b", data_dir=tmp_path))


def test_an_unknown_output_mode_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARK_AGENT_OUTPUT_MODE", "grammar")
    with pytest.raises(ValueError, match="output_mode"):
        Settings()
