"""The Inspect AI export, read by Inspect itself: its dataset reader through the task file, and `inspect eval`.

Inspect runs in its own environment (.venv-inspect, see tests/tools/inspect_venv.py), with its built-in mock
model (`mockllm/model`, no network), which answers every prompt with the same sentence unless a test scripts its
replies: these runs prove that Inspect loads, solves and scores every item of the export as its target says, not
how well any model does on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fake_llm import FakeLLMServer
from tests.tools import test_grounded_exports as grounded
from tests.tools.inspect_venv import inspect_eval, inspect_python, inspect_score, inspect_tasks
from tests.tools.test_harness_exports import SAMPLES, _report
from tools.export.bundle import export_benchmark

NAME = "ba_multilingual_reasoning"
# task suffix -> (answer format, scorer), as tools/export/inspect_task.py writes them
KINDS = {"mc": ("multiple_choice", "choice"), "numeric": ("numeric", "match"), "yes_no": ("yes_no", "match"),
         "short": ("short_answer", "model_graded_fact"), "code": ("code", "passes_tests")}


def _kind(row: dict[str, Any]) -> str:
    return "code" if row["metadata"].get("kind") == "code" else str(row["answer_format"])


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    inspect_python()  # skip (or fail in CI) before exporting anything
    export_benchmark(SAMPLES, _report(), tmp_path / "bench")
    return tmp_path / "bench"


def _rows(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "benchmark.jsonl").read_text(encoding="utf-8").splitlines()]


def _expected(row: dict[str, Any]) -> dict[str, Any]:
    """What Inspect must read for one benchmark row: the passage before the question, the letter for a choice;
    a code item asks for its function by name."""
    text = f"{row['context']}\n\n{row['question']}" if row["context"] else row["question"]
    if _kind(row) == "code":
        text += (f"\n\nWrite the Python function `{row['metadata']['entry_point']}`. Reply with its complete code in "
                 "one ```python block.")
    mc = row["answer_format"] == "multiple_choice"
    return {"id": row["id"], "input": text, "choices": row["choices"] if mc else None,
            "target": row["answer_letter"] if mc else row["answer"]}


def test_inspect_reads_every_exported_item_with_its_choices_and_target(exported: Path, tmp_path: Path) -> None:
    tasks = inspect_tasks(exported / "inspect" / "benchmark_task.py", tmp_path / "work")
    assert list(tasks) == [f"{NAME}_{suffix}" for suffix in KINDS]
    rows = _rows(exported)
    assert sum(len(samples) for samples in tasks.values()) == len(rows) == len(SAMPLES)
    for suffix, (kind, _) in KINDS.items():
        read = [{k: s[k] for k in ("id", "input", "choices", "target")} for s in tasks[f"{NAME}_{suffix}"]]
        assert read == [_expected(r) for r in rows if _kind(r) == kind], suffix
    (code,) = tasks[f"{NAME}_code"]
    assert code["metadata"]["tests"] == "assert add(2, 3) == 5" and code["metadata"]["entry_point"] == "add"
    (mc,) = tasks[f"{NAME}_mc"]  # Chinese, emoji and right-to-left text as they were written
    assert mc["input"] == "فرنسا دولة في أوروبا.\n\n哪个城市是法国的首都？ 🇫🇷" and mc["choices"] == ["柏林", "巴黎", "罗马"]
    assert mc["target"] == "B" and mc["metadata"] == {"subtask": "mc", "answer_format": "multiple_choice"}


def _scorer(task: str) -> str:
    """The scorer the export gives a task, by its name's suffix (`..._mc`, `..._short_image`, ...)."""
    return next(scorer for kind, (_, scorer) in KINDS.items() if task.removesuffix("_image").endswith(f"_{kind}"))


def _check_eval(output: str, logs: list[dict[str, Any]], counts: dict[str, int]) -> None:
    """Every task ran to the end on all its samples and each sample got its scorer's score."""
    by_task = {log["eval"]["task"]: log for log in logs}
    assert sorted(by_task) == sorted(counts), output[-3000:]
    for task, count in counts.items():
        log = by_task[task]
        assert log["status"] == "success", log.get("error")
        assert log["results"]["total_samples"] == log["results"]["completed_samples"] == count == len(log["samples"])
        (score,) = log["results"]["scores"]
        assert score["name"] == _scorer(task) and "accuracy" in score["metrics"]
        assert all(_scorer(task) in sample["scores"] for sample in log["samples"])
        assert f"{task} ({count} sample{'s' if count > 1 else ''}): mockllm/model" in output
    assert output.count("accuracy") >= len(counts), "a score line per task"


