"""Words about the user's material read without a model: which part to use, and what a data field is for."""

from __future__ import annotations

import pytest

from tools.contracts import SelectMaterial, SetFieldUse, Subtask, SubtaskPlan
from tools.stages.edit_reader import read_request
from tools.stages.material_words import read_field_use, read_selection
from tools.stages.spec_words import needs_material_in_text

PLAN = SubtaskPlan(subtasks=[
    Subtask(id="fractions", name="Fractions", description="d", answer_format="numeric", quota=4),
    Subtask(id="geometry", name="Geometry", description="d", answer_format="numeric", quota=4),
])


@pytest.mark.parametrize(("text", "action", "target", "subtask"), [
    ("use only chapter 3", "only", "chapter 3", None),
    ("only pages 2-5", "only", "pages 2-5", None),
    ("skip the appendix", "skip", "appendix", None),
    ("ignore data.csv", "skip", "data.csv", None),
    ("only rows 1-100", "only", "rows 1-100", None),
    ("focus on chapter 2 of the book", "only", "chapter 2", None),
    ("only pages 2-5 for Fractions", "only", "pages 2-5", "fractions"),
    ("use section Methods only", "only", "section Methods", None),
])
def test_a_selection_of_the_material_is_read_with_its_part_and_subtask(text: str, action: str, target: str,
                                                                       subtask: str | None) -> None:
    assert read_selection(text, PLAN) == SelectMaterial(op="material", action=action, target=target,  # type: ignore[arg-type]
                                                        subtask=subtask)


@pytest.mark.parametrize("text", ["only 10 samples", "use only multiple choice", "keep only Fractions",
                                  "only hard questions", "use numeric answers", "drop Fractions"])
def test_an_only_about_amounts_formats_difficulty_or_a_subtask_is_not_about_the_material(text: str) -> None:
    assert read_selection(text, PLAN) is None


@pytest.mark.parametrize(("text", "field", "use"), [
    ("use 'summary' as context", "summary", "context"),
    ("use summary as the context", "summary", "context"),
    ("the gold answer is in label", "label", "answer"),
    ('the answer is in the "label" column', "label", "answer"),
    ("treat label as the gold answer", "label", "answer"),
    ("'topic' is a label", "topic", "label"),
    ("ignore the id column", "id", "ignore"),
    ("write the questions from 'text'", "text", "question"),
    ("answers come from the target field", "target", "answer"),
])
def test_a_field_use_is_read_with_the_field_as_written(text: str, field: str, use: str) -> None:
    assert read_field_use(text) == SetFieldUse(op="field", field=field, use=use)  # type: ignore[arg-type]


def test_a_message_mixing_plan_and_material_edits_is_cut_into_its_instructions() -> None:
    parts = read_request("drop 2, use only chapter 3 and the gold answer is in label", PLAN)
    assert [p.outcome for p in parts] == ["done", "done", "done"]
    assert [p.edits[0].op for p in parts] == ["drop", "material", "field"]
    assert read_request("use only chapter 3 and skip the appendix", PLAN)[1].edits == [
        SelectMaterial(op="material", action="skip", target="appendix")]


@pytest.mark.parametrize(("text", "needs"), [
    ("30 questions that cannot be answered without the document", True),
    ("questions that need the attached report", True),
    ("items answerable only from the provided text", True),
    ("questions that can't be answered without reading the material", True),
    ("40 questions on European geography", False),
    ("use the material", False),
    ("questions that require data interpretation", False),
])
def test_a_request_for_items_that_need_the_material_is_recognised(text: str, needs: bool) -> None:
    assert needs_material_in_text(text) is needs
