from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.scripted import Script
from tests.tools.qc_fixtures import MC, NUM, PROV, SPEC, make, with_solver
from tools.contracts import BuildReport, CheckRecord, Drop, QualityReport, SampleDraft, StageCount, SubtaskPlan
from tools.export.bundle import export_benchmark
from tools.export.card import dataset_card, quality_section
from tools.finish.positions import balance_positions, position_distribution, positions_balanced
from tools.finish.quality import pick_for_scoring, quality_chart_svg, quality_report
from tools.llm.stage import StageModels
from tools.qc.schema import to_sample

PLAN = SubtaskPlan(subtasks=[MC, NUM])
SCORES = {"user_intention_alignment": 80, "format_schema_quality": 90, "question_answer_coherence": 85,
          "context_question_correspondence": 75, "target_signal_dependency": 70, "skill_specific_challenge": 40,
          "comment": "fine"}


def _mc(i: int) -> Any:
    return to_sample(SampleDraft(question=f"Item {i}: which number is {i} + {i}?", choices=[str(2 * i), str(2 * i + 1),
                     str(2 * i - 1), str(2 * i + 2)], answer=str(2 * i)), MC, PROV)


def test_answer_positions_are_balanced_over_200_items_without_breaking_any_answer() -> None:
    items = [_mc(i) for i in range(1, 201)]
    assert positions_balanced(items) is False  # the stable shuffle alone spreads answers, it does not balance them
    balanced = balance_positions(items)
    assert position_distribution(balanced) == {"A": 50, "B": 50, "C": 50, "D": 50} and positions_balanced(balanced)
    assert [s.id for s in balanced] == [s.id for s in items]
    for before, after in zip(items, balanced, strict=True):
        assert after.choices is not None and after.answer_index is not None
        assert after.choices[after.answer_index] == after.answer == before.answer
        assert sorted(after.choices) == sorted(before.choices or [])
    assert balance_positions(list(reversed(balanced))) == list(reversed(balanced))  # stable, order-independent


def test_the_scored_sample_is_stable_and_drawn_from_every_subtask() -> None:
    items = [_mc(i) for i in range(1, 11)] + [make(NUM, question=f"How many pens in {i} boxes of 5?", answer=str(5 * i))
                                             for i in range(1, 11)]
    picked = pick_for_scoring(items, 6, seed="b1")
    assert Counter(s.subtask_id for s in picked) == {"mc": 3, "num": 3}
    assert picked == pick_for_scoring(list(reversed(items)), 6, seed="b1")


async def test_the_judge_sees_each_item_as_it_was_accepted_not_with_its_options_moved() -> None:
    judge = Script(submit_scores=[SCORES])
    models = StageModels(models={"generator": Script().model(), "judge": judge.model()},
                         names={"generator": "openai:gen", "judge": "openai:judge"})
    accepted = [_mc(i) for i in range(1, 9)]
    balanced = balance_positions(accepted)
    moved = [(a, b) for a, b in zip(accepted, balanced, strict=True) if a.choices != b.choices]
    assert moved, "balancing moved some options"
    report = await quality_report(balanced, SPEC, PLAN, models=models, build_id="b1", records=[], sample_size=8,
                                  as_accepted={s.id: s for s in accepted})
    assert report.scored == 8
    prompts = judge.calls["submit_scores"]
    for before, after in moved:
        shown = next(p for p in prompts if before.question in p)
        assert json.dumps(before.choices) in shown and json.dumps(after.choices) not in shown
    assert report.answer_positions == position_distribution(balanced)  # the report counts the exported positions


def _records() -> list[CheckRecord]:
    return [
        CheckRecord(sample_id="x1", check="leakage", outcome="dropped", reasons=["the question states the answer ('42')"],
                    issues=["answer_leaked"]),
        CheckRecord(sample_id="x2", check="executed", outcome="passed", reasons=["ok"]),
        CheckRecord(sample_id="x3", check="executed", outcome="dropped", reasons=["the solution code computes '4', not the gold answer '5'"]),
        CheckRecord(sample_id="x4", check="executed", outcome="dropped", reasons=["the solution code computes '7', not the gold answer '9'"]),
        CheckRecord(sample_id="x2", check="inspector", outcome="repaired", issues=["several_correct"]),
        CheckRecord(sample_id="x2", check="solver", outcome="passed", agreed=True),
        CheckRecord(sample_id="x5", check="solver", outcome="passed", agreed=False),
        CheckRecord(sample_id="x6", check="solver", outcome="dropped", agreed=False, issues=["wrong_answer"], reasons=["solver said 3"]),
        CheckRecord(sample_id="x7", check="solver", outcome="passed", agreed=True),
    ]


