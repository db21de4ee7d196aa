from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.scripted import Script
from tests.tools.material_fixtures import DOC, GROUNDED, PLAIN, View, cite, grounded_item
from tests.tools.qc_fixtures import CLEAN, MC, NO_ISSUES, SPEC, answering, make, with_solver
from tools.contracts import BuildReport, CheckRecord, Drop, Issue, RepairProposal, StageCount, SubtaskPlan
from tools.finish.quality import summarize_checks
from tools.qc.gate import QCOptions, check_candidate, quality_gate
from tools.qc.inspection import apply_repair, repair_sample, sample_lines
from tools.qc.schema import CheckFailed
from tools.qc.verify import judge_prompt

SHORT = SPEC.model_copy(update={"answer_format": "short_answer"})


def _checks(result: Any) -> list[tuple[str, str]]:
    return [(r.check, r.outcome) for r in result.records]


async def test_a_grounded_item_goes_leakage_evidence_inspector_re_solve_then_closed_book(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("1998")],
                    submit_closed_book_answer=[{"answer": "unknown"}])
    result = await quality_gate(grounded_item(), SHORT, GROUNDED, models=with_solver(script),
                                material=View(tmp_path / "material"))
    assert _checks(result) == [("leakage", "passed"), ("evidence", "passed"), ("inspector", "passed"),
                               ("solver", "passed"), ("closed_book", "passed")]
    assert result.sample is not None
    qc = result.sample.metadata["qc"]
    assert qc["checks"] == ["leakage", "evidence", "inspector", "solver", "closed_book"]
    assert qc["answerable_without_source"] is False and qc["solver_agreed"] is True


async def test_a_fabricated_span_drops_the_item_before_any_model_is_asked(tmp_path: Path) -> None:
    script = Script()  # any model call fails the test: the script has no answers
    sample = grounded_item(evidence=[cite(f"{DOC}:c1", "The Lisbon plant opened in 1987.")])
    result = await quality_gate(sample, SHORT, GROUNDED, models=with_solver(script), material=View(tmp_path / "m"))
    assert _checks(result) == [("leakage", "passed"), ("evidence", "dropped")]
    assert result.dropped is not None and "'The Lisbon plant opened in 1987.'" in result.dropped.reasons[0]
    assert "report.pdf, page 1" in result.dropped.reasons[0] and script.calls == {}


async def test_an_item_without_material_goes_through_the_gate_exactly_as_before(tmp_path: Path) -> None:
    def run(material: View | None) -> Any:
        script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("8")])
        return quality_gate(make(MC, **CLEAN), SPEC, MC, models=with_solver(script), material=material)

    with_view, without = await run(View(tmp_path / "material")), await run(None)
    assert _checks(with_view) == _checks(without) == [("leakage", "passed"), ("inspector", "passed"), ("solver", "passed")]
    assert with_view.sample is not None and without.sample is not None
    assert with_view.sample.metadata == without.sample.metadata
    assert "answerable_without_source" not in with_view.sample.metadata["qc"]


async def test_an_item_of_a_subtask_without_material_but_with_evidence_is_still_checked(tmp_path: Path) -> None:
    sample = grounded_item(PLAIN, evidence=[cite(f"{DOC}:c1", "opened in 1999")])
    result = await quality_gate(sample, SHORT, PLAIN, models=with_solver(Script()), material=View(tmp_path / "m"))
    assert _checks(result) == [("leakage", "passed"), ("evidence", "dropped")]


async def test_a_grounded_item_without_the_build_s_material_cannot_be_checked_and_is_dropped() -> None:
    result = await quality_gate(grounded_item(), SHORT, GROUNDED, models=with_solver(Script()))
    assert result.dropped is not None and result.dropped.check == "evidence"
    assert result.dropped.reasons == ["a grounded item, but no material was given to check its evidence against"]


async def test_with_the_evidence_check_off_a_fabricated_span_is_not_looked_for(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=[{"answer": "unknown"}])
    sample = grounded_item(evidence=[cite(f"{DOC}:c1", "made up")])
    result = await quality_gate(sample, SHORT, GROUNDED, models=with_solver(script),
                                options=QCOptions(resolve=False, evidence=False), material=View(tmp_path / "m"))
    assert _checks(result) == [("leakage", "passed"), ("inspector", "passed"), ("closed_book", "passed")]


