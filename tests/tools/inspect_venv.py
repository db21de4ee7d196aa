"""Inspect AI's own environment (.venv-inspect, made by scripts/bootstrap --test): its loader and `inspect eval`.

Inspect cannot be installed in .venv (see requirements-inspect.lock), so the tests run it there by subprocess.
Without .venv-inspect a test using it is skipped, saying how to create it; in CI (`CI` set) it fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
PYTHON = ROOT / ".venv-inspect" / "bin" / "python"
PROBE = Path(__file__).with_name("inspect_probe.py")


def inspect_python() -> Path:
    """.venv-inspect's interpreter; skips the test when it is absent (fails in CI, where it must be there)."""
    if PYTHON.is_file():
        return PYTHON
    message = ".venv-inspect (Inspect AI's own environment) is absent: scripts/bootstrap --test creates it"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI runs it (scripts/test), so it must be there")
    pytest.skip(message)


def _env(work: Path) -> dict[str, str]:
    """No provider keys, Inspect's own files under `work`, tiktoken's o200k_base file from the venv (no download)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INSPECT_", "ANTHROPIC_", "BENCHMARK_"))}
    env.update(XDG_DATA_HOME=str(work / "xdg-data"), XDG_CACHE_HOME=str(work / "xdg-cache"),
               XDG_CONFIG_HOME=str(work / "xdg-config"), TIKTOKEN_CACHE_DIR=str(work / "tiktoken"),
               PYTHONIOENCODING="utf-8", NO_COLOR="1", COLUMNS="200")
    return env


def _run(args: list[str], work: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    work.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(args, env=_env(work), cwd=cwd or work, capture_output=True, text=True, encoding="utf-8",
                         timeout=300)
    assert run.returncode == 0, f"{' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


def inspect_tasks(task_file: Path, work: Path) -> dict[str, list[dict[str, Any]]]:
    """Each task of the file and its samples, as Inspect read them (see inspect_probe.py)."""
    run = _run([str(inspect_python()), str(PROBE), "tasks", str(task_file)], work)
    tasks: dict[str, list[dict[str, Any]]] = json.loads(run.stdout)
    return tasks


def inspect_eval(task_file: Path, work: Path) -> tuple[str, list[dict[str, Any]]]:
    """`inspect eval inspect/benchmark_task.py --model mockllm/model` (Inspect's mock model: no network) from the
    build's folder, not the task file's (Inspect takes a task file by a relative path only); its output and logs."""
    python = inspect_python()
    _run([str(python), str(PROBE), "tiktoken", str(work / "tiktoken")], work)
    logs = work / "logs"
    build = task_file.parent.parent
    run = _run([str(python.parent / "inspect"), "eval", str(task_file.relative_to(build)), "--model", "mockllm/model",
                "--log-dir", str(logs), "--log-format", "json", "--display", "plain", "--max-connections", "4"], work,
               cwd=build)
    return run.stdout + run.stderr, [json.loads(p.read_text(encoding="utf-8")) for p in sorted(logs.glob("*.json"))]


def inspect_score(task_file: Path, work: Path, answers: dict[str, str], grades: dict[str, str]) -> dict[str, Any]:
    """Each sample's scores when Inspect's mock model replies `answers[id]`, and `grades[id]` as the grader."""
    python = inspect_python()
    _run([str(python), str(PROBE), "tiktoken", str(work / "tiktoken")], work)
    replies = work / "replies.json"
    replies.write_text(json.dumps({"answers": answers, "grades": grades}, ensure_ascii=False), encoding="utf-8")
    run = _run([str(python), str(PROBE), "score", str(task_file), str(replies), str(work / "scored-logs")], work)
    scores: dict[str, Any] = json.loads(run.stdout)
    return scores
