"""What the user wants measured: the spec, and the questions that decide it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tools.contracts.base import AnswerFormat, Difficulty, LongText, Modality, Strict


class BenchmarkSpec(Strict):
    """What the user wants measured, agreed before anything is generated."""

    goal: LongText = Field(min_length=1, description="The user's request in one or two sentences.")
    capability: str = Field(min_length=1, max_length=200, description="The skill under test, e.g. 'multi-step arithmetic'.")
    domain: str = Field(min_length=1, max_length=200, description="Subject area, e.g. 'grade-school word problems'.")
    language: str = Field(default="English", min_length=1, max_length=60)
    answer_format: AnswerFormat
    size: int = Field(ge=1, description="Number of samples in the finished benchmark.")
    difficulty: Difficulty = "medium"
    modalities: list[Modality] = Field(default_factory=lambda: list[Modality](["text"]))
    constraints: list[str] = Field(default_factory=list, description="Requirements every sample must meet.")
    needs_material: bool = Field(
        default=False, description="Grounded builds: every item must need the user's material (items a model answers "
        "without it are dropped).")
    assumptions: list[str] = Field(default_factory=list, description="Choices made for the user, to be confirmed.")
    unsupported_requests: list[str] = Field(
        default_factory=list, description="Parts of the request this tool cannot do, stated plainly."
    )


class ClarifyingQuestion(Strict):
    field: Literal["capability", "domain", "answer_format", "size", "difficulty", "language", "other"]
    question: str = Field(min_length=1, max_length=300)
    default: str = Field(min_length=1, max_length=120, description="What is used if the user just says 'go'.")


class NeedsClarification(Strict):
    """A request too vague to build from: the questions that change the benchmark, and the draft so far."""

    questions: list[ClarifyingQuestion] = Field(min_length=1, max_length=3)
    draft: BenchmarkSpec


class SpecDraft(Strict):
    """The benchmark the user asked for, as far as they said. Leave a field null when the user did not say it."""

    goal: str = Field(min_length=1, max_length=400, description="The request restated in one sentence.")
    capability: str | None = Field(default=None, max_length=120, description="Skill under test, if the user named one.")
    domain: str | None = Field(default=None, max_length=120, description="Subject area, if the user named one.")
    language: str | None = Field(default=None, max_length=40)
    answer_format: AnswerFormat | None = None
    size: int | None = Field(default=None, ge=1, description="Number of samples, only if the user gave one.")
    difficulty: Difficulty | None = None
    modalities: list[Modality] = Field(default_factory=list, max_length=3)
    constraints: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=8)
    questions: list[ClarifyingQuestion] = Field(
        default_factory=list, max_length=3, description="Questions whose answers would change the benchmark."
    )
