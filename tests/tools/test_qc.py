from __future__ import annotations

from typing import Any

import pytest

from tests.scripted import Script
from tests.tools.qc_fixtures import CLEAN, CODE, EVEN_TESTS, MC, NO_ISSUES, NUM, SPEC, answering, make, with_solver
from tools.contracts import Subtask
from tools.qc.gate import NO_SOLUTION, QCOptions, check_candidate, quality_gate
from tools.qc.sandbox import SandboxLimits
from tools.qc.schema import CheckFailed

CORRECT_EVEN = "def is_even(n):\n    return n % 2 == 0"


def _checks(result: Any) -> list[tuple[str, str]]:
    return [(r.check, r.outcome) for r in result.records]


async def test_a_sound_item_passes_every_check_and_says_so_in_its_metadata() -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("8")])
    sample = make(MC, **CLEAN, solution_code="print(20 - 3 * 4)")
    result = await quality_gate(sample, SPEC, MC, models=with_solver(script))
    assert _checks(result) == [("leakage", "passed"), ("executed", "passed"), ("inspector", "passed"), ("solver", "passed")]
    assert result.sample is not None and result.sample.metadata["qc"]["solver_agreed"] is True
    assert "submit_adjudication" not in script.calls


async def test_a_wrong_gold_answer_is_caught_by_the_independent_solver_who_never_sees_it() -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("8")],
                    submit_adjudication=[{"reasoning": "20 - 12 = 8", "decision": "solver_correct"}])
    sample = make(MC, **{**CLEAN, "answer": "12", "rationale": "20 - 8 = 12"})
    result = await quality_gate(sample, SPEC, MC, models=with_solver(script))
    assert result.sample is None and result.dropped is not None
    assert (result.dropped.check, result.dropped.issues, result.dropped.agreed) == ("solver", ["wrong_answer"], False)
    solver_prompt = script.calls["submit_answer"][0]
    assert "Gold answer" not in solver_prompt and "20 - 8" not in solver_prompt
    assert "Gold answer: 12" in script.calls["submit_adjudication"][0] and "Solver answer: B) 8" in script.calls["submit_adjudication"][0]


async def test_a_disagreement_the_judge_settles_for_the_gold_answer_keeps_the_item_unagreed() -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("12")],
                    submit_adjudication=[{"reasoning": "the solver subtracted wrongly", "decision": "gold_correct"}])
    result = await quality_gate(make(MC, **CLEAN), SPEC, MC, models=with_solver(script))
    assert result.sample is not None
    solver = result.records[-1]
    assert (solver.check, solver.outcome, solver.agreed) == ("solver", "passed", False)


async def test_an_inspector_finding_a_wrong_answer_drops_the_item_without_trying_a_repair() -> None:
    script = Script(submit_inspection=[{"issues": [{"kind": "wrong_answer", "detail": "20 - 12 is 8, not 12"}]}])
    result = await quality_gate(make(MC, **{**CLEAN, "answer": "12"}), SPEC, MC, models=with_solver(script))
    assert result.dropped is not None and (result.dropped.check, result.dropped.issues) == ("inspector", ["wrong_answer"])
    assert "submit_repair" not in script.calls and "submit_answer" not in script.calls


TWO_CORRECT = {"question": "Which of these amounts, in dollars, can be paid exactly with $2 coins only?",
               "choices": ["4", "8", "7", "9"], "answer": "4"}
SEVERAL = {"issues": [{"kind": "several_correct", "detail": "8 can also be paid with $2 coins"}]}


async def test_two_correct_options_are_repaired_with_a_new_distractor_and_checked_again() -> None:
    repair = {"feasible": True, "choices": ["4", "5", "7", "9"], "explanation": "replaced the second even option 8 by 5"}
    script = Script(submit_inspection=[SEVERAL, NO_ISSUES], submit_repair=[repair], submit_answer=[answering("4")])
    result = await quality_gate(make(MC, **TWO_CORRECT), SPEC, MC, models=with_solver(script))
    assert _checks(result) == [("leakage", "passed"), ("inspector", "repaired"), ("solver", "passed")]
    repaired = result.sample
    assert repaired is not None and sorted(repaired.choices or []) == ["4", "5", "7", "9"] and repaired.answer == "4"
    assert repaired.metadata["repairs"] == [repair["explanation"]]
    assert result.records[1].issues == ["several_correct"] and len(script.calls["submit_inspection"]) == 2


