"""`benchmark-agent evaluate DIR --models ...` end to end: the real openai client against the fake endpoint."""

from __future__ import annotations

from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.cli import main
from tests.fake_llm import FakeLLMServer
from tests.tools.test_harness_exports import SAMPLES, _report
from tools.contracts import Leaderboard
from tools.export.bundle import export_benchmark


def test_evaluate_writes_the_leaderboard_and_keeps_each_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # a fake server on 127.0.0.1 only
    export_benchmark(SAMPLES, _report(), tmp_path / "bench", formats=["jsonl"])
    with FakeLLMServer(port=0, seed=5) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
        assert main(["evaluate", str(tmp_path / "bench"), "--models", "openai:fake-a,openai:fake-b",
                     "--expected-order", "openai:fake-a,openai:fake-b"]) == 0
        assert main(["evaluate", str(tmp_path / "bench"), "--models", "openai:fake-a"]) == 0
    out, err = capsys.readouterr()
    board = Leaderboard.model_validate_json((tmp_path / "bench" / "leaderboard.json").read_text())
    assert board.items == len(SAMPLES) and [s.model for s in board.scores] == ["openai:fake-a"]
    assert board.scores[0].previous is not None and board.previous_at is not None
    assert len(list((tmp_path / "bench" / "evaluations").glob("*.json"))) == 2
    assert "| openai:fake-a |" in err and "Agreement with the expected order" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--models", ""], "names no model"),
    (["--models", "openai:x", "--expected-order", "openai:y"], "were not evaluated"),
])
def test_evaluate_refuses_what_it_cannot_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    export_benchmark(SAMPLES, _report(), tmp_path, formats=["jsonl"])
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BENCHMARK_AGENT_OUTPUT_MODE", "tool")  # no probe: the refusal comes before any request
    assert main(["evaluate", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_needs_a_finished_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "nothing"), "--models", "openai:x"]) == 2
    assert "holds no finished build" in capsys.readouterr().err
