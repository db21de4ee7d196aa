"""Samples as the benchmark holds them, and the candidates that did not make it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from tools.contracts.base import LETTERS, AnswerFormat, CheckName, Strict
from tools.contracts.material import Evidence


class PreviewItem(Strict):
    """One preview sample shown to the user before the build, and what the user made of it."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    subtask_id: str
    answer_format: AnswerFormat
    question: str
    context: str | None = None
    choices: list[str] | None = None
    answer: str
    rationale: str = ""
    status: Literal["pending", "accepted", "rejected", "edited"] = "pending"
    reason: str | None = Field(default=None, description="Why the user rejected it, or what they changed.")
    checks: list[str] = Field(default_factory=list, description="The quality gate's verdicts, one line per check.")
    evidence: list[str] = Field(
        default_factory=list, description="Items written from the user's material: what each cites, one line each.")


class Provenance(Strict):
    build_id: str
    generator_model: str
    judge_model: str | None = None
    attempt: int = Field(ge=0, description="Generation round in which the sample was made.")
    created_at: datetime


class Sample(Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+-[0-9a-f]{12}$", description="Stable id: subtask id + content hash.")
    subtask_id: str
    answer_format: AnswerFormat
    question: str = Field(min_length=1)
    context: str | None = None
    choices: list[str] | None = None
    answer: str = Field(min_length=1, description="For multiple choice, the text of the correct option.")
    answer_index: int | None = Field(default=None, ge=0, description="Position of the answer in choices.")
    rationale: str = ""
    evidence: list[Evidence] = Field(default_factory=list, description="Grounded items: the material they rest on.")
    image: str | None = Field(default=None, pattern=r"^images/[0-9a-f]{64}[.](png|jpg|webp)$",
                              description="Image items: the image, relative to the benchmark's folder.")
    provenance: Provenance
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _choices_consistent(self) -> Sample:
        if self.answer_format == "multiple_choice":
            if not self.choices or self.answer_index is None:
                raise ValueError("a multiple-choice sample needs choices and answer_index")
            if self.choices[self.answer_index] != self.answer:
                raise ValueError("answer_index must point at the answer")
        elif self.choices is not None or self.answer_index is not None:
            raise ValueError("only multiple-choice samples carry choices")
        return self

    @property
    def answer_letter(self) -> str | None:
        return None if self.answer_index is None else LETTERS[self.answer_index]


class Verdict(Strict):
    sample_id: str
    check: CheckName
    accepted: bool
    reasons: list[str] = Field(default_factory=list)
    duplicate_of: str | None = None
    score: float | None = None


class Drop(Strict):
    """A candidate that did not make it into the benchmark, and why."""

    subtask_id: str
    check: CheckName
    reason: str
    sample_id: str | None = None
    question: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = Field(default=None, description="For duplicates: similarity to `duplicate_of`.")
    batch: str | None = Field(default=None, description="The generation batch the candidate came from.")
    wave: int | None = Field(default=None, description="That batch's position in the build's plan of batches.")