@pytest.mark.parametrize(("repair", "why"), [
    ({"feasible": False, "explanation": "every option is even"}, "no minimal repair"),
    ({"feasible": True, "choices": ["6", "5", "7", "9"], "explanation": "new options"}, "gold answer's option"),
    ({"feasible": True, "explanation": "nothing"}, "changed nothing"),
])
async def test_two_correct_options_without_a_valid_minimal_fix_are_dropped(repair: dict[str, Any], why: str) -> None:
    script = Script(submit_inspection=[SEVERAL], submit_repair=[repair])
    result = await quality_gate(make(MC, **TWO_CORRECT), SPEC, MC, models=with_solver(script))
    assert result.dropped is not None and result.dropped.issues == ["several_correct"]
    assert why in result.dropped.reasons[-1]


async def test_a_repaired_item_still_flawed_on_a_second_inspection_is_dropped() -> None:
    repair = {"feasible": True, "choices": ["4", "6", "7", "9"], "explanation": "swapped a distractor"}
    script = Script(submit_inspection=[SEVERAL, SEVERAL], submit_repair=[repair])
    result = await quality_gate(make(MC, **TWO_CORRECT), SPEC, MC, models=with_solver(script))
    assert result.dropped is not None and "still flawed after repair" in result.dropped.reasons[-1]


LEAKED = {"question": "A shop sells 17 pens and then 25 more. How many pens did it sell? (The answer is 42.)", "answer": "42",
          "solution_code": "print(17 + 25)"}


async def test_an_answer_leaked_in_the_stem_is_caught_by_string_match_without_any_model() -> None:
    script = Script()
    result = await quality_gate(make(NUM, **LEAKED), SPEC, NUM, models=with_solver(script), options=QCOptions(repair=False))
    assert result.dropped is not None and (result.dropped.check, result.dropped.issues) == ("leakage", ["answer_leaked"])
    assert script.calls == {}


async def test_a_leaked_answer_is_repaired_by_rewording_the_stem() -> None:
    fixed = "A shop sells 17 pens and then 25 more. How many pens did it sell?"
    script = Script(submit_repair=[{"feasible": True, "question": fixed, "explanation": "removed the hint"}],
                    submit_inspection=[NO_ISSUES], submit_answer=[answering("42")])
    result = await quality_gate(make(NUM, **LEAKED), SPEC, NUM, models=with_solver(script))
    assert result.sample is not None and result.sample.question == fixed
    assert _checks(result)[0] == ("leakage", "repaired")


async def test_a_numeric_answer_off_by_one_is_caught_by_running_its_solution_code() -> None:
    script = Script()
    sample = make(NUM, question="A shop sells 17 pens and then 25 more. How many pens did it sell?", answer="43",
                  solution_code="print(17 + 25)")
    result = await quality_gate(sample, SPEC, NUM, models=with_solver(script))
    assert result.dropped is not None and result.dropped.check == "executed"
    assert "computes '42', not the gold answer '43'" in result.dropped.reasons[0]
    assert script.calls == {}


@pytest.mark.parametrize(("solution", "tests", "why"), [
    ("def is_even(n):\n    return n % 2 == 1", EVEN_TESTS, "fails its tests"),
    ("def is_even(n):\n    while True:\n        pass", EVEN_TESTS, "fails its tests"),
    (CORRECT_EVEN, "assert is_even(4) == is_even(4)", "trivially wrong solution"),
])
async def test_a_code_item_whose_reference_fails_or_whose_tests_accept_anything_is_dropped(
        solution: str, tests: str, why: str) -> None:
    sample = make(CODE, question="Write is_even(n) returning whether the integer n is even.", answer="is_even",
                  solution_code=solution, tests=tests)
    options = QCOptions(sandbox=SandboxLimits(timeout_s=3, cpu_s=1))
    result = await quality_gate(sample, SPEC, CODE, models=with_solver(Script()), options=options)
    assert result.dropped is not None and result.dropped.check == "executed" and why in result.dropped.reasons[0]


async def test_a_sound_code_item_passes_its_tests_and_is_not_re_solved() -> None:
    script = Script(submit_inspection=[NO_ISSUES])
    sample = make(CODE, question="Write is_even(n) returning whether the integer n is even.", answer="is_even",
                  solution_code=CORRECT_EVEN, tests=EVEN_TESTS)
    result = await quality_gate(sample, SPEC, CODE, models=with_solver(script))
    assert _checks(result) == [("leakage", "passed"), ("executed", "passed"), ("inspector", "passed")]
    assert result.sample is not None and result.sample.metadata["kind"] == "code" and result.sample.answer == CORRECT_EVEN


