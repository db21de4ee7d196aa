from __future__ import annotations

from typing import Any

import pytest

from tests.scripted import Script
from tests.tools.qc_fixtures import NO_ISSUES, NUM, SPEC, answering, make, with_solver
from tools.contracts import SampleBrief
from tools.qc.constraints import check_constraints, program_steps, read_constraints
from tools.qc.gate import quality_gate

STEPS = SPEC.model_copy(update={"constraints": ["each needing at least 3 reasoning steps"]})
ONE_STEP = {"question": "Ada has 15 apples and gives away half of them. How many apples does she give away?",
            "answer": "7.5", "solution_code": "apples = 15\nprint(apples / 2)"}
THREE_STEPS = {"question": "Ada buys 3 pens at $4 and 2 books at $5, and pays with $30. How much change does she get?",
               "answer": "8", "solution_code": "print(30 - (3 * 4 + 2 * 5))"}


def test_constraints_are_read_in_the_specs_own_words_with_how_each_is_checked() -> None:
    spec = SPEC.model_copy(update={"constraints": ["at least three reasoning steps", "questions under 40 words",
                                                   "at least 12 words", "set in a bakery"], "language": "Chinese"})
    found = [(c.text, c.kind, c.number) for c in read_constraints(spec)]
    assert found == [("at least three reasoning steps", "steps", 3), ("questions under 40 words", "max_words", 39),
                     ("at least 12 words", "min_words", 12), ("set in a bakery", "judged", 0),
                     ("written in Chinese", "script", 0)]
    assert program_steps("print(30 - (3 * 4 + 2 * 5))") == 4 and program_steps("print(") is None


async def test_a_one_step_item_is_dropped_for_missing_the_step_constraint_without_a_model() -> None:
    script = Script()
    result = await quality_gate(make(NUM, **ONE_STEP), STEPS, NUM, models=with_solver(script))
    assert result.dropped is not None and result.dropped.check == "constraints"
    assert result.dropped.constraints == ["each needing at least 3 reasoning steps"]
    assert "its solution program takes 1 step(s), fewer than 3" in result.dropped.reasons[0] and script.calls == {}


async def test_an_item_with_enough_steps_passes_and_unmeasurable_constraints_go_to_the_inspector_verbatim() -> None:
    spec = STEPS.model_copy(update={"constraints": [*STEPS.constraints, "set in a bakery"]})
    script = Script(submit_inspection=[NO_ISSUES], submit_answer=[answering("8")])
    result = await quality_gate(make(NUM, **THREE_STEPS), spec, NUM, models=with_solver(script))
    assert result.sample is not None and ("constraints", "passed") in [(r.check, r.outcome) for r in result.records]
    assert "Constraints every item must meet (the spec's words): set in a bakery" in script.calls["submit_inspection"][0]
    assert "reasoning steps" not in script.calls["submit_inspection"][0].split("Constraints every item")[1].split("\n")[0]


def test_without_a_program_the_briefs_hops_are_counted() -> None:
    sample = make(NUM, question=ONE_STEP["question"], answer="7.5")
    brief = SampleBrief(facts=["15 apples"], hops=["halve 15", "write the result"], difficulty_plan="easy")
    [constraint] = read_constraints(STEPS)
    found = check_constraints(sample, [constraint], brief)
    assert [why for _, why in found.misses] == ["its design brief plans 2 step(s), fewer than 3"]
    assert check_constraints(sample, [constraint]).for_inspector == [constraint.text]  # nothing to count by


@pytest.mark.parametrize(("update", "question", "missed"), [
    ({"constraints": ["at most 10 words"]}, "Ada has 15 apples and gives away 5 of them today. How many are left?", True),
    ({"constraints": ["at most 20 words"]}, "Ada has 15 apples and gives away 5 of them today. How many are left?", False),
    ({"language": "Chinese"}, "Ada has 15 apples and gives away 5. How many are left?", True),
    ({"language": "Chinese"}, "小明有15个苹果，送出5个。还剩几个？", False),
    ({"language": "Spanish"}, "Ada has 15 apples and gives away 5 of them. How many are left in the basket?", True),
    ({"language": "Spanish"}, "Ana tiene 15 manzanas y regala 5 a su hermano. ¿Cuántas manzanas le quedan en la cesta?", False),
    ({"language": "French"}, "Ana tiene 15 manzanas y regala 5 a su hermano. ¿Cuántas le quedan en la cesta?", True),
    ({"language": "French"}, "Ada a 15 pommes et en donne 5 à son frère. Combien de pommes lui reste-t-il dans le panier ?", False),
])
def test_length_and_script_are_measured_on_the_question(update: dict[str, Any], question: str, missed: bool) -> None:
    sample = make(NUM, question=question, answer="10", solution_code="print(15 - 5)")
    assert bool(check_constraints(sample, read_constraints(SPEC.model_copy(update=update))).misses) is missed


def test_a_latin_script_language_too_short_to_tell_goes_to_the_inspector_in_the_specs_words() -> None:
    sample = make(NUM, question="15 - 5 = ?", answer="10", solution_code="print(15 - 5)")
    checked = check_constraints(sample, read_constraints(SPEC.model_copy(update={"language": "German"})))
    assert checked.misses == [] and checked.for_inspector == ["written in German"]
