from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scripted import Script
from tests.tools.material_fixtures import GROUNDED, PICTURES, View, grounded_item, image_item
from tests.tools.qc_fixtures import NO_ISSUES, SPEC, answering, with_solver
from tools.contracts import BenchmarkSpec, SolverAnswer
from tools.qc.closed_book import ClosedBookOutcome, ask_closed_book, closed_book_prompt, closed_book_record, flagged
from tools.qc.gate import QCOptions, quality_gate

GROUNDED_SPEC = SPEC.model_copy(update={"answer_format": "short_answer"})
NEEDS_MATERIAL = GROUNDED_SPEC.model_copy(update={"needs_material": True})
UNKNOWN = {"reasoning": "The question refers to a report I do not have.", "answer": "unknown"}
UNKNOWN_ANSWER = SolverAnswer(**UNKNOWN)


def _gate(script: Script, spec: BenchmarkSpec, tmp_path: Path, sample: Any = None, subtask: Any = GROUNDED) -> Any:
    return quality_gate(sample or grounded_item(), spec, subtask, models=with_solver(script),
                        options=QCOptions(resolve=False), material=View(tmp_path / "material"))


async def test_the_closed_book_solver_sees_the_question_but_neither_the_context_nor_the_evidence() -> None:
    script = Script(submit_closed_book_answer=[UNKNOWN])
    sample = grounded_item()
    await ask_closed_book(sample, models=with_solver(script))
    prompt = script.calls["submit_closed_book_answer"][0]
    assert prompt == closed_book_prompt(sample) == ("Answer format: short_answer\n"
                                                    "Question: In which year did the Lisbon plant open?")
    assert sample.context and sample.context not in prompt and "1998" not in prompt and "<material" not in prompt


async def test_a_multiple_choice_item_keeps_its_options_and_an_image_item_is_asked_without_its_image() -> None:
    script = Script(submit_closed_book_answer=[UNKNOWN])
    sample = image_item()
    await ask_closed_book(sample, models=with_solver(script))
    prompt = script.calls["submit_closed_book_answer"][0]
    assert sample.choices and "Choices: " + " | ".join(f"{'ABCD'[i]}) {c}" for i, c in enumerate(sample.choices)) in prompt
    assert "images/" not in prompt and "image that is not shown" not in prompt


async def test_an_item_the_solver_answers_without_the_material_is_flagged_and_kept_when_material_is_optional(
        tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=[answering("1998")])
    result = await _gate(script, GROUNDED_SPEC, tmp_path)
    assert result.sample is not None
    assert result.sample.metadata["qc"]["answerable_without_source"] is True
    closed = result.records[-1]
    assert (closed.check, closed.outcome, closed.agreed, closed.solver_answer) == ("closed_book", "passed", True, "1998")
    assert closed.reasons == ["answered correctly without the material (answered '1998'); kept and flagged"]


async def test_an_item_the_solver_cannot_answer_without_the_material_is_flagged_false(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=[UNKNOWN])
    result = await _gate(script, NEEDS_MATERIAL, tmp_path)
    assert result.sample is not None and result.sample.metadata["qc"]["answerable_without_source"] is False
    assert result.records[-1].reasons == ["not answered without the material (answered 'unknown')"]


async def test_a_wrong_closed_book_answer_counts_as_not_answerable() -> None:
    outcome = await ask_closed_book(grounded_item(), models=with_solver(Script(submit_closed_book_answer=[answering("2001")])))
    assert outcome.answerable is False and outcome.flag == "answerable_without_source"


async def test_when_every_item_must_need_the_material_one_answered_without_it_is_dropped(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=[answering("1998")])
    result = await _gate(script, NEEDS_MATERIAL, tmp_path)
    assert result.sample is None and result.dropped is not None
    assert result.dropped.check == "closed_book"
    assert result.dropped.reasons == ["answered correctly without the material (answered '1998'): the item does not "
                                      "need the user's files, and the spec requires every item to need them"]
    assert "submit_repair" not in script.calls  # no repair: a new item is written instead


async def test_an_image_item_answered_blind_is_dropped_even_when_material_is_optional(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=[answering("July")])
    sample = image_item()
    result = await _gate(script, GROUNDED_SPEC, tmp_path, sample, PICTURES)
    assert result.sample is None and result.dropped is not None
    assert (result.dropped.check, result.dropped.reasons) == ("closed_book", [
        f"answered correctly without its image (answered {sample.answer_letter!r}): the item does not need its image"])


async def test_an_image_item_not_answered_blind_is_kept_flagged_and_not_re_solved(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=[UNKNOWN], submit_answer=[answering("July")])
    result = await quality_gate(image_item(), GROUNDED_SPEC, PICTURES, models=with_solver(script),
                                material=View(tmp_path / "material"))
    assert result.sample is not None
    assert result.sample.metadata["qc"]["answerable_blind"] is False
    assert "answerable_without_source" not in result.sample.metadata["qc"]
    assert "submit_answer" not in script.calls  # the solver cannot see the image: no re-solve


def test_the_flag_is_merged_into_the_quality_metadata_already_there() -> None:
    sample = grounded_item()
    sample = sample.model_copy(update={"metadata": {**sample.metadata, "qc": {"checks": ["leakage"]}}})
    outcome = ClosedBookOutcome(answer=UNKNOWN_ANSWER, answerable=False, image=False)
    assert flagged(sample, outcome).metadata["qc"] == {"checks": ["leakage"], "answerable_without_source": False}


@pytest.mark.parametrize(("image", "answerable", "needs", "dropped"), [
    (False, False, False, False), (False, True, False, False), (False, True, True, True), (False, False, True, False),
    (True, True, False, True), (True, False, True, False),
])
def test_what_is_dropped_depends_on_the_item_kind_the_answer_and_the_spec(
        image: bool, answerable: bool, needs: bool, dropped: bool) -> None:
    spec = GROUNDED_SPEC.model_copy(update={"needs_material": needs})
    record = closed_book_record(grounded_item(), ClosedBookOutcome(UNKNOWN_ANSWER, answerable, image), spec)
    assert (record.outcome == "dropped") is dropped


async def test_a_solver_giving_no_valid_answer_leaves_the_item_unflagged(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES], submit_closed_book_answer=['{"nope": 1}'])
    result = await _gate(script, NEEDS_MATERIAL, tmp_path)
    assert result.sample is not None and "answerable_without_source" not in result.sample.metadata["qc"]
    assert result.records[-1].reasons == ["the solver gave no valid output; not asked without the material"]


async def test_without_a_solver_model_the_closed_book_check_is_skipped_like_the_re_solve(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES])
    result = await quality_gate(grounded_item(), NEEDS_MATERIAL, GROUNDED, models=with_solver(script, solver=False),
                                material=View(tmp_path / "material"))
    assert result.sample is not None and [r.check for r in result.records] == ["leakage", "evidence", "inspector"]


async def test_the_closed_book_check_can_be_turned_off(tmp_path: Path) -> None:
    script = Script(submit_inspection=[NO_ISSUES])
    result = await quality_gate(grounded_item(), NEEDS_MATERIAL, GROUNDED, models=with_solver(script),
                                options=QCOptions(resolve=False, closed_book=False), material=View(tmp_path / "material"))
    assert result.sample is not None and "closed_book" not in [r.check for r in result.records]