def test_code_items_must_be_short_answer_with_a_reference_defining_the_function() -> None:
    base = {"question": "Write is_even(n) returning whether n is even.", "answer": "is_even", "tests": EVEN_TESTS}
    with pytest.raises(CheckFailed, match="unit tests given for a numeric item"):
        make(NUM, **base, solution_code=CORRECT_EVEN)
    with pytest.raises(CheckFailed, match="without a reference solution"):
        make(CODE, **base)
    with pytest.raises(CheckFailed, match="does not define is_even"):
        make(CODE, **base, solution_code="def odd(n):\n    return n % 2")


async def test_without_a_solver_model_the_re_solve_is_skipped() -> None:
    script = Script(submit_inspection=[NO_ISSUES])
    result = await quality_gate(make(MC, **CLEAN), SPEC, MC, models=with_solver(script, solver=False))
    assert [r.check for r in result.records] == ["leakage", "inspector"] and result.sample is not None


async def test_an_inspector_that_never_gives_valid_output_costs_the_candidate_not_the_build() -> None:
    script = Script(submit_inspection=['{"issues": [{"kind": "nonsense"}]}'])
    result = await quality_gate(make(MC, **CLEAN), SPEC, MC, models=with_solver(script))
    assert result.dropped is not None and result.dropped.reasons == ["the inspector gave no valid output"]


async def test_an_ambiguous_item_found_by_the_solver_is_repaired_when_a_minimal_fix_exists() -> None:
    question = "Bo has 12 apples and eats some. How many are left if he eats 5?"
    subtask = Subtask(id="num", name="n", description="d", answer_format="numeric", quota=1)
    fixed = "Bo has 12 apples and eats exactly 5 of them. How many apples are left?"
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("between 7 and 12")],
                    submit_adjudication=[{"reasoning": "'some' clashes with 5", "decision": "ambiguous"}],
                    submit_repair=[{"feasible": True, "question": fixed, "explanation": "said exactly 5"}])
    sample = make(subtask, question=question, answer="7", solution_code="print(12 - 5)")
    result = await quality_gate(sample, SPEC, subtask, models=with_solver(script))
    assert result.sample is not None and result.sample.question == fixed
    assert (result.records[-1].check, result.records[-1].outcome, result.records[-1].issues) == ("solver", "repaired", ["ambiguous"])


async def test_a_numeric_item_without_a_solution_program_is_dropped_by_default_with_that_reason() -> None:
    script = Script()
    sample = make(NUM, question="A shop sells 17 pens and then 25 more. How many pens did it sell?", answer="42")
    result = await quality_gate(sample, SPEC, NUM, models=with_solver(script))
    assert result.dropped is not None and result.dropped.check == "executed"
    assert result.dropped.reasons == [NO_SOLUTION] and script.calls == {}


async def test_with_solutions_not_required_a_numeric_item_without_one_is_kept_and_flagged() -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("42")])
    sample = make(NUM, question="A shop sells 17 pens and then 25 more. How many pens did it sell?", answer="42")
    result = await quality_gate(sample, SPEC, NUM, models=with_solver(script),
                                options=QCOptions(require_solution_code=False))
    assert result.sample is not None and result.sample.metadata["qc"]["solution_program"] is False
    assert "executed" not in result.sample.metadata["qc"]["checks"]


SECOND_EQUAL = {"question": "Ada buys 3 pens at $4 each and pays with a $20 note. How many dollars of change does she get?",
                "choices": ["8", "8 dollars", "7", "9"], "answer": "8"}


async def test_a_multiple_choice_item_whose_computed_answer_matches_two_options_is_dropped_without_a_model() -> None:
    script = Script()
    sample = make(MC, **SECOND_EQUAL, solution_code="print(20 - 3 * 4)")
    result = await quality_gate(sample, SPEC, MC, models=with_solver(script))
    assert result.dropped is not None and (result.dropped.check, result.dropped.issues) == ("executed", ["several_correct"])
    assert "matches 2 options" in result.dropped.reasons[0] and script.calls == {}


async def test_a_computed_answer_matching_exactly_one_option_within_tolerance_passes() -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("8")])
    sample = make(MC, **CLEAN, solution_code="print(20 - 3 * 4.0)")  # prints 8.0, which only the option '8' equals
    result = await quality_gate(sample, SPEC, MC, models=with_solver(script))
    assert result.sample is not None and result.records[1].reasons == [
        "the solution code computes the gold answer, and it matches exactly one option"]


