"""A whole build against a fake endpoint whose generator, inspector, solver and judge err at set rates: the quotas
are still met, every path of the quality gate is taken, and the reports count what each check caught."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.deps import build_options, finish_options
from assistant.model_registry import stage_models
from assistant.settings import Settings
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.fake_llm import FakeLLMServer
from tests.fake_llm_errors import ErrorRates, errs
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
from tools.pipeline import build_and_export
from tools.qc.gate import NO_SOLUTION

SPEC = BenchmarkSpec(goal="arithmetic word problems", capability="multi-step arithmetic",
                     domain="arithmetic word problems", answer_format="numeric", size=20)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="add-sub", name="Multi-step addition and subtraction", description="d", answer_format="numeric", quota=10),
    Subtask(id="mul-div", name="Multiplication and division word problems", description="d",
            answer_format="multiple_choice", quota=10),
])
MISTAKES = ErrorRates(wrong_key=0.25, wrong_program=0.2, second_correct=0.3, inspector=0.4, solver=0.3, judge=0.1)


@pytest.fixture(autouse=True)
def _allow_local_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # only 127.0.0.1 is reached


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder(dims=1024)) as opened:
        yield opened


def _settings(server: FakeLLMServer, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(**{"model": "openai:fake-model", "openai_base_url": server.base_url, "openai_api_key": "test",  # type: ignore[arg-type]
                       "data_dir": tmp_path, "request_timeout_s": 5.0, "concurrency": 4, "dedup_threshold": 0.97,
                       "quality_sample_size": 2, "max_rounds_per_sample": 5.0, **overrides})


async def test_a_build_through_erring_reviewers_meets_its_quotas_and_reports_what_each_check_caught(
        tmp_path: Path, store: SampleStore) -> None:
    with FakeLLMServer(port=0, seed=7, errors=MISTAKES, deterministic=True) as server:
        settings = _settings(server, tmp_path)
        result = await build_and_export(SPEC, PLAN, models=stage_models(settings), store=store,
                                        directory=tmp_path / "out", options=build_options(settings),
                                        finishing=finish_options(settings))
        made, truth = server.mistakes, dict(server.content.answers)
    report, quality = result.report, result.quality
    assert report.status == "complete" and report.accepted == 20
    assert made["generator:wrong_key"] and made["generator:wrong_program"] and made["inspector:flagged"]
    assert made["solver:wrong_answer"] and made["generator:second_correct"]

    records = [json.loads(line) for line in (tmp_path / "out" / "checkpoints" / "checks.jsonl").read_text().splitlines()]
    by_check = {check: [r for r in records if r["check"] == check] for check in ("executed", "inspector", "solver")}
    assert any(r["outcome"] == "dropped" and "not the gold answer" in r["reasons"][0] for r in by_check["executed"])
    assert any(r["outcome"] == "repaired" for r in by_check["inspector"]), "the repair path ran"
    assert any(r["agreed"] is False for r in by_check["solver"]), "disagreements went to adjudication"
    assert quality is not None and quality.executed == len(by_check["executed"])
    assert quality.agreement_rate is not None and quality.agreement_rate < 1.0
    assert quality.voided_rate is not None and quality.voided_verdicts == sum(len(r["voided"]) for r in records)

    rows = [json.loads(line) for line in (tmp_path / "out" / "benchmark.jsonl").read_text().splitlines()]
    numeric = [r for r in rows if r["subtask"] == "add-sub"]
    assert len(numeric) == 10 and all(truth[r["question"]] == r["answer"] for r in numeric), \
        "a wrong gold answer never survives its own solution program"
    # Multiple-choice items carry no solution program here: a second correct option or a wrong key is the
    # inspector's to find, and gets through only where it missed it (and the re-solve did not settle it).
    flawed = [r for r in rows if r["choices"] and (f"{r['answer']}.0" in r["choices"] or truth[r["question"]] != r["answer"])]
    assert all(errs(7, "inspector:missed", r["question"], MISTAKES.inspector) for r in flawed)


NUMERIC = SubtaskPlan(subtasks=[PLAN.subtasks[0]])


@pytest.mark.parametrize("required", [True, False])
async def test_numeric_items_without_a_solution_program_are_dropped_or_flagged_in_the_reports(
        tmp_path: Path, store: SampleStore, required: bool) -> None:
    with FakeLLMServer(port=0, seed=2, errors=ErrorRates(missing_program=0.4), deterministic=True) as server:
        settings = _settings(server, tmp_path, require_solutions=required)
        result = await build_and_export(SPEC, NUMERIC, models=stage_models(settings), store=store,
                                        directory=tmp_path / "out", options=build_options(settings),
                                        finishing=finish_options(settings))
        missing = server.mistakes["generator:missing_program"]
    report, quality = result.report, result.quality
    assert missing and report.status == "complete" and report.accepted == 10 and quality is not None
    rows = [json.loads(line) for line in (tmp_path / "out" / "benchmark.jsonl").read_text().splitlines()]
    without = [r["id"] for r in rows if not r["metadata"].get("solution_code")]
    if required:
        assert without == [] and report.drop_reasons.get(f"executed: {NO_SOLUTION}") == missing
        assert quality.without_solution == []
    else:
        assert without and sorted(quality.without_solution) == sorted(without)
        assert NO_SOLUTION not in " ".join(report.drop_reasons)
        [note] = [w for w in report.warnings if "carry no solution program" in w]
        assert note.startswith(f"{len(without)} numeric items") and all(i in note for i in without[:10])


async def test_a_step_count_the_fakes_one_step_items_miss_drops_them_and_is_counted_per_constraint(
        tmp_path: Path, store: SampleStore) -> None:
    from tools.qc.constraints import program_steps

    wanted = "each needing at least 3 reasoning steps"
    spec = SPEC.model_copy(update={"constraints": [wanted]})
    with FakeLLMServer(port=0, seed=5, deterministic=True) as server:
        settings = _settings(server, tmp_path, max_rounds_per_sample=8.0)
        result = await build_and_export(spec, NUMERIC.model_copy(update={"subtasks": [
            NUMERIC.subtasks[0].model_copy(update={"quota": 3})]}), models=stage_models(settings), store=store,
            directory=tmp_path / "out", options=build_options(settings), finishing=finish_options(settings))
    report, quality = result.report, result.quality
    misses = sum(n for reason, n in report.drop_reasons.items() if reason.startswith(f"constraints: misses the constraint {wanted!r}"))
    assert misses > 0 and quality is not None and quality.constraint_misses == {wanted: misses}
    rows = [json.loads(line) for line in (tmp_path / "out" / "benchmark.jsonl").read_text().splitlines()]
    assert rows and all((program_steps(r["metadata"]["solution_code"]) or 0) >= 3 for r in rows)
