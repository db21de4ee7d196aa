"""The output mode is negotiated per endpoint, against fake servers that behave like the ones researchers run."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models import ModelRequestParameters

from assistant.model_registry import model_warnings, stage_models
from assistant.settings import Settings
from tests.fake_llm import FakeLLMServer
from tools.errors import ModelUnavailable
from tools.llm.endpoints import EndpointChatModel, negotiated_parts
from tools.llm.stage import StageModels


@pytest.fixture(autouse=True)
def _allow_local_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests talk to a fake server on 127.0.0.1 through the real openai client; nothing leaves the machine.
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)


@pytest.fixture
def serve() -> Iterator[type[FakeLLMServer]]:
    started: list[FakeLLMServer] = []

    class _Started(FakeLLMServer):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(port=0, **kwargs)  # type: ignore[arg-type]
            self.start()
            started.append(self)

    yield _Started
    for server in started:
        server.stop()


def _models(server: FakeLLMServer, tmp_path: Path, **extra: object) -> StageModels:
    settings = Settings(model="openai:fake-model", openai_base_url=server.base_url, data_dir=tmp_path / "data",
                        **extra)  # type: ignore[arg-type]
    return stage_models(settings)


def _mode(models: StageModels) -> str | None:
    return negotiated_parts(models.model("generator"))[0].endpoint.mode


def test_a_server_with_tool_calling_gets_tool_mode_and_the_tool_is_named_not_required(serve, tmp_path: Path) -> None:
    server = serve(quirks={"no_tool_choice_required"})
    models = _models(server, tmp_path)
    notes = asyncio.run(models.negotiate())
    assert _mode(models) == "tool"
    assert notes == [f"Structured output for 'fake-model' at {server.base_url}: tool (found by probing at first contact)."]
    sent = server.recent_requests[-1]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "final_result"}}


def test_a_server_that_ignores_tools_gets_native_json_schema(serve, tmp_path: Path) -> None:
    server = serve(quirks={"no_tools"})
    models = _models(server, tmp_path)
    asyncio.run(models.negotiate())
    assert _mode(models) == "native"
    assert server.recent_requests[-1]["response_format"]["type"] == "json_schema"


def test_a_server_without_tools_or_json_schema_gets_json_object_with_the_schema_beside_it(serve, tmp_path: Path) -> None:
    server = serve(quirks={"no_tools", "no_json_schema"})
    models = _models(server, tmp_path)
    asyncio.run(models.negotiate())
    assert _mode(models) == "json_object"
    response_format = server.recent_requests[-1]["response_format"]
    assert response_format["type"] == "json_object"
    assert set(response_format["schema"]["properties"]) == {"word", "number"}


@pytest.mark.parametrize("reasoning", ["think_tags", "reasoning_field"])
def test_reasoning_text_is_not_taken_as_the_answer(serve, tmp_path: Path, reasoning: str) -> None:
    # The reasoning holds JSON of its own ({"not": "this"}); taken as the answer it would fail validation.
    server = serve(quirks={"no_tools", "no_json_schema", reasoning})
    models = _models(server, tmp_path)
    asyncio.run(models.negotiate())
    assert _mode(models) == "json_object"
    assert [a.error for a in negotiated_parts(models.model("judge"))[0].endpoint.attempts][-1] is None


def test_every_role_on_one_endpoint_shares_one_probe(serve, tmp_path: Path) -> None:
    server = serve(quirks={"no_tools"})
    models = _models(server, tmp_path)

    async def all_roles() -> None:
        await asyncio.gather(*(models.negotiate() for _ in range(4)))

    asyncio.run(all_roles())
    # tool (answered in text, then one retry) and native: three requests, whatever the number of roles.
    assert server.stats.completions == 3


def test_the_mode_found_is_remembered_under_the_data_directory(serve, tmp_path: Path) -> None:
    server = serve(quirks={"no_tools", "no_json_schema"})
    asyncio.run(_models(server, tmp_path).negotiate())
    stored = json.loads((tmp_path / "data" / "endpoints.json").read_text())
    assert stored == {f"{server.base_url}|fake-model": "json_object"}
    before = server.stats.completions
    again = _models(server, tmp_path)
    notes = asyncio.run(again.negotiate())
    assert server.stats.completions == before and _mode(again) == "json_object"
    assert "found by an earlier probe" in notes[0]


def test_a_mode_set_in_settings_is_used_without_probing(serve, tmp_path: Path) -> None:
    server = serve()
    models = _models(server, tmp_path, output_mode="prompted")
    notes = asyncio.run(models.negotiate())
    assert server.stats.completions == 0 and _mode(models) == "prompted"
    assert notes[0].endswith("prompted (set by BENCHMARK_AGENT_OUTPUT_MODE).")
    assert notes[0] in model_warnings(models)


def test_a_server_that_answers_500_to_everything_fails_within_seconds_with_its_message(serve, tmp_path: Path) -> None:
    server = serve(fault_rate=1.0, fault_kinds=("server_error",))
    models = _models(server, tmp_path)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        asyncio.run(models.negotiate())
    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "The server had an error while processing your request (injected)." in message
    assert "BENCHMARK_AGENT_OUTPUT_MODE" in message
    assert server.stats.completions == 8  # every mode asked twice: the same answer twice is not retried further


def test_a_missing_route_stops_the_probe_at_once_instead_of_trying_every_mode(serve, tmp_path: Path) -> None:
    server = serve()
    wrong = Settings(model="openai:fake-model", openai_base_url=f"http://127.0.0.1:{server.port}/api",
                     data_dir=tmp_path / "data")
    with pytest.raises(ModelHTTPError) as caught:
        asyncio.run(stage_models(wrong).negotiate())
    assert caught.value.status_code == 404 and server.stats.requests == 1


def test_a_tool_call_sent_back_carries_empty_content_never_null() -> None:
    from openai import AsyncOpenAI

    model = EndpointChatModel("m", client=AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="x"), mode="tool")
    history = [
        ModelRequest(parts=[UserPromptPart("q")]),
        ModelResponse(parts=[ToolCallPart("final_result", {"word": 1}, tool_call_id="c1")]),
        ModelRequest(parts=[ToolReturnPart("final_result", "invalid, try again", tool_call_id="c1")]),
    ]
    mapped = asyncio.run(model._map_messages(history, ModelRequestParameters()))
    assistant = next(m for m in mapped if m["role"] == "assistant")
    assert assistant["content"] == "" and assistant["tool_calls"][0]["function"]["name"] == "final_result"


def test_a_retry_after_malformed_output_is_accepted_by_a_server_that_refuses_null_content(serve, tmp_path: Path) -> None:
    # Half the answers are truncated tool calls; each needs a retry, which resends the bad call.
    server = serve(quirks={"no_null_content"}, fault_rate=0.5, fault_kinds=("truncated",), seed=4)
    models = _models(server, tmp_path)
    asyncio.run(models.negotiate())
    assert _mode(models) == "tool" and server.stats.faults["truncated"] >= 1
    assert any(m.get("role") == "assistant" and m.get("content") == ""
               for body in server.recent_requests for m in body["messages"])


def test_what_the_probe_spent_is_booked_once_under_the_role_that_triggered_it(serve, tmp_path: Path) -> None:
    server = serve(quirks={"no_tools", "no_json_schema"})  # two modes fail before json_object answers
    models = _models(server, tmp_path)
    asyncio.run(models.negotiate())
    booked = sum(u.requests for u in models.usage.values())
    assert booked == server.stats.completions >= 3
    assert sum(u.input_tokens for u in models.usage.values()) > 0
    asyncio.run(models.negotiate())  # already known: nothing new is spent or booked
    assert sum(u.requests for u in models.usage.values()) == booked
