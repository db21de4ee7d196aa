"""A fresh version of a benchmark: same spec and plan, none of the items of any earlier version, lineage named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.commands.refresh import next_version_folder
from tests.fake_llm import FakeLLMServer
from tools.contracts import BuildReport
from tools.errors import InvalidRequest
from tools.refresh import earlier_versions

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=5) as running:
        yield running


def _cli(data: Path, base_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key", BENCHMARK_AGENT_DATA_DIR=str(data),
               HF_HUB_OFFLINE="1", BENCHMARK_AGENT_QUALITY_SAMPLE_SIZE="0")
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args, "--model", "openai:fake-model"], env=env,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def _rows(directory: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (directory / "benchmark.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_refreshed_version_shares_no_item_with_any_earlier_version_and_names_the_one_it_renews(
        tmp_path: Path, server: FakeLLMServer) -> None:
    v1 = tmp_path / "arith"
    built = _cli(tmp_path / "data", server.base_url, "build", "arithmetic word problems with numeric answers",
                 "--size", "6", "--out", str(v1))
    assert built.returncode == 0, built.stderr[-2000:]
    # A fresh memory: the earlier version's items reach de-duplication from its folder, not from a shared memory.
    refreshed = _cli(tmp_path / "other-data", server.base_url, "refresh", str(v1))
    assert refreshed.returncode == 0, refreshed.stderr[-2000:]
    v2 = tmp_path / "arith-v2"
    old, new = _rows(v1), _rows(v2)
    assert len(new) == 6
    assert not {r["id"] for r in old} & {r["id"] for r in new}
    assert not {str(r["question"]).lower() for r in old} & {str(r["question"]).lower() for r in new}
    first = BuildReport.model_validate_json((v1 / "report.json").read_text())
    second = BuildReport.model_validate_json((v2 / "report.json").read_text())
    assert second.replaces == first.build_id and second.build_id != first.build_id
    assert second.spec == first.spec and [s.id for s in second.plan.subtasks] == [s.id for s in first.plan.subtasks]
    assert first.build_id in (v2 / "README.md").read_text()
    lineage = json.loads((v2 / "versions.json").read_text())
    assert [v["build_id"] for v in lineage] == [first.build_id]
    # A refresh of the refresh avoids both earlier versions.
    assert [v["build_id"] for v in earlier_versions(v2)] == [first.build_id, second.build_id]


def test_a_folder_without_a_finished_benchmark_is_refused_with_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="no report.json"):
        earlier_versions(tmp_path)


def test_the_new_version_goes_to_the_next_free_numbered_folder(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    assert next_version_folder(tmp_path / "bench") == tmp_path / "bench-v2"
    (tmp_path / "bench-v2").mkdir()
    assert next_version_folder(tmp_path / "bench") == tmp_path / "bench-v3"
    assert next_version_folder(tmp_path / "bench-v2") == tmp_path / "bench-v3"
