"""A real build process killed with SIGKILL at random points resumes to exactly the uninterrupted result."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_llm import FakeLLMServer

pytestmark = pytest.mark.slow
REPO = Path(__file__).parents[2]
REQUEST = "24 multiple-choice arithmetic word problems"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=11, latency_ms=60, judge_reject_rate=0.2, deterministic=True) as running:
        yield running


def _env(base_url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test", BENCHMARK_AGENT_MODEL="openai:fake-model",
               BENCHMARK_AGENT_DATA_DIR=str(data), BENCHMARK_AGENT_CONCURRENCY="4", HF_HUB_OFFLINE="1")
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", *args, "--quiet"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ids(directory: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (directory / "benchmark.jsonl").read_text().splitlines()]


def _kill_at_random(process: subprocess.Popen[str], out: Path, rng: random.Random) -> bool:
    """SIGKILL the build a random moment after its plan is checkpointed; False if it finished first."""
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "plan.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    time.sleep(rng.uniform(0.1, 1.2))
    if process.poll() is not None:
        return False
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return True


def test_killed_builds_resume_to_the_same_samples_without_repeating_answered_calls(
        tmp_path: Path, server: FakeLLMServer) -> None:
    whole = _cli("build", REQUEST, "--out", str(tmp_path / "whole"), env=_env(server.base_url, tmp_path / "d1"))
    assert whole.wait(timeout=300) == 0, whole.communicate()[1]
    uninterrupted_calls = server.stats.completions

    out, env, rng, kills = tmp_path / "killed", _env(server.base_url, tmp_path / "d2"), random.Random(1), 0
    process = _cli("build", REQUEST, "--out", str(out), env=env)
    while kills < 3 and _kill_at_random(process, out, rng):
        kills += 1
        process = _cli("resume", str(out), env=env)
    assert process.wait(timeout=300) == 0, process.communicate()[1]
    assert kills >= 1, "the build finished before it could be killed; slow the fake server down"

    assert _ids(out) == _ids(tmp_path / "whole")
    lines = [json.loads(x)["id"] for x in (out / "benchmark.jsonl").read_text().splitlines()]
    assert len(lines) == len(set(lines)) == 24
    interrupted_calls = server.stats.completions - uninterrupted_calls
    # Only calls in flight at a kill (at most the concurrency, 4) can be made again.
    assert interrupted_calls <= uninterrupted_calls + 4 * kills