async def test_the_quality_report_gathers_scores_counts_rates_and_positions(tmp_path: Path) -> None:
    judge = Script(submit_scores=[SCORES])
    models = StageModels(models={"generator": Script().model(), "judge": judge.model()},
                         names={"generator": "openai:gen", "judge": "openai:judge"})
    items = balance_positions([_mc(i) for i in range(1, 9)])
    report = await quality_report(items, SPEC, PLAN, models=models, build_id="b1", records=_records(), sample_size=5)
    assert report.scored == 5 and report.dimensions["skill_specific_challenge"] == 40
    assert "Gold answer" in judge.calls["submit_scores"][0] and len(judge.calls["submit_scores"]) == 5
    checks = {c.check: c for c in report.checks}
    assert (checks["executed"].attempted, checks["executed"].passed, checks["executed"].dropped) == (3, 1, 2)
    assert checks["executed"].drop_reasons == {"the solution code computes …, not the gold answer …": 2}
    assert checks["inspector"].repaired == 1 and checks["solver"].drop_reasons == {"wrong_answer": 1}
    assert report.agreement_rate == 0.5 and report.resolved == 4 and report.executed_pass_rate == 1 / 3
    assert report.answer_positions == {"A": 2, "B": 2, "C": 2, "D": 2} and report.positions_balanced
    assert report.warnings == []
    assert QualityReport.model_validate_json(report.model_dump_json()) == report


async def test_a_judge_that_is_also_the_generator_is_named_in_the_warnings() -> None:
    script = Script(submit_scores=[SCORES, '{"bad": 1}', '{"bad": 1}', '{"bad": 1}'])
    report = await quality_report([_mc(1), _mc(2)], SPEC, PLAN, models=with_solver(script), build_id="b1", records=[],
                                  sample_size=2, concurrency=1)
    assert report.scored == 1
    assert any("is the generator model" in w for w in report.warnings)
    assert any("1 of 2 items got no valid scores" in w for w in report.warnings)
    assert any("No item was re-solved" in w for w in report.warnings)


def _build_report(samples: list[Any]) -> BuildReport:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return BuildReport(build_id="b1", status="complete", spec=SPEC, plan=PLAN, requested=len(samples), accepted=len(samples),
                       stages=[StageCount(stage="schema", attempted=5, passed=4, dropped=1)], subtasks=[], drop_reasons={},
                       drops=[Drop(subtask_id="mc", check="schema", reason="duplicate options"),
                              Drop(subtask_id="mc", check="executed", reason="counted from the gate's records")],
                       models={"generator": "openai:gen"}, usage={}, started_at=now, finished_at=now)


async def test_the_card_and_the_export_carry_the_quality_report(tmp_path: Path) -> None:
    items = balance_positions([_mc(i) for i in range(1, 5)])
    models = StageModels(models={"generator": Script().model(), "judge": Script(submit_scores=[SCORES]).model()},
                         names={"generator": "openai:gen", "judge": "openai:judge"})
    build = _build_report(items)
    quality = await quality_report(items, SPEC, PLAN, models=models, build_id="b1", records=_records(), build=build)
    section = quality_section(quality)
    assert "| UIA | user-intention alignment | 80.0 |" in section and "Re-solve agreement (solver without the gold answer): 50%" in section
    assert "| schema | 5 | 4 | 0 | 1 | duplicate options (1) |" in section
    assert [c.attempted for c in quality.checks if c.check == "executed"] == [3]  # the build's copy is not counted twice
    assert dataset_card(build, items).count("## Quality") == 0  # the old call still works
    manifest = export_benchmark(items, build, tmp_path, quality=quality)
    assert "quality.json" in {f.path for f in manifest.files}
    assert json.loads((tmp_path / "quality.json").read_text())["dimensions"]["format_schema_quality"] == 90
    assert "## Quality" in (tmp_path / "README.md").read_text()
    svg = quality_chart_svg(quality)
    assert svg.startswith("<svg") and svg.count("<rect") == 12 and ">SSC<" in svg