UNITS = {"question": "Ada buys 3 pens at $4 each and pays with a $20 note. How much change does she get?",
         "choices": ["$8", "$7", "$9", "$12"], "answer": "$8"}


async def test_options_written_with_units_are_matched_by_the_one_number_they_hold() -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("$8")])
    sample = make(MC, **UNITS, solution_code="print(20 - 3 * 4)")
    result = await quality_gate(sample, SPEC, MC, models=with_solver(script))
    executed = next(r for r in result.records if r.check == "executed")
    assert executed.outcome == "passed" and "matches exactly one option" in executed.reasons[0]


@pytest.mark.parametrize(("choices", "answer", "issue", "why"), [
    (["$8", "8", "$7", "$9"], "$8", "several_correct", "matches 2 options"),
    (["$8", "$7", "$9", "$12"], "$7", "wrong_answer", "not the gold answer '$7'"),
])
async def test_a_computed_answer_must_match_the_gold_option_and_no_other_whatever_the_units(
        choices: list[str], answer: str, issue: str, why: str) -> None:
    script = Script()
    sample = make(MC, **{**UNITS, "choices": choices, "answer": answer}, solution_code="print(20 - 3 * 4)")
    result = await quality_gate(sample, SPEC, MC, models=with_solver(script))
    assert result.dropped is not None and (result.dropped.check, result.dropped.issues) == ("executed", [issue])
    assert why in result.dropped.reasons[0] and script.calls == {}


TOTAL = {"question": "A shop sells 17 pens and then 25 more. How many pens did it sell?", "answer": "42",
         "solution_code": "print(17 + 25)"}


@pytest.mark.parametrize("issue", [
    {"kind": "wrong_answer", "detail": "the gold answer '42' does not match the calculated value of 42"},
    {"kind": "wrong_answer", "detail": "17 + 25 is not 42", "computed": "42.0"},
])
async def test_a_wrong_answer_verdict_whose_own_answer_is_the_gold_answer_is_void_and_drops_nothing(
        issue: dict[str, Any]) -> None:
    script = Script(submit_inspection=[{"issues": [issue]}], submit_answer=[answering("42")])
    result = await quality_gate(make(NUM, **TOTAL), SPEC, NUM, models=with_solver(script))
    assert result.sample is not None
    inspector = next(r for r in result.records if r.check == "inspector")
    assert inspector.outcome == "passed" and len(inspector.voided) == 1 and "void" in inspector.voided[0]
    assert "submit_repair" not in script.calls


async def test_a_wrong_answer_verdict_with_a_different_answer_still_drops_the_item() -> None:
    issue = {"kind": "wrong_answer", "detail": "the calculated value is 43", "computed": "43"}
    script = Script(submit_inspection=[{"issues": [issue]}])
    result = await quality_gate(make(NUM, **TOTAL), SPEC, NUM, models=with_solver(script))
    assert result.dropped is not None and result.dropped.check == "inspector" and result.dropped.voided == []


@pytest.mark.parametrize(("reasons", "kept"), [
    (["the gold answer '42' does not match the calculated value of 42"], True),
    (["the gold answer '42' does not match the calculated value of 42", "the question is ambiguous"], False),
    (["the correct answer is 41"], False),
])
async def test_a_single_judges_rejection_whose_every_reason_computes_the_gold_answer_is_void(
        reasons: list[str], kept: bool) -> None:
    script = Script(submit_verdict=[{"verdict": "reject", "reasons": reasons}])
    sample = make(NUM, **TOTAL)
    result = await check_candidate(sample, SPEC, NUM, models=with_solver(script), options=None)
    [record] = result.records
    assert (result.sample is not None) == kept and (record.outcome == "passed") == kept
    assert len(record.voided) == (1 if kept else 0) and (not kept or "void" in record.voided[0])


async def test_an_adjudication_against_the_gold_answer_that_computes_the_gold_answer_is_void() -> None:
    ruling = {"reasoning": "17 + 25 = 42", "answer": "42", "decision": "solver_correct"}
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("41")], submit_adjudication=[ruling])
    result = await quality_gate(make(NUM, **TOTAL), SPEC, NUM, models=with_solver(script))
    solver = result.records[-1]
    assert result.sample is not None and (solver.check, solver.outcome, solver.agreed) == ("solver", "passed", False)
    assert len(solver.voided) == 1 and "'42' is the gold answer" in solver.voided[0]