async def test_the_single_judge_after_a_gate_without_inspector_sees_the_evidence(tmp_path: Path) -> None:
    script = Script(submit_verdict=[{"verdict": "accept"}], submit_closed_book_answer=[{"answer": "unknown"}])
    result = await check_candidate(grounded_item(), SHORT, GROUNDED, models=with_solver(script),
                                   options=QCOptions(inspect=False, repair=False, resolve=False),
                                   material=View(tmp_path / "m"))
    assert _checks(result) == [("leakage", "passed"), ("evidence", "passed"), ("closed_book", "passed"),
                               ("judge", "passed")]
    assert '<material id="E1" source="report.pdf" where="page 1">' in script.calls["submit_verdict"][0]


def test_the_inspector_and_the_judge_see_context_and_evidence_as_material_and_the_solver_sees_no_evidence() -> None:
    sample = grounded_item()
    inspector = "\n".join(sample_lines(sample, gold=True))
    assert ('Context:\n<material id="context">\nThe Lisbon plant opened in 1998.\nIt makes   ceramic tiles for export.'
            "\n</material>") in inspector
    assert ("Evidence the answer must follow from (quoted from the user's files):\n"
            '<material id="E1" source="report.pdf" where="page 1">\nThe Lisbon plant opened in 1998.\n</material>') in inspector
    assert inspector.index("It is data") < inspector.index("<material id")
    assert '<material id="E1"' in judge_prompt(sample, SHORT) and '<material id="context">' in judge_prompt(sample, SHORT)
    solver = "\n".join(sample_lines(sample, gold=False))
    assert '<material id="context">' in solver and "Evidence" not in solver and "Gold answer" not in solver


def test_an_ungrounded_item_is_shown_as_before() -> None:
    sample = make(MC, **CLEAN).model_copy(update={"context": "A shop sells pens."})
    assert sample_lines(sample, gold=False)[:2] == ["Answer format: multiple_choice", "Context: A shop sells pens."]
    assert "<material" not in judge_prompt(sample, SPEC)


async def test_a_repair_keeps_the_evidence_and_may_not_rewrite_the_quoted_context() -> None:
    sample = grounded_item()
    issue = Issue(kind="ambiguous", detail="'open' could mean opened to visitors")
    reworded = Script(submit_repair=[{"feasible": True, "question": "In which year did the Lisbon plant start work?"}])
    repaired = await repair_sample(sample, [issue], SHORT, GROUNDED, models=with_solver(reworded))
    assert repaired.evidence == sample.evidence and repaired.context == sample.context
    with pytest.raises(CheckFailed, match="the repair edited the context, which is quoted from the user's files"):
        apply_repair(sample, RepairProposal(feasible=True, context="The plant opened in 1998."), GROUNDED)


def test_the_quality_summary_counts_evidence_and_closed_book_once_each_from_the_gate_s_records() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    plan = SubtaskPlan(subtasks=[GROUNDED])
    build = BuildReport(build_id="b1", status="complete", spec=SHORT, plan=plan, requested=3, accepted=1,
                        stages=[StageCount(stage="evidence", attempted=3, passed=2, dropped=1),
                                StageCount(stage="closed_book", attempted=2, passed=1, dropped=1)],
                        subtasks=[], drop_reasons={},
                        drops=[Drop(subtask_id="plant", check="evidence", reason="the quoted span 'x' is not in its passage")],
                        models={}, usage={}, started_at=now, finished_at=now)
    records = [CheckRecord(sample_id="a", check="evidence", outcome="passed"),
               CheckRecord(sample_id="b", check="evidence", outcome="passed"),
               CheckRecord(sample_id="c", check="evidence", outcome="dropped",
                           reasons=["the quoted span 'x' is not in its passage (report.pdf, page 1, r:c1)"]),
               CheckRecord(sample_id="a", check="closed_book", outcome="passed"),
               CheckRecord(sample_id="b", check="closed_book", outcome="dropped", reasons=["answered correctly without "
                                                                                            "its image ('B'): ..."])]
    summary = {s.check: s for s in summarize_checks(records, build)}
    assert [list(summary)[i] for i in range(2)] == ["evidence", "closed_book"]
    assert (summary["evidence"].attempted, summary["evidence"].dropped) == (3, 1)
    assert (summary["closed_book"].attempted, summary["closed_book"].passed) == (2, 1)
    assert summary["evidence"].drop_reasons == {"the quoted span … is not in its passage …": 1}
