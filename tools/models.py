"""The contracts that pass between pipeline stages.

Every stage takes and returns these models, so a stage can be run, tested and resumed on its
own. Field descriptions are read by the LLM when a model is used as an output type: they are
prompts, written for it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AnswerFormat = Literal["multiple_choice", "short_answer", "numeric", "yes_no"]
Difficulty = Literal["easy", "medium", "hard", "mixed"]
Modality = Literal["text", "image", "audio"]
Role = Literal["chat", "generator", "judge", "solver"]
CheckName = Literal["parse", "schema", "duplicate", "judge"]

ANSWER_FORMATS: tuple[str, ...] = ("multiple_choice", "short_answer", "numeric", "yes_no")
SUPPORTED_MODALITIES: tuple[str, ...] = ("text",)

ShortText = Annotated[str, Field(min_length=1, max_length=400)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def slugify(text: str, *, max_length: int = 40) -> str:
    """A lowercase identifier made of letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "subtask"


# --- requirements -------------------------------------------------------------------------


class BenchmarkSpec(Strict):
    """What the user wants measured, agreed before anything is generated."""

    goal: str = Field(min_length=1, max_length=2000, description="The user's request in one or two sentences.")
    capability: str = Field(min_length=1, max_length=200, description="The skill under test, e.g. 'multi-step arithmetic'.")
    domain: str = Field(min_length=1, max_length=200, description="Subject area, e.g. 'grade-school word problems'.")
    language: str = Field(default="English", min_length=1, max_length=60)
    answer_format: AnswerFormat
    size: int = Field(ge=1, description="Number of samples in the finished benchmark.")
    difficulty: Difficulty = "medium"
    modalities: list[Modality] = Field(default_factory=lambda: ["text"])
    constraints: list[str] = Field(default_factory=list, description="Requirements every sample must meet.")
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


# --- design -------------------------------------------------------------------------------


class Subtask(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1, max_length=600)
    answer_format: AnswerFormat
    quota: int = Field(ge=1)


class SubtaskPlan(Strict):
    subtasks: list[Subtask] = Field(min_length=1, max_length=8)
    rationale: str = ""

    @model_validator(mode="after")
    def _ids_unique(self) -> SubtaskPlan:
        ids = [s.id for s in self.subtasks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"subtask ids must be unique, got {ids}")
        return self

    @property
    def total(self) -> int:
        return sum(s.quota for s in self.subtasks)


# --- samples ------------------------------------------------------------------------------


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
        return None if self.answer_index is None else "ABCDEFGHIJ"[self.answer_index]


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


# --- what the stage agents return (validated, then turned into the contracts above) --------


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


class SubtaskIdea(Strict):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=400, description="What the samples of this subtask test.")
    weight: int = Field(default=1, ge=1, le=5, description="Relative share of the benchmark, 1-5.")


class SubtaskProposal(Strict):
    """Subtasks that together cover the spec without overlapping."""

    subtasks: list[SubtaskIdea] = Field(min_length=1, max_length=4)
    rationale: str = Field(default="", max_length=400)


class SampleDraft(Strict):
    question: str = Field(min_length=1, max_length=800)
    context: str | None = Field(default=None, max_length=2000, description="Passage the question needs, if any.")
    choices: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=6, description="Multiple choice only: the options, the correct one included."
    )
    answer: str = Field(
        min_length=1, max_length=200, description="The correct answer; for multiple choice the exact text of the correct option."
    )
    rationale: str = Field(default="", max_length=600, description="Why the answer is correct.")


class SampleBatch(Strict):
    """The new benchmark samples, exactly as many as asked for."""

    samples: list[SampleDraft] = Field(min_length=1, max_length=20)


class JudgeVerdict(Strict):
    """An independent check of one sample."""

    verdict: Literal["accept", "reject"]
    reasons: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=5, description="Why the sample is wrong, unanswerable or ambiguous."
    )


# --- reports and exports ------------------------------------------------------------------


class StageCount(Strict):
    stage: str
    attempted: int = 0
    passed: int = 0
    dropped: int = 0


class TokenUsage(Strict):
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, other: TokenUsage) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens


class SubtaskOutcome(Strict):
    subtask_id: str
    quota: int
    accepted: int
    rounds: int
    top_drop_reasons: list[str] = Field(default_factory=list)

    @property
    def short(self) -> int:
        return max(0, self.quota - self.accepted)


class BuildReport(Strict):
    build_id: str
    status: Literal["complete", "short", "failed"]
    spec: BenchmarkSpec
    plan: SubtaskPlan
    requested: int
    accepted: int
    stages: list[StageCount]
    subtasks: list[SubtaskOutcome]
    drop_reasons: dict[str, int] = Field(description="Drop reason -> count, over every check.")
    drops: list[Drop]
    models: dict[str, str]
    usage: dict[str, TokenUsage] = Field(description="Token usage per model role.")
    answer_positions: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime

    @field_validator("drop_reasons")
    @classmethod
    def _counts_positive(cls, value: dict[str, int]) -> dict[str, int]:
        if any(v < 1 for v in value.values()):
            raise ValueError("drop reason counts must be positive")
        return value


class ExportedFile(Strict):
    path: str
    format: Literal["jsonl", "csv", "report", "card"]
    sha256: str
    rows: int | None = None


class ExportManifest(Strict):
    build_id: str
    directory: str
    files: list[ExportedFile]
    created_at: datetime


# --- progress -----------------------------------------------------------------------------


class BuildEvent(Strict):
    """What the pipeline tells whoever watches it (chat steps, CLI progress)."""

    stage: Literal["analyze", "design", "generate", "verify", "export", "build"]
    kind: Literal["started", "progress", "accepted", "rejected", "replenishing", "finished", "warning"]
    message: str
    subtask_id: str | None = None
    done: int | None = None
    total: int | None = None