async def test_the_report_gives_the_rate_of_void_verdicts_and_flags_items_without_a_solution_program() -> None:
    models = StageModels(models={"generator": Script().model(), "judge": Script(submit_scores=[SCORES]).model()},
                         names={"generator": "openai:gen", "judge": "openai:judge"})
    records = [*_records(),
               CheckRecord(sample_id="x8", check="inspector", outcome="passed", voided=["wrong_answer: 2 is not 2 (void)"]),
               CheckRecord(sample_id="x9", check="inspector", outcome="dropped", issues=["wrong_answer"])]
    unsolved = make(NUM, question="How many pens are in 3 boxes of 5?", answer="15")
    unsolved = unsolved.model_copy(update={"metadata": {"qc": {"checks": ["leakage"], "solution_program": False}}})
    report = await quality_report([_mc(1), unsolved], SPEC, PLAN, models=models, build_id="b1", records=records,
                                  sample_size=0)
    assert report.voided_verdicts == 1 and report.voided_rate == 1 / 3  # of x6 (solver), x8 (void), x9 (inspector)
    assert report.without_solution == [unsolved.id]
    assert any(w.startswith("1 numeric items carry no solution program") and unsolved.id in w for w in report.warnings)
    assert "set aside as self-contradicting: 1 (33% of such verdicts)" in quality_section(report)


async def test_the_report_says_for_how_many_choice_items_one_correct_option_was_computed_and_judged() -> None:
    models = StageModels(models={"generator": Script().model(), "judge": Script().model()},
                         names={"generator": "openai:gen", "judge": "openai:judge"})
    computed, judged = _mc(1), _mc(2)
    computed = computed.model_copy(update={"metadata": {"qc": {"checks": ["leakage", "executed", "inspector"]}}})
    judged = judged.model_copy(update={"metadata": {"qc": {"checks": ["leakage", "inspector"]}}})
    plain = make(NUM, question="How many pens are in 3 boxes of 5?", answer="15")
    report = await quality_report([computed, judged, plain], SPEC, PLAN, models=models, build_id="b1", records=[],
                                  sample_size=0)
    assert (report.options_computed, report.options_judged) == (1, 1)
    assert ("Exactly one correct option: computed by the item's solution program for 1 multiple-choice items; left to "
            "the judge model's review (no program) for 1") in quality_section(report)


def test_the_card_says_a_judge_that_is_the_generator_is_not_independent_and_who_judges_one_correct_option() -> None:
    items = [_mc(1)]
    own = _build_report(items).model_copy(update={"models": {"generator": "openai:gen", "judge": "openai:gen"}})
    card = dataset_card(own, items)
    assert "a review by the judge model, which is the generator's own model and so not independent" in card
    assert "exactly one option is correct is computed for multiple-choice items with a solution program" in card
    assert "no other option says the same value or name in another form" in card
    other = own.model_copy(update={"models": {"generator": "openai:gen", "judge": "openai:judge"}})
    assert "a different model from the generator" in dataset_card(other, items) and "independent review" not in card


async def test_the_report_counts_the_candidates_dropped_per_missed_constraint() -> None:
    models = StageModels(models={"generator": Script().model(), "judge": Script(submit_scores=[SCORES]).model()},
                         names={"generator": "openai:gen", "judge": "openai:judge"})
    steps, short = "at least 3 reasoning steps", "at most 30 words"
    records = [CheckRecord(sample_id=f"c{i}", check="constraints", outcome="dropped", issues=["off_intent"],
                           constraints=missed, reasons=["misses ..."])
               for i, missed in enumerate([[steps], [steps, short], [short], [steps]])]
    report = await quality_report([_mc(1)], SPEC, PLAN, models=models, build_id="b1", records=records, sample_size=0)
    assert report.constraint_misses == {steps: 3, short: 2}
    assert [c.dropped for c in report.checks if c.check == "constraints"] == [4]
    assert "missing a constraint: 'at least 3 reasoning steps' (3); 'at most 30 words' (2)" in quality_section(report)
