"""The phrase table: ways researchers ask for plan changes, each with the edits it must come to.

Each row of tests/data/plan_phrasings.jsonl holds a message, the typed edits (by subtask id) that it
asks for, and what must become of each of its instructions (and, under "unchanged", the instructions
that ask for what the plan already has). The expected plan is those edits applied
in order by `revise`, so a row states the meaning, not the reader's output. Every row is read by the
plain-command reader (as with the embedded model) and, where it asks for a change, by a scripted
model returning the row's edits (as with a real model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from tests.scripted import Script, stage_models
from tools.contracts import BenchmarkSpec, PlanEdit, Subtask, SubtaskPlan
from tools.errors import InvalidEdit
from tools.llm.stage import StageModels
from tools.stages.edit_reader import read_request
from tools.stages.refine import pin_edit, refine_plan, revise, revise_parts

SPEC = BenchmarkSpec(goal="g", capability="arithmetic", domain="word problems", answer_format="multiple_choice", size=20)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="fractions", name="Fractions", description="Adding fractions.", answer_format="multiple_choice", quota=10),
    Subtask(id="percent", name="Percentages and ratios", description="Percent.", answer_format="multiple_choice", quota=6),
    Subtask(id="geometry", name="Geometry", description="Areas.", answer_format="multiple_choice", quota=4),
])
_EDIT: TypeAdapter[PlanEdit] = TypeAdapter(PlanEdit)
ROWS = [json.loads(line) for line in (Path(__file__).parents[1] / "data" / "plan_phrasings.jsonl").read_text().splitlines()
        if line.strip()]


def _embedded(script: Script) -> StageModels:
    models = stage_models(script)
    models.names["chat"] = "embedded:smollm2-135m"
    return models


def _expected(row: dict[str, Any]) -> SubtaskPlan:
    return revise(PLAN, SPEC, [_EDIT.validate_python(e) for e in row["edits"]], max_size=500).plan


def test_the_table_has_at_least_150_phrasings_and_every_kind_of_instruction() -> None:
    assert len(ROWS) >= 150
    ops = {edit["op"] for row in ROWS for edit in row["edits"]}
    assert ops == {"drop", "add", "rename", "split", "merge", "quota", "size", "harder", "format", "scale", "easier",
                   "difficulty"}
    assert {o for row in ROWS for o in row["outcomes"]} == {"done", "not_understood", "not_possible", "not_asked"}
    assert sum(len(row["outcomes"]) > 1 for row in ROWS) >= 25, "compound messages"


@pytest.mark.parametrize("row", ROWS, ids=[row["text"][:60] for row in ROWS])
def test_the_plain_reader_gives_the_plan_each_phrasing_asks_for(row: dict[str, Any]) -> None:
    parts = read_request(row["text"], PLAN)
    assert [p.text for p in parts] and all(p.text for p in parts)
    if not row["edits"]:
        with pytest.raises(InvalidEdit, match=row.get("error")):
            revise_parts(PLAN, SPEC, parts, max_size=500)
        return
    revision = revise_parts(PLAN, SPEC, parts, max_size=500)
    assert [p.outcome for p in revision.parts] == row["outcomes"], [(p.text, p.outcome, p.note) for p in revision.parts]
    assert revision.plan == _expected(row)
    assert revision.plan.total == revision.spec.size, "quotas always sum to the size"
    unchanged = row.get("unchanged", [])  # parts that leave the plan as it already was ("geometry 6" when it has 6)
    assert all(bool(p.changes) != (i in unchanged) for i, p in enumerate(revision.parts) if p.outcome == "done"), \
        "every part done says what it changed"
    assert all(p.note for p in revision.parts if p.outcome == "not_possible"), "every part not done says why"


@pytest.mark.parametrize("row", ROWS, ids=[row["text"][:60] for row in ROWS])
async def test_with_the_embedded_model_the_reader_alone_decides(row: dict[str, Any]) -> None:
    script = Script(submit_edit=[{"edits": [{"op": "drop", "subtask": "1"}]}])  # what a toy model might say
    if not row["edits"]:
        with pytest.raises(InvalidEdit):
            await refine_plan(row["text"], PLAN, SPEC, models=_embedded(script), max_size=500)
    else:
        revision = await refine_plan(row["text"], PLAN, SPEC, models=_embedded(script), max_size=500)
        assert revision.plan == _expected(row)
    assert script.calls == {}, "the toy model's edits are never used"


@pytest.mark.parametrize("row", [r for r in ROWS if r["edits"]], ids=[r["text"][:60] for r in ROWS if r["edits"]])
async def test_a_real_model_reads_every_message_that_is_not_one_plain_command(row: dict[str, Any]) -> None:
    unclear = [f"part {i}" for i, o in enumerate(row["outcomes"]) if o == "not_understood"]
    negated = [f"part {i}" for i, o in enumerate(row["outcomes"]) if o == "not_asked"]
    script = Script(submit_edit=[{"edits": row["edits"], "not_understood": unclear, "not_asked": negated}])
    revision = await refine_plan(row["text"], PLAN, SPEC, models=stage_models(script), max_size=500)
    assert revision.plan == _expected(row)
    plain = row["outcomes"] == ["done"]
    assert bool(script.calls) != plain, "one plain command is read without a model, anything else by the model"
    if not plain:
        outcomes = [p.outcome for p in revision.parts]
        assert (outcomes.count("not_understood"), outcomes.count("not_asked")) == (len(unclear), len(negated))
        assert f"Request: {row['text']}" in script.calls["submit_edit"][0]


COMPOUND = [r for r in ROWS if len(r["outcomes"]) > 1 and set(r["outcomes"]) == {"done"} and not r.get("unchanged")]


@pytest.mark.parametrize("row", COMPOUND, ids=[r["text"][:60] for r in COMPOUND])
async def test_instructions_a_model_leaves_out_are_read_by_the_plain_reader(row: dict[str, Any]) -> None:
    first = read_request(row["text"], PLAN)[0]
    edits = [pin_edit(e, PLAN, PLAN).model_dump(exclude_none=True) for e in first.edits]
    script = Script(submit_edit=[{"edits": edits}])  # a weak model: the first instruction only
    revision = await refine_plan(row["text"], PLAN, SPEC, models=stage_models(script), max_size=500)
    assert revision.plan == _expected(row)
    assert [bool(p.note) for p in revision.parts] == [False] + [True] * (len(row["outcomes"]) - 1)


@pytest.mark.parametrize("row", [r for r in ROWS if r["edits"]], ids=[r["text"][:60] for r in ROWS if r["edits"]])
async def test_a_model_answer_that_says_nothing_leaves_the_message_to_the_plain_reader(row: dict[str, Any]) -> None:
    script = Script(submit_edit=[{}])  # a weak model's (or the fake endpoint's) empty answer
    revision = await refine_plan(row["text"], PLAN, SPEC, models=stage_models(script), max_size=500)
    assert revision.plan == _expected(row)
    assert [p.outcome for p in revision.parts] == row["outcomes"]
    assert ("returned no edit" in revision.note) == bool(script.calls), "the reply says how the message was read"


async def test_a_model_answer_that_accounts_for_every_instruction_is_not_second_guessed_by_the_reader() -> None:
    # One edit per instruction: the model's reading stands, even where the reader reads an instruction otherwise.
    script = Script(submit_edit=[{"edits": [{"op": "split", "subtask": "fractions"},
                                            {"op": "rename", "subtask": "geometry", "name": "Shapes"}]}])
    revision = await refine_plan("split Fractions and remove Geometry", PLAN, SPEC, models=stage_models(script),
                                 max_size=500)
    assert [s.name for s in revision.plan.subtasks] == ["Fractions (easy)", "Fractions (hard)", "Percentages and ratios",
                                                        "Shapes"]
    assert not [p for p in revision.parts if p.note]
