"""What a request states is read from its words, whatever the model makes of it.

Each row of tests/data/request_phrasings.jsonl holds a request and the fields it states (size, subject
area, skill, answer format, difficulty, language), as the spec must hold them. Every row is read with a
model that fills nothing (as the embedded toy model often does), with one that fills fields with
sentences nobody said, and with a scripted real model that fills the stated fields itself. In each
case a stated field is never an assumption and never asked about again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.scripted import Script, stage_models
from tools.contracts import BenchmarkSpec, NeedsClarification
from tools.stages.requirements import analyze_request

ROWS = [json.loads(line) for line in (Path(__file__).parents[1] / "data" / "request_phrasings.jsonl").read_text().splitlines()
        if line.strip()]
LIMITS = {"max_size": 500, "default_size": 20}
LABELS = {"size": "Size", "domain": "Domain", "capability": "Capability", "answer_format": "Answer format",
          "difficulty": "Difficulty", "language": "Language"}
# What the toy model answers for most requests: sentences nobody said, and a question about the subject.
TOY = {"goal": "Questions", "capability": "The questions are good and we learn a lot from them in school every day.",
       "domain": "general knowledge", "size": 20, "answer_format": "multiple_choice", "difficulty": "medium",
       "questions": [{"field": "domain", "question": "Which subject area should the questions come from?",
                      "default": "science"}]}


def _real(row: dict[str, Any]) -> dict[str, Any]:
    """What a capable model returns: the stated fields (a size above the limit as written), nothing else."""
    stated = dict(row["stated"])
    if stated.get("size") == 500:
        stated.pop("size")  # the text's own figure (above the limit) is read from the words either way
    return {"goal": row["text"][:100], **stated}


def _check(result: BenchmarkSpec | NeedsClarification, row: dict[str, Any]) -> None:
    spec = result.draft if isinstance(result, NeedsClarification) else result
    for field, value in row["stated"].items():
        assert getattr(spec, field) == value, (field, getattr(spec, field))
        assert not [a for a in spec.assumptions if a.startswith(f"{LABELS[field]}:")], spec.assumptions
    if isinstance(result, NeedsClarification):
        asked = {q.field for q in result.questions}
        assert not asked & set(row["stated"]), f"asked again about {asked & set(row['stated'])}"


def test_the_table_covers_every_field_and_the_ways_sizes_are_written() -> None:
    assert len(ROWS) >= 40
    assert {field for row in ROWS for field in row["stated"]} == set(LABELS)
    texts = " ".join(row["text"] for row in ROWS)
    for written in ("60-item", "Six", "sixty", "5k", "1,200", "a dozen", "two dozen", "n=64", "30 of them"):
        assert written in texts


@pytest.mark.parametrize("row", ROWS, ids=[row["text"][:60] for row in ROWS])
async def test_a_model_that_fills_nothing_still_gets_what_the_request_states(row: dict[str, Any]) -> None:
    result = await analyze_request(row["text"], models=stage_models(Script(submit_spec=[{"goal": "x"}])), **LIMITS)
    _check(result, row)


@pytest.mark.parametrize("row", ROWS, ids=[row["text"][:60] for row in ROWS])
async def test_sentences_a_toy_model_made_up_do_not_replace_what_the_request_states(row: dict[str, Any]) -> None:
    toy = {k: v for k, v in TOY.items() if k not in row["stated"] or k in ("capability", "domain")}
    result = await analyze_request(row["text"], models=stage_models(Script(submit_spec=[toy])), **LIMITS)
    _check(result, row)


@pytest.mark.parametrize("row", ROWS, ids=[row["text"][:60] for row in ROWS])
async def test_a_real_model_reading_the_same_fields_gives_the_same_spec(row: dict[str, Any]) -> None:
    result = await analyze_request(row["text"], models=stage_models(Script(submit_spec=[_real(row)])), **LIMITS)
    _check(result, row)