def test_inspect_eval_with_its_mock_model_runs_and_scores_every_task(exported: Path, tmp_path: Path) -> None:
    output, logs = inspect_eval(exported / "inspect" / "benchmark_task.py", tmp_path / "work")
    rows = _rows(exported)
    counts = {f"{NAME}_{suffix}": sum(_kind(r) == kind for r in rows) for suffix, (kind, _) in KINDS.items()}
    _check_eval(output, logs, counts)
    by_task = {log["eval"]["task"]: log for log in logs}
    (mc,) = by_task[f"{NAME}_mc"]["samples"]
    assert mc["input"] == "فرنسا دولة في أوروبا.\n\n哪个城市是法国的首都？ 🇫🇷" and mc["target"] == "B"
    # The mock answers "Default output from mockllm/model": no letter, number or yes, so each is scored wrong;
    # the short answer's grader is the mock too, whose reply holds no grade; the code item's tests fail on it.
    for suffix in ("mc", "numeric", "yes_no", "code"):
        assert by_task[f"{NAME}_{suffix}"]["results"]["scores"][0]["metrics"]["accuracy"]["value"] == 0.0
    (short,) = by_task[f"{NAME}_short"]["samples"]
    assert short["scores"]["model_graded_fact"]["explanation"].startswith("Grade not found")


@pytest.mark.parametrize("right", [True, False], ids=["right answers", "wrong answers"])
def test_inspects_scorers_score_the_exported_targets_right(exported: Path, tmp_path: Path, right: bool) -> None:
    mc, number, yes_no, short, code = (s.id for s in SAMPLES)
    answers = ({mc: "ANSWER: B", number: "12 pens at $1.25 each cost 15", yes_no: "Yes, 7 is prime.", short: "Iron",
                code: "Here it is:\n```python\ndef add(a, b):\n    return b + a\n```"}
               if right else {mc: "ANSWER: A", number: "It is 14", yes_no: "No.", short: "Steel",
                              code: "```python\ndef add(a, b):\n    return a - b\n```"})
    grades = {short: "The submission names the element. GRADE: C" if right else "It names another. GRADE: I"}
    scores = inspect_score(exported / "inspect" / "benchmark_task.py", tmp_path / "work", answers, grades)
    expected = "C" if right else "I"
    assert scores == {mc: {"choice": expected}, number: {"match": expected}, yes_no: {"match": expected},
                      short: {"model_graded_fact": expected}, code: {"passes_tests": expected}}


def test_inspect_reads_and_runs_the_image_items_with_their_images(tmp_path: Path) -> None:
    inspect_python()
    folder = grounded._build_folder(tmp_path / "bench")
    export_benchmark(grounded.SAMPLES, grounded._report(), folder)
    task_file = folder / "inspect" / "benchmark_task.py"
    tasks = inspect_tasks(task_file, tmp_path / "work")
    name = "ba_report_reading"
    (chart,) = tasks[f"{name}_mc_image"]
    (message,) = chart["input"]
    text, image = message["content"]
    assert message["role"] == "user" and text == {"type": "text", "text": "What colour fills the chart?"}
    assert image["type"] == "image" and image["sha256"] == grounded.hashlib.sha256(grounded.RED).hexdigest()
    assert chart["choices"] == ["red", "green", "blue"] and chart["target"] == "A"
    (doc,) = tasks[f"{name}_mc"]
    assert doc["metadata"]["evidence"][0]["quote"] == grounded.DOC_QUOTE
    output, logs = inspect_eval(task_file, tmp_path / "work")
    assert list(tasks) == [f"{name}_mc", f"{name}_numeric", f"{name}_yes_no", f"{name}_mc_image", f"{name}_short_image"]
    _check_eval(output, logs, dict.fromkeys(tasks, 1))


@pytest.mark.slow
def test_a_benchmark_built_through_the_fake_endpoint_runs_in_inspect(tmp_path: Path) -> None:
    inspect_python()
    out = tmp_path / "bench"
    with FakeLLMServer(port=0, seed=7) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
        env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test-key", HF_HUB_OFFLINE="1",
                   BENCHMARK_AGENT_DATA_DIR=str(tmp_path / "data"), BENCHMARK_AGENT_QUALITY_SAMPLE_SIZE="0")
        run = subprocess.run([sys.executable, "-m", "assistant.cli", "build", "multiple-choice arithmetic word problems",
                              "--size", "4", "--out", str(out), "--model", "openai:fake-model"],
                             env=env, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[2])
    assert run.returncode == 0, run.stderr[-3000:]
    rows = _rows(out)  # arithmetic items: none is a code item
    task_file = out / "inspect" / "benchmark_task.py"
    tasks = inspect_tasks(task_file, tmp_path / "work")
    read = [{k: s[k] for k in ("id", "input", "choices", "target")} for samples in tasks.values() for s in samples]
    assert sorted(read, key=lambda s: s["id"]) == sorted((_expected(r) for r in rows), key=lambda s: s["id"])
    output, logs = inspect_eval(task_file, tmp_path / "work")
    counts = {task: len(samples) for task, samples in tasks.items()}
    _check_eval(output, logs, counts)
