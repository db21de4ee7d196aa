"""Against llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`) on the packaged
SmolLM2 GGUF, on a free 127.0.0.1 port: the probe, a retry, and a small build over real HTTP (toy content)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest
from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models import ModelRequestParameters

from assistant.model_registry import stage_models
from assistant.settings import Settings
from tools.contracts import BuildReport
from tools.llm.endpoints import negotiated_parts

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp.server")
pytest.importorskip("starlette_context")
ROOT = Path(__file__).parents[2]
ALIAS = "smollm2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.embedded_model import packaged_gguf_path

    port = _free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_gguf_path()), "--model_alias", ALIAS,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start: {Path(log.name).read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture
def allow_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # 127.0.0.1 only


def test_the_probe_picks_a_mode_this_server_supports(base_url: str, tmp_path: Path, allow_local: None) -> None:
    models = stage_models(Settings(model=f"openai:{ALIAS}", openai_base_url=base_url, data_dir=tmp_path))
    notes = asyncio.run(models.negotiate())
    endpoint = negotiated_parts(models.model("generator"))[0].endpoint
    # It refuses json_schema and ignores tool_choice="required"; a named tool and json_object with a schema work.
    assert endpoint.mode in ("tool", "json_object"), endpoint.attempts
    assert notes == [endpoint.note()]


@pytest.mark.parametrize("mode", ["tool", "json_object"])
def test_a_retry_after_malformed_output_is_accepted_by_the_server(base_url: str, tmp_path: Path, allow_local: None,
                                                                    mode: str) -> None:
    models = stage_models(Settings(model=f"openai:{ALIAS}", openai_base_url=base_url, data_dir=tmp_path,
                                   output_mode=mode))  # type: ignore[arg-type]
    endpoint = negotiated_parts(models.model("judge"))[0].endpoint
    model = endpoint.model_for(endpoint.mode or "tool")
    # The history pydantic-ai sends after a malformed tool call: the call, then the validation error.
    history = [
        ModelRequest(parts=[UserPromptPart("Say ready.")]),
        ModelResponse(parts=[ToolCallPart("final_result", '{"word": ', tool_call_id="call_1")]),
        ModelRequest(parts=[ToolReturnPart(tool_name="final_result", content="Invalid JSON: EOF while parsing",
                                           tool_call_id="call_1", outcome="retried")]),
    ]
    response = asyncio.run(model.request(history, {"max_tokens": 16}, ModelRequestParameters()))
    assert response.parts  # HTTP 200: the server took the assistant turn (content "", not null)


def test_a_small_build_completes_through_the_server(base_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
    env.update(OPENAI_BASE_URL=base_url, BENCHMARK_AGENT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1",
               BENCHMARK_AGENT_QC="false", BENCHMARK_AGENT_DESIGN_BRIEFS="false",
               BENCHMARK_AGENT_QUALITY_SAMPLE_SIZE="0")
    out = tmp_path / "bench"
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "build", "yes/no questions about colours",
                          "--size", "1", "--out", str(out), "--model", f"openai:{ALIAS}"],
                         env=env, capture_output=True, text=True, timeout=500, cwd=ROOT)
    assert "failed during" not in run.stderr and "Cannot use" not in run.stderr, run.stderr[-3000:]
    report = BuildReport.model_validate_json((out / "report.json").read_text())
    assert report.status in ("complete", "short"), run.stderr[-3000:]
    assert any(w.startswith(f"Structured output for '{ALIAS}' at {base_url}:") for w in report.warnings)
    assert json.loads((tmp_path / "data" / "endpoints.json").read_text())[f"{base_url}|{ALIAS}"] in ("tool", "json_object")
