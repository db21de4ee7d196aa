"""Samples and scripted models for the quality-control tests: a sound item of each kind, and defects to plant."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.scripted import Script
from tools.contracts import BenchmarkSpec, Sample, SampleDraft, Subtask
from tools.llm.stage import StageModels
from tools.qc.schema import make_provenance, to_sample

SPEC = BenchmarkSpec(goal="word problems", capability="multi-step arithmetic", domain="shopping", answer_format="multiple_choice",
                     size=10)
MC = Subtask(id="mc", name="Change", description="Change after a purchase.", answer_format="multiple_choice", quota=5)
NUM = Subtask(id="num", name="Totals", description="Totals of a purchase.", answer_format="numeric", quota=5)
CODE = Subtask(id="code", name="Functions", description="Write a small function.", answer_format="short_answer", quota=5)
PROV = make_provenance("b1", "function:script", "function:script", 1, datetime(2026, 1, 1, tzinfo=UTC))
CLEAN: dict[str, Any] = {"question": "Ada buys 3 pens at $4 each and pays with a $20 note. How many dollars of change does she get?",
                         "choices": ["8", "12", "7", "9"], "answer": "8", "rationale": "20 - 3 x 4 = 8"}
EVEN_TESTS = "assert is_even(2)\nassert not is_even(3)\nassert is_even(0)\nassert not is_even(-7)"
NO_ISSUES: dict[str, Any] = {"issues": []}


def make(subtask: Subtask, **draft: Any) -> Sample:
    return to_sample(SampleDraft(**draft), subtask, PROV)


def with_solver(script: Script, *, solver: bool = True) -> StageModels:
    model = script.model()
    roles = ("chat", "generator", "judge", "solver") if solver else ("chat", "generator", "judge")
    return StageModels(models=dict.fromkeys(roles, model), names=dict.fromkeys(roles, "function:script"))  # type: ignore[arg-type]


def answering(truth: str) -> Any:
    """A solver that gives `truth`, as the letter of the option that says it when there are options."""

    def answer(prompt: str) -> dict[str, Any]:
        choices = re.search(r"^Choices: (.*)$", prompt, re.MULTILINE)
        if choices:
            for part in choices.group(1).split(" | "):
                letter, _, text = part.partition(") ")
                if text == truth:
                    return {"reasoning": "worked it out", "answer": letter}
        return {"reasoning": "worked it out", "answer": truth}

    return answer
