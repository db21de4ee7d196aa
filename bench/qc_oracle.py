"""The default model for `bench/qc_catch.py` when no real model is given: a scripted oracle.

It knows each planted item's ground truth, so with it the model-run checks' figures are a plumbing check
only (the oracle knows the answers): they show that a defect the model reports is routed to the right
check, repaired or dropped for the right reason, and say nothing about any model's judgement; pass
`--model` to measure a real model. Like a careful
reviewer without a calculator, its inspector checks facts, options and context but leaves
arithmetic to the independent solver, so both paths to a wrong answer are exercised.
Panel members are the same oracle with a skill level: they solve the items whose level is at most theirs.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from bench.qc_planted import TOTALS, Planted
from tools.contracts import LETTERS, SampleDraft


def _prompt(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        for part in getattr(message, "parts", []):
            if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                return part.content
    return ""


def _line(prompt: str, key: str) -> str | None:
    match = re.search(rf"^{key}: (.*)$", prompt, re.MULTILINE)
    return match.group(1).strip() if match else None


def _choices(prompt: str) -> list[str]:
    raw = _line(prompt, "Choices")
    if raw is None:
        return []
    if raw.startswith("["):
        return [str(c) for c in json.loads(raw)]
    return [part.partition(") ")[2] for part in raw.split(" | ")]


class Oracle:
    def __init__(self, items: list[Planted]) -> None:
        self.items = {p.draft.question.strip(): p for p in items}
        self.hardened = 0

    def model(self, skill: int | None = None) -> FunctionModel:
        def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
            tool = info.output_tools[0].name
            args = getattr(self, tool)(_prompt(messages), skill)
            return ModelResponse(parts=[ToolCallPart(tool, json.dumps(args))])

        return FunctionModel(respond, model_name="oracle" if skill is None else f"oracle-skill-{skill}")

    def _item(self, prompt: str) -> Planted | None:
        return self.items.get(_line(prompt, "Question") or "")

    def submit_inspection(self, prompt: str, skill: int | None) -> dict[str, Any]:
        item, issues = self._item(prompt), []
        if item is None:
            return {"issues": []}
        gold = _line(prompt, "Gold answer")
        if item.subtask.id in ("capitals", "naming") and gold is not None and gold != item.truth:  # facts, not sums
            issues.append({"kind": "wrong_answer", "detail": f"the correct answer is {item.truth}"})
        if len([c for c in _choices(prompt) if c in (item.truth, *item.also_correct)]) > 1:
            issues.append({"kind": "several_correct", "detail": f"{', '.join(item.also_correct)} is also correct"})
        if item.fixed_question and _line(prompt, "Question") != item.fixed_question:
            issues.append({"kind": "answer_leaked", "detail": "the question gives its answer away"})
        if item.needs_context and _line(prompt, "Context") is None:
            issues.append({"kind": "missing_context", "detail": "it refers to a table that is not given"})
        return {"issues": issues}

    def submit_repair(self, prompt: str, skill: int | None) -> dict[str, Any]:
        item = self._item(prompt)
        if item is not None and item.replacement and item.also_correct:
            choices = [item.replacement if c in item.also_correct else c for c in _choices(prompt)]
            return {"feasible": True, "choices": choices, "explanation": "replaced the second correct option"}
        if item is not None and item.fixed_question:
            self.items[item.fixed_question] = item
            return {"feasible": True, "question": item.fixed_question, "explanation": "removed the answer from the stem"}
        return {"feasible": False, "explanation": "no minimal edit keeps the gold answer"}

    def submit_answer(self, prompt: str, skill: int | None) -> dict[str, Any]:
        item = self._item(prompt)
        if item is None or (item.needs_context and _line(prompt, "Context") is None):
            return {"reasoning": "The question lacks what it needs.", "answer": "cannot tell"}
        answer = item.truth
        if skill is not None and item.level > skill:  # beyond this panel member: a near miss
            options = [c for c in _choices(prompt) if c != item.truth]
            answer = options[0] if options else str(int(item.truth) + 1) if item.truth.isdigit() else "unknown"
        choices = _choices(prompt)
        return {"reasoning": "Worked through it.", "answer": LETTERS[choices.index(answer)] if answer in choices else answer}

    def submit_adjudication(self, prompt: str, skill: int | None) -> dict[str, Any]:
        item = self._item(prompt)
        if item is None or _line(prompt, "Gold answer") == item.truth:
            return {"reasoning": "The gold answer follows.", "decision": "gold_correct"}
        return {"reasoning": f"The correct answer is {item.truth}.", "decision": "solver_correct"}

    def submit_scores(self, prompt: str, skill: int | None) -> dict[str, Any]:
        digest = hashlib.sha256(prompt.encode()).digest()
        base = {"user_intention_alignment": 78, "format_schema_quality": 88, "question_answer_coherence": 86,
                "context_question_correspondence": 80, "target_signal_dependency": 72, "skill_specific_challenge": 42}
        return {**{k: v + digest[i] % 9 - 4 for i, (k, v) in enumerate(base.items())}, "comment": "scripted oracle"}

    def submit_samples(self, prompt: str, skill: int | None) -> dict[str, Any]:
        """The hardener: a harder two-step item, registered so that the panel finds it hard."""
        self.hardened += 1
        a, b, c = 37 + self.hardened, 12 + self.hardened, 5 + self.hardened % 4
        question = f"A depot holds {a} crates of {b} jars; {c} crates break in transit. How many unbroken jars remain?"
        value = (a - c) * b
        draft = SampleDraft(question=question, answer=str(value), solution_code=f"print(({a} - {c}) * {b})")
        self.items[question] = Planted("hardened", TOTALS, draft, str(value), level=3)
        return {"samples": [draft.model_dump(exclude_none=True)]}
