"""A `benchmark-agent build` process SIGKILLed after it has accepted samples, under endpoint faults, is resumed by
`benchmark-agent resume`: every sample accepted before the kill is in the benchmark, none twice, and each exported
file matches the checksum its manifest gives."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_llm import FakeLLMServer
from tests.fake_llm_faults import PASSING

pytestmark = pytest.mark.slow
REPO = Path(__file__).parents[2]
SIZE = 24


@pytest.fixture
def faulty() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=21, latency_ms=80, fault_rate=0.1, fault_kinds=PASSING, hang_s=2.0,
                       deterministic=True) as server:
        yield server


def _env(base_url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test", BENCHMARK_AGENT_MODEL="openai:fake-model",
               BENCHMARK_AGENT_DATA_DIR=str(data), BENCHMARK_AGENT_CONCURRENCY="4", HF_HUB_OFFLINE="1",
               BENCHMARK_AGENT_REQUEST_TIMEOUT_S="1")
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", *args, "--quiet"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _accepted(out: Path) -> list[str]:
    """The ids in the ledger, whole lines only (the writer may be halfway through the last one)."""
    path = out / "checkpoints" / "accepted.jsonl"
    if not path.exists():
        return []
    lines = path.read_text().split("\n")[:-1]
    return [json.loads(line)["id"] for line in lines if line.strip()]


def _kill_once_accepted(process: subprocess.Popen[str], out: Path, at_least: int) -> list[str]:
    deadline = time.monotonic() + 240
    while len(_accepted(out)) < at_least:
        assert process.poll() is None, f"the build ended before {at_least} samples were accepted: {process.communicate()}"
        assert time.monotonic() < deadline, "no samples accepted within 240 s"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return _accepted(out)


def test_a_build_killed_after_accepting_samples_resumes_with_none_lost_or_doubled(
        tmp_path: Path, faulty: FakeLLMServer) -> None:
    out, env = tmp_path / "out", _env(faulty.base_url, tmp_path / "data")
    process = _cli("build", f"{SIZE} multiple-choice arithmetic word problems", "--out", str(out), env=env)
    before_first_kill = _kill_once_accepted(process, out, at_least=4)
    process = _cli("resume", str(out), env=env)
    before_second_kill = _kill_once_accepted(process, out, at_least=len(before_first_kill) + 3)
    assert set(before_first_kill) <= set(before_second_kill), "the resumed build kept what the first one accepted"
    final = _cli("resume", str(out), env=env)
    assert final.wait(timeout=300) == 0, final.communicate()[1][-3000:]

    rows = [json.loads(line) for line in (out / "benchmark.jsonl").read_text().splitlines()]
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == SIZE
    assert set(before_second_kill) <= set(ids), "every sample accepted before a kill is in the benchmark"
    # A batch cut by a kill is decided again on resume (from the call cache) and its lines written again; it counts
    # once, when its `done` marker is written (tools/engine/ledger.py): what was accepted is what is exported.
    assert set(_accepted(out)) == set(ids)
    manifest = json.loads((out / "manifest.json").read_text())
    for exported in manifest["files"]:
        digest = hashlib.sha256((out / exported["path"]).read_bytes()).hexdigest()
        assert digest == exported["sha256"], f"{exported['path']} does not match its manifest checksum"
    assert faulty.stats.faults, "the endpoint misbehaved while the build ran"
