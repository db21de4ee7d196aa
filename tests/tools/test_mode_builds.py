"""A whole build completes in every output mode, through fake servers that only allow that mode.

The fake endpoint knows the answers: these runs prove that each mode's requests and replies are wired through
every stage (requirements, design, generation, the quality gate, finishing), not the quality of what is built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_llm import FakeLLMServer
from tools.contracts import BuildReport

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]

# (mode the build must end up in, the fake server's quirks, the mode set in settings)
MODES = [
    ("tool", frozenset(), "auto"),
    ("native", frozenset({"no_tools"}), "auto"),
    ("json_object", frozenset({"no_tools", "no_json_schema"}), "auto"),
    ("prompted", frozenset({"no_tools", "no_json_schema"}), "prompted"),
]


@pytest.mark.parametrize(("mode", "quirks", "setting"), MODES, ids=[m[0] for m in MODES])
def test_a_build_completes_in_each_output_mode(tmp_path: Path, mode: str, quirks: frozenset[str], setting: str) -> None:
    with FakeLLMServer(port=0, seed=11, quirks=quirks) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
        env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test-key", HF_HUB_OFFLINE="1",
                   BENCHMARK_AGENT_DATA_DIR=str(tmp_path / "data"), BENCHMARK_AGENT_OUTPUT_MODE=setting,
                   BENCHMARK_AGENT_QUALITY_SAMPLE_SIZE="0")
        out = tmp_path / "bench"
        run = subprocess.run([sys.executable, "-m", "assistant.cli", "build", "multiple-choice questions on fractions",
                              "--size", "4", "--out", str(out), "--model", "openai:fake-model"],
                             env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    report = BuildReport.model_validate_json((out / "report.json").read_text())
    assert report.status == "complete" and report.accepted == 4
    assert any(w.startswith(f"Structured output for 'fake-model' at {server.base_url}") and mode in w
               for w in report.warnings), report.warnings
    rows = [json.loads(line) for line in (out / "benchmark.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["choices"][r["answer_index"]] == r["answer"] for r in rows)
    calls = server.stats.by_tool
    if mode == "tool":
        assert calls.get("submit_samples", 0) >= 1
    else:  # the server never saw a tool: every stage's output came back as JSON text
        assert calls.get("submit_samples (as JSON)", 0) >= 1 and "submit_samples" not in calls, calls
