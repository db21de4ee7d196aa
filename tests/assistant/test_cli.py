"""`benchmark-agent build` end to end: a real process, the real openai client, a fake endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_llm import FakeLLMServer
from tools.contracts import BuildReport

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=7) as running:
        yield running


def _cli(tmp_path: Path, base_url: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key", BENCHMARK_AGENT_DATA_DIR=str(tmp_path / "data"),
               HF_HUB_OFFLINE="1", **extra_env)
    return subprocess.run([sys.executable, "-m", "assistant.cli", "build", *args], env=env, capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).parents[2])


def test_build_writes_the_four_files_through_an_openai_compatible_endpoint(tmp_path: Path, server: FakeLLMServer) -> None:
    out = tmp_path / "bench"
    run = _cli(tmp_path, server.base_url, "25 multiple-choice arithmetic word problems", "--size", "8",
               "--out", str(out), "--model", "openai:fake-model")
    assert run.returncode == 0, run.stderr
    assert {"benchmark.jsonl", "benchmark.csv", "report.json", "README.md"} <= {p.name for p in out.iterdir()}
    rows = [json.loads(line) for line in (out / "benchmark.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and len({r["id"] for r in rows}) == 8
    assert all(r["choices"][r["answer_index"]] == r["answer"] for r in rows)
    report = BuildReport.model_validate_json((out / "report.json").read_text())
    assert report.status == "complete" and report.models["generator"] == "openai:fake-model"
    assert report.usage["generator"].requests >= 2 and report.usage["judge"].requests >= 8
    assert "Models: chat=openai:fake-model" in run.stderr
    assert server.stats.by_tool.get("submit_samples", 0) >= 2


def test_unreachable_model_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = _cli(tmp_path, f"http://127.0.0.1:{port}/v1", "20 geography questions", "--out", str(tmp_path / "o"),
               "--model", "openai:fake-model")
    assert run.returncode == 2
    assert "Cannot use the chat model 'openai:fake-model'" in run.stderr and "OPENAI_BASE_URL" in run.stderr


def test_a_build_that_accepts_nothing_exits_non_zero_and_the_report_says_why(tmp_path: Path) -> None:
    with FakeLLMServer(port=0, seed=3, judge_reject_rate=1.0) as rejecting:
        # A single judge that rejects everything (the full quality gate would ask other roles too).
        run = _cli(tmp_path, rejecting.base_url, "arithmetic word problems, numeric answers", "--size", "3",
                   "--out", str(tmp_path / "o"), "--model", "openai:fake-model", BENCHMARK_AGENT_QC="false")
    assert run.returncode == 2 and "No sample was accepted" in run.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["checkpoints", "report.json"]
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["status"] == "short" and report["accepted"] == 0
    assert "judge: ambiguous wording (injected)" in report["drop_reasons"]


def test_size_over_the_limit_is_refused_before_any_model_call(tmp_path: Path, server: FakeLLMServer) -> None:
    before = server.stats.requests
    run = _cli(tmp_path, server.base_url, "questions", "--size", "1000000", "--out", str(tmp_path / "o"),
               "--model", "openai:fake-model")
    assert run.returncode == 2 and "--size must be between 1 and 500" in run.stderr
    assert server.stats.requests == before


def test_build_from_source_files_writes_items_that_cite_them(tmp_path: Path, server: FakeLLMServer) -> None:
    from tests.tools.sources.fixtures import prose, write_markdown

    folder = tmp_path / "sources"
    folder.mkdir()
    write_markdown(folder / "book.md")
    (folder / "notes.txt").write_text(prose(3, 40), encoding="utf-8")
    (folder / "ignored.xyz").write_text("not a supported type", encoding="utf-8")
    out = tmp_path / "grounded"
    run = _cli(tmp_path, server.base_url, "short-answer questions on these notes", "--size", "4",
               "--source", str(folder), "--out", str(out), "--model", "openai:fake-model")
    assert run.returncode == 0, run.stderr
    assert "book.md" in run.stderr and "notes.txt" in run.stderr, "each source file is named with what was read"
    rows = [json.loads(line) for line in (out / "benchmark.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    assert all(r["evidence"] and all(e["quote"] for e in r["evidence"]) for r in rows), "every item cites its material"
    cited = {e["source"] for r in rows for e in r["evidence"]}
    assert cited <= {"book.md", "notes.txt"}, cited
    report = BuildReport.model_validate_json((out / "report.json").read_text())
    assert report.material is not None


def test_a_source_that_cannot_be_read_is_refused_before_any_model_call(tmp_path: Path, server: FakeLLMServer) -> None:
    bad = tmp_path / "only.xyz"
    bad.write_text("nothing supported", encoding="utf-8")
    before = server.stats.requests
    run = _cli(tmp_path, server.base_url, "questions on this file", "--source", str(bad),
               "--out", str(tmp_path / "o"), "--model", "openai:fake-model")
    assert run.returncode == 2
    assert "only.xyz" in run.stderr
    assert server.stats.requests == before
