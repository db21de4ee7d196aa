"""The quality gate against a fake endpoint whose roles err at set rates, over HTTP: a failing executed answer,
the repair path, adjudication both ways, void verdicts, and the mistakes the checks let through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pydantic_ai.models
import pytest
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.fake_llm import FakeLLMServer, main
from tests.fake_llm_content import ContentState, inspection, sample_batch
from tests.fake_llm_errors import ErrorRates
from tools.contracts import BenchmarkSpec, GateResult, Subtask, SubtaskPlan
from tools.finish.quality import quality_report
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions, quality_gate
from tools.qc.schema import make_provenance, to_sample
from tools.stages.generate import generate_batch

SPEC = BenchmarkSpec(goal="arithmetic word problems", capability="multi-step arithmetic", domain="word problems",
                     answer_format="numeric", size=6)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
Served = Callable[..., "contextmanager[tuple[FakeLLMServer, StageModels]]"]


def _subtask(answer_format: str) -> Subtask:
    return Subtask(id="sums", name="Multi-step addition and subtraction", description="Chains of sums.",
                   answer_format=answer_format, quota=6)  # type: ignore[arg-type]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # requests only go to 127.0.0.1

    @contextmanager
    def serve(choice_programs: bool = False, **rates: object) -> Iterator[tuple[FakeLLMServer, StageModels]]:
        errors = ErrorRates(**rates)  # type: ignore[arg-type]
        with FakeLLMServer(port=0, seed=1, errors=errors, choice_programs=choice_programs) as server:
            model = OpenAIChatModel("fake-model", provider=OpenAIProvider(base_url=server.base_url, api_key="test"))
            roles = ("generator", "judge", "solver")
            yield server, StageModels(models=dict.fromkeys(roles, model), names=dict.fromkeys(roles, "openai:fake-model"))  # type: ignore[arg-type]

    return serve


async def _gate(models: StageModels, answer_format: str, count: int = 6) -> list[GateResult]:
    subtask = _subtask(answer_format)
    drafts = await generate_batch(SPEC, subtask, count, models=models)
    provenance = make_provenance("b1", "openai:fake-model", "openai:fake-model", 1, WHEN)
    return [await quality_gate(to_sample(d, subtask, provenance), SPEC, subtask, models=models, options=QCOptions())
            for d in drafts]


def _outcomes(results: list[GateResult], check: str) -> list[str]:
    return [r.outcome for result in results for r in result.records if r.check == check]


# --- the generator's mistakes --------------------------------------------------------------------------------


async def test_a_wrong_solution_program_fails_the_executed_check_and_drops_the_item(served: Served) -> None:
    with served(wrong_program=1.0) as (server, models):
        results = await _gate(models, "numeric")
        made = server.mistakes
    assert made["generator:wrong_program"] == 6
    assert all(r.sample is None and r.dropped is not None and r.dropped.check == "executed" for r in results)
    assert all("not the gold answer" in r.dropped.reasons[0] for r in results if r.dropped)
    assert not _outcomes(results, "inspector"), "a dropped item goes no further"


async def test_a_wrong_gold_answer_is_caught_by_its_own_solution_program(served: Served) -> None:
    with served(wrong_key=1.0) as (_, models):
        results = await _gate(models, "numeric")
    assert [r.dropped.check if r.dropped else None for r in results] == ["executed"] * 6
    assert all(r.dropped and r.dropped.issues == ["wrong_answer"] for r in results)


async def test_a_second_correct_option_is_computed_when_the_item_carries_a_program(served: Served) -> None:
    with served(second_correct=1.0, choice_programs=True) as (_, models):
        results = await _gate(models, "multiple_choice")
    assert all(r.dropped is not None and r.dropped.check == "executed" and r.dropped.issues == ["several_correct"]
               for r in results)
    assert all("matches 2 options" in r.dropped.reasons[0] for r in results if r.dropped)


async def test_a_second_correct_option_without_a_program_is_repaired_after_the_inspector_finds_it(served: Served) -> None:
    with served(second_correct=1.0) as (_, models):
        results = await _gate(models, "multiple_choice")
    assert _outcomes(results, "inspector") == ["repaired"] * 6
    for result in results:
        assert result.sample is not None and result.sample.metadata["qc"]["repaired"] is True
        assert result.sample.metadata["repairs"] == ["replaced the option equal to the answer"]
        twins = [c for c in result.sample.choices or [] if c == f"{result.sample.answer} in all"]
        assert twins == [], "the repair replaced the option equal to the answer"
        assert next(r for r in result.records if r.check == "solver").agreed is True


# --- the inspector's mistakes ---------------------------------------------------------------------------------


async def test_an_inspector_that_always_flags_sends_items_through_repair_and_drops_them_still_flawed(
        served: Served) -> None:
    with served(inspector=1.0, inspector_kinds=("ambiguous",)) as (server, models):
        results = await _gate(models, "numeric")
        requests = [str(b.get("messages")) for b in server.recent_requests]
    assert all(r.dropped is not None and r.dropped.check == "inspector" for r in results)
    assert all("still flawed after repair" in " ".join(r.dropped.reasons) for r in results if r.dropped)
    assert sum("Issues to fix:" in text for text in requests) == 6, "one repair proposal per item"


async def test_an_inspector_that_sometimes_flags_has_some_items_repaired_and_kept(served: Served) -> None:
    with served(inspector=0.5, inspector_kinds=("ambiguous",)) as (_, models):
        results = await _gate(models, "numeric", count=12)
    repaired = [r for r in results if any(c.check == "inspector" and c.outcome == "repaired" for c in r.records)]
    assert repaired, "with half the inspections flagged, some repairs pass a fresh inspection"
    for result in repaired:
        assert result.sample is not None and result.sample.question.endswith("Give the final answer only.")
        assert result.sample.metadata["qc"]["repaired"] is True
    assert "passed" in _outcomes(results, "inspector"), "unflagged items pass as they are"


async def test_a_false_wrong_answer_verdict_drops_a_sound_item(served: Served) -> None:
    with served(inspector=1.0, inspector_kinds=("wrong_answer",)) as (_, models):
        results = await _gate(models, "numeric")
    assert all(r.dropped is not None and r.dropped.check == "inspector" and r.dropped.issues == ["wrong_answer"]
               for r in results), "a fatal verdict: nothing is repaired"


async def test_self_contradicting_verdicts_are_void_and_their_rate_is_in_the_quality_report(served: Served) -> None:
    with served(inspector=1.0, inspector_kinds=("self_contradicting",)) as (_, models):
        results = await _gate(models, "numeric")
        records = [r for result in results for r in result.records]
        kept = [r.sample for r in results if r.sample is not None]
        report = await quality_report(kept, SPEC, SubtaskPlan(subtasks=[_subtask("numeric")]), models=models,
                                      build_id="b1", records=records, sample_size=0)
    assert len(kept) == 6 and _outcomes(results, "inspector") == ["passed"] * 6
    assert all(len(r.voided) == 1 and "calculated value of" in r.voided[0] for r in records if r.check == "inspector")
    assert report.voided_verdicts == 6 and report.voided_rate == 1.0
    assert any("contradicted themselves" in w for w in report.warnings)


async def test_an_inspector_that_misses_a_wrong_key_leaves_it_to_the_re_solve_and_adjudication(served: Served) -> None:
    with served(wrong_key=1.0, inspector=1.0) as (_, models):
        results = await _gate(models, "multiple_choice")
    assert _outcomes(results, "inspector") == ["passed"] * 6
    solver = [r for result in results for r in result.records if r.check == "solver"]
    assert [r.outcome for r in solver] == ["dropped"] * 6 and all(r.agreed is False for r in solver)
    assert all("solver_correct" in r.reasons[0] and r.issues == ["wrong_answer"] for r in solver)


# --- the solver's and the judge's mistakes --------------------------------------------------------------------


async def test_a_wrong_solver_answer_is_adjudicated_and_the_right_gold_answer_kept(served: Served) -> None:
    with served(solver=1.0) as (_, models):
        results = await _gate(models, "multiple_choice")
    solver = [r for result in results for r in result.records if r.check == "solver"]
    assert all(r.sample is not None for r in results)
    assert all(r.agreed is False and r.outcome == "passed" and "gold_correct" in r.reasons[0] for r in solver)


async def test_a_judge_that_errs_drops_sound_items_and_keeps_wrong_keys(served: Served) -> None:
    with served(solver=1.0, judge=1.0, judge_kinds=("wrong_ruling",)) as (_, models):
        sound = await _gate(models, "multiple_choice")
    assert all(r.dropped is not None and r.dropped.check == "solver" for r in sound)
    with served(wrong_key=1.0, inspector=1.0, judge=1.0) as (server, models):
        flawed = await _gate(models, "multiple_choice")
        truth = dict(server.content.answers)
    kept = [r.sample for r in flawed if r.sample is not None]
    assert len(kept) == 6 and all(truth[s.question] != s.answer for s in kept), "every wrong key got through"


async def test_an_adjudication_whose_own_answer_is_the_gold_answer_is_void_and_keeps_the_item(served: Served) -> None:
    with served(solver=1.0, judge=1.0, judge_kinds=("self_contradicting",)) as (_, models):
        results = await _gate(models, "numeric")
    solver = [r for result in results for r in result.records if r.check == "solver"]
    assert all(r.sample is not None for r in results) and len(solver) == 6
    assert all(r.outcome == "passed" and r.agreed is False and len(r.voided) == 1 for r in solver)
    assert all("void: its own answer" in r.voided[0] for r in solver)


# --- the fake itself ---------------------------------------------------------------------------------------


def test_mistakes_are_drawn_per_role_independently_and_the_same_way_every_time() -> None:
    keys = {"subtask": "Multi-step addition and subtraction", "answer format": "numeric", "number of samples": "20"}
    state = ContentState(seed=4, errors=ErrorRates(wrong_key=0.5, inspector=0.5))
    batch = sample_batch(keys, state)["samples"]
    wrong = {s["question"] for s in batch if s["answer"] != state.answers[s["question"]]}
    assert 3 <= len(wrong) <= 17 and state.made["generator:wrong_key"] == len(wrong)
    verdicts = [inspection({"question": s["question"], "gold answer": s["answer"], "answer format": "numeric"}, state)
                for s in batch]
    missed = {s["question"] for s, v in zip(batch, verdicts, strict=True) if s["question"] in wrong and not v["issues"]}
    flagged = {s["question"] for s, v in zip(batch, verdicts, strict=True) if s["question"] not in wrong and v["issues"]}
    assert missed or flagged, "the inspector errs too"
    assert missed != wrong, "its mistakes do not follow the generator's"
    again = [inspection({"question": s["question"], "gold answer": s["answer"], "answer format": "numeric"}, state)
             for s in batch]
    assert again == verdicts


def test_a_rate_outside_zero_to_one_or_an_unknown_mistake_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ErrorRates(solver=1.5)
    with pytest.raises(ValueError, match="inspector mistakes"):
        ErrorRates(inspector_kinds=("typo",))
    with pytest.raises(SystemExit):
        main(["--port", "0", "--judge-error-rate", "2"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_the_fakes_programs_compute_their_answer_step_by_step_and_its_spec_keeps_a_step_count() -> None:
    import random
    import subprocess
    import sys

    from tests.fake_llm_content import ARITHMETIC, solution_program, spec_draft
    from tools.qc.constraints import program_steps

    rng = random.Random(3)
    for template in ARITHMETIC:
        _, value, rationale = template(rng)
        code = solution_program(rationale, value)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
        assert run.stdout.strip() == str(value) and (program_steps(code) or 0) >= 1, (template.__name__, code)
    draft = spec_draft({"request": "20 arithmetic word problems, each needing at least 3 reasoning steps"},
                       ContentState())
    assert draft["constraints"] == ["at least 3 reasoning steps"]
