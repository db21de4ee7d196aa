"""`benchmark-agent evaluate DIR --models ...` end to end: the real openai client against the fake endpoint."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.cli import main
from tests.fake_llm import FakeLLMServer
from tests.tools.test_harness_exports import PROVENANCE, SAMPLES, _report
from tools.contracts import Leaderboard, Sample
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


OPEN = [Sample(id=f"short-{n:012d}", subtask_id="short", answer_format="short_answer", question=q, answer=a,
               provenance=PROVENANCE) for n, (q, a) in enumerate([
                   ("Which element has the symbol Fe?", "Iron"), ("Which planet is called the red planet?", "Mars"),
                   ("Which gas do plants take in?", "carbon dioxide"), ("What is the capital of Japan?", "Tokyo")])]
ITEMS = [SAMPLES[0], *OPEN]  # one multiple-choice item (no judge needed) and four open ones


def _evaluate(directory: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[Leaderboard, int, str]:
    assert main(["evaluate", str(directory), "--models", "openai:fake-a,openai:fake-b", "--concurrency", "1", *args]) == 0
    err = capsys.readouterr().err
    board = Leaderboard.model_validate_json((directory / "leaderboard.json").read_text())
    return board, int(re.search(r"tokens: ([\d,]+)", err).group(1).replace(",", "")), err  # type: ignore[union-attr]


def test_the_judges_grading_is_paid_from_the_budget_kept_and_what_it_left_ungraded_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # a fake server on 127.0.0.1 only
    for name in ("plain", "judged"):
        export_benchmark(ITEMS, _report(), tmp_path / name, formats=["jsonl"])
    with FakeLLMServer(port=0, seed=5) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
        _, answers_only, err = _evaluate(tmp_path / "plain", capsys)  # no judge: what the answers alone cost
        assert "open answers by exact match" in err and not server.stats.by_tool.get("submit_grade")
        monkeypatch.setenv("BENCHMARK_AGENT_JUDGE_MODEL", "openai:fake-judge")
        asked = server.stats.by_tool["submit_answer"]
        # Room for every answer and one grading call: the guard stops the judge after its first grade.
        board, spent, err = _evaluate(tmp_path / "judged", capsys, "--max-tokens", str(answers_only + 1))
        assert server.stats.by_tool["submit_grade"] == 1 and spent > answers_only, "the grade is counted in the tokens"
        ids = [s.id for s in OPEN]
        assert board.ungraded == {"openai:fake-a": ids[1:], "openai:fake-b": ids}
        assert board.items == 1 and all(s.items == 1 for s in board.scores), "ungraded items are not scored wrong"
        assert "The budget ran out while the judge graded: 4 items are left out of every score" in err
        again, _, _ = _evaluate(tmp_path / "judged", capsys, "--max-tokens", str(answers_only + 1))
        assert again.ungraded == board.ungraded and server.stats.by_tool["submit_grade"] == 1, "kept calls count too"
        # Again with room to finish: the answers and the grade made come from evaluations/calls.jsonl.
        board, _, _ = _evaluate(tmp_path / "judged", capsys, "--max-tokens", "1000000")
        assert server.stats.by_tool["submit_answer"] == 2 * asked, "no answer asked twice"
        # Both models answer alike here, so the two answers to a question share one grading call: 4 in all.
        assert server.stats.by_tool["submit_grade"] == 4, "only the grades not made before were asked"
        assert board.ungraded == {} and board.items == len(ITEMS)
        requests = server.stats.requests
        _evaluate(tmp_path / "judged", capsys)
        assert server.stats.requests == requests, "a third run is answered from the kept calls alone"
