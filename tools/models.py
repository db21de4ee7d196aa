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
CheckName = Literal["parse", "schema", "duplicate", "judge", "leakage", "executed", "inspector", "solver", "panel"]

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


class PriorOverlap(Strict):
    """A known benchmark close to a subtask, and what makes ours different."""

    name: str
    score: float = Field(ge=0, le=1)
    how_we_differ: str = ""


class Subtask(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1, max_length=600)
    answer_format: AnswerFormat
    quota: int = Field(ge=1)
    overlaps: list[PriorOverlap] = Field(default_factory=list)
    difficulty: Difficulty | None = Field(default=None, description="This subtask's difficulty, if not the spec's.")
    guidance: list[str] = Field(
        default_factory=list, description="Instructions for its generator, e.g. from the user's review of preview samples."
    )


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


# --- plan refinement ----------------------------------------------------------------------

SubtaskRef = Annotated[str, Field(min_length=1, max_length=120, description="A subtask's id, name or number (1 = first).")]


class DropSubtask(Strict):
    """Remove a subtask; its samples go to the others."""

    op: Literal["drop"]
    subtask: SubtaskRef


class AddSubtask(Strict):
    """Add a new subtask."""

    op: Literal["add"]
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=400, description="What its samples test.")
    quota: int | None = Field(default=None, ge=1, description="Its number of samples; null for an even share.")


class RenameSubtask(Strict):
    """Give a subtask a new name (and optionally a new description)."""

    op: Literal["rename"]
    subtask: SubtaskRef
    name: str = Field(min_length=1, max_length=80, description="The new name.")
    description: str | None = Field(default=None, max_length=400)


class SplitSubtask(Strict):
    """Split a subtask into an easy and a hard subtask."""

    op: Literal["split"]
    subtask: SubtaskRef


class MergeSubtasks(Strict):
    """Merge two or more subtasks into one."""

    op: Literal["merge"]
    subtasks: list[SubtaskRef] = Field(min_length=2, max_length=4)
    name: str | None = Field(default=None, max_length=80, description="Name of the merged subtask; null to combine the names.")


class SetQuota(Strict):
    """Change how many samples one subtask gets; the others absorb the difference."""

    op: Literal["quota"]
    subtask: SubtaskRef
    quota: int = Field(ge=1)


class SetSize(Strict):
    """Change the total number of samples; the quotas are scaled."""

    op: Literal["size"]
    size: int = Field(ge=1)


class MakeHarder(Strict):
    """Make one subtask, or the whole benchmark (subtask null), harder."""

    op: Literal["harder"]
    subtask: SubtaskRef | None = None


class ChangeFormat(Strict):
    """Change the answer format of one subtask, or of all (subtask null)."""

    op: Literal["format"]
    answer_format: AnswerFormat
    subtask: SubtaskRef | None = None


PlanEdit = Annotated[
    DropSubtask | AddSubtask | RenameSubtask | SplitSubtask | MergeSubtasks | SetQuota | SetSize | MakeHarder
    | ChangeFormat,
    Field(discriminator="op"),
]
EDIT_OPS: tuple[str, ...] = ("drop", "add", "rename", "split", "merge", "quota", "size", "harder", "format")


class EditRequest(Strict):
    """The changes to the plan that the user's message asks for, in order; none if it asks for no plan change."""

    edits: list[PlanEdit] = Field(default_factory=list, max_length=3)


class PlanRevision(Strict):
    """A plan after edits: the new plan, the spec kept consistent with it, and what changed, in words."""

    plan: SubtaskPlan
    spec: BenchmarkSpec
    edits: list[PlanEdit]
    changes: list[str]


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
    similarity: float | None = Field(default=None, description="For duplicates: similarity to `duplicate_of`.")
    batch: str | None = Field(default=None, description="The generation batch the candidate came from.")
    wave: int | None = Field(default=None, description="That batch's position in the build's plan of batches.")


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
        min_length=1, max_length=200,
        description="The correct answer; for multiple choice the exact text of the correct option; "
        "for a code item the name of the function to write.",
    )
    rationale: str = Field(default="", max_length=600, description="Why the answer is correct.")
    solution_code: str | None = Field(
        default=None, max_length=2000,
        description="Numeric or computed answers: a short Python program (standard library only) that computes the "
        "answer and prints only it. Code items: the reference implementation of the function.",
    )
    tests: str | None = Field(
        default=None, max_length=2000,
        description="Code items only: Python assert statements that call the function and pass with the reference.",
    )


class SampleBatch(Strict):
    """The new benchmark samples, exactly as many as asked for."""

    samples: list[SampleDraft] = Field(min_length=1, max_length=20)


# What the generator is asked for, per answer format: the schema itself states the format, so even
# a weak model's output has the right shape. Each converts to the general `SampleDraft`.


class _DraftCore(Strict):
    question: str = Field(min_length=1, max_length=800)
    context: str | None = Field(default=None, max_length=2000, description="Passage the question needs, if any.")
    rationale: str = Field(default="", max_length=600, description="Why the answer is correct.")
    solution_code: str | None = Field(
        default=None, max_length=2000,
        description="A short Python program (standard library only) that computes the answer and prints only it.",
    )

    def _core(self) -> dict[str, Any]:
        return {"question": self.question, "context": self.context, "rationale": self.rationale,
                "solution_code": self.solution_code}


class ChoiceDraft(_DraftCore):
    choices: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=3, max_length=6, description="Short, distinct options; exactly one is correct."
    )
    correct_choice: int = Field(ge=0, le=5, description="Position of the correct option in choices, counting from 0.")

    @model_validator(mode="after")
    def _index_in_range(self) -> ChoiceDraft:
        if self.correct_choice >= len(self.choices):
            raise ValueError(f"correct_choice {self.correct_choice} is past the last of {len(self.choices)} choices")
        return self

    def to_draft(self) -> SampleDraft:
        return SampleDraft(**self._core(), choices=self.choices, answer=self.choices[self.correct_choice])


class NumericDraft(_DraftCore):
    answer: str = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", max_length=40, description="The number only, no units.")

    def to_draft(self) -> SampleDraft:
        return SampleDraft(**self._core(), answer=self.answer)


class YesNoDraft(_DraftCore):
    answer: Literal["Yes", "No"]

    def to_draft(self) -> SampleDraft:
        return SampleDraft(**self._core(), answer=self.answer)


class ChoiceBatch(Strict):
    """The new multiple-choice samples, exactly as many as asked for."""

    samples: list[ChoiceDraft] = Field(min_length=1, max_length=20)


class NumericBatch(Strict):
    """The new samples with numeric answers, exactly as many as asked for."""

    samples: list[NumericDraft] = Field(min_length=1, max_length=20)


class YesNoBatch(Strict):
    """The new yes/no samples, exactly as many as asked for."""

    samples: list[YesNoDraft] = Field(min_length=1, max_length=20)


class JudgeVerdict(Strict):
    """An independent check of one sample."""

    verdict: Literal["accept", "reject"]
    reasons: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=5, description="Why the sample is wrong, unanswerable or ambiguous."
    )


# --- quality control ----------------------------------------------------------------------

IssueKind = Literal[
    "off_intent", "unanswerable", "wrong_answer", "ambiguous", "several_correct", "answer_leaked",
    "wrong_answer_type", "schema", "missing_context",
]
# No minimal edit fixes these without a new gold answer or new material: the sample is dropped.
FATAL_ISSUES: frozenset[str] = frozenset({"wrong_answer", "missing_context", "off_intent"})
QualityDimension = Literal[
    "user_intention_alignment", "format_schema_quality", "question_answer_coherence",
    "context_question_correspondence", "target_signal_dependency", "skill_specific_challenge",
]
QUALITY_DIMENSIONS: tuple[str, ...] = (
    "user_intention_alignment", "format_schema_quality", "question_answer_coherence",
    "context_question_correspondence", "target_signal_dependency", "skill_specific_challenge",
)
Bounded = Annotated[str, Field(min_length=1, max_length=200)]


class SampleBrief(Strict):
    """The design of one sample, written before the sample itself."""

    facts: list[Bounded] = Field(min_length=1, max_length=4, description="Facts the sample relies on; they must stay true.")
    hops: list[Bounded] = Field(min_length=2, max_length=4, description="The reasoning steps a solver must take, in order.")
    difficulty_plan: str = Field(min_length=1, max_length=200, description="What makes the item as hard as asked.")
    leakage_guards: list[Bounded] = Field(default_factory=list, max_length=3, description="What the question must not reveal.")
    distractor_plan: str | None = Field(
        default=None, max_length=200,
        description="Multiple choice only: how each wrong option differs minimally from the correct one, so that only "
        "the needed evidence rules it out.",
    )


class BriefSet(Strict):
    """One design brief per sample to write, in order."""

    briefs: list[SampleBrief] = Field(min_length=1, max_length=20)


class Issue(Strict):
    kind: IssueKind
    detail: str = Field(min_length=1, max_length=200, description="What exactly is wrong, quoting the sample.")


class Inspection(Strict):
    """The problems found in one benchmark sample; an empty list when it is sound."""

    issues: list[Issue] = Field(default_factory=list, max_length=5)


class RepairProposal(Strict):
    """The smallest edit that removes the issues while keeping the gold answer, or feasible=false."""

    feasible: bool = Field(description="False when no edit can fix the sample without changing its gold answer.")
    question: str | None = Field(default=None, max_length=800, description="The corrected question, or null to keep it.")
    context: str | None = Field(default=None, max_length=2000, description="The corrected context, or null to keep it.")
    choices: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=6,
        description="Multiple choice only: the corrected options, the gold answer's text kept exactly; null to keep them.",
    )
    explanation: str = Field(default="", max_length=300, description="What was changed and why.")


class SolverAnswer(Strict):
    """Your own answer to the question."""

    reasoning: str = Field(default="", max_length=400, description="Brief working, before the answer.")
    answer: str = Field(
        min_length=1, max_length=200,
        description="Multiple choice: the letter of the chosen option. Otherwise the answer only, without explanation.",
    )


class Adjudication(Strict):
    """Who is right when an independent solver's answer differs from the gold answer."""

    reasoning: str = Field(default="", max_length=400)
    decision: Literal["gold_correct", "equivalent", "solver_correct", "ambiguous", "neither_correct"] = Field(
        description="gold_correct: the gold answer is right and the solver erred; equivalent: both give the same answer "
        "in different words; solver_correct: the gold answer is wrong; ambiguous: the question allows both; "
        "neither_correct: both are wrong."
    )


class QualityScores(Strict):
    """Scores from 0 (worst) to 100 (best) for one benchmark item."""

    user_intention_alignment: int = Field(ge=0, le=100, description="Does the item test what the user asked for?")
    format_schema_quality: int = Field(
        ge=0, le=100, description="Is it well formed: clear stem, answer of the stated type, clean symmetric options?"
    )
    question_answer_coherence: int = Field(ge=0, le=100, description="Is the gold answer correct and the only right one?")
    context_question_correspondence: int = Field(
        ge=0, le=100, description="Does the question fit its context, or stand alone when there is none?"
    )
    target_signal_dependency: int = Field(
        ge=0, le=100, description="Does answering need the targeted input and skill, not guessing or the options alone?"
    )
    skill_specific_challenge: int = Field(
        ge=0, le=100, description="How much does it challenge the skill under test? 100 = hard even for strong models."
    )
    comment: str = Field(default="", max_length=300)


class CheckRecord(Strict):
    """One quality-control check of one candidate sample, with its reasons."""

    sample_id: str
    check: CheckName
    outcome: Literal["passed", "repaired", "dropped"]
    reasons: list[str] = Field(default_factory=list)
    issues: list[IssueKind] = Field(default_factory=list)
    agreed: bool | None = Field(default=None, description="Solver check: the independent answer matched the gold answer.")
    solver_answer: str | None = None


class GateResult(Strict):
    """What the quality gate made of one candidate: the sample (possibly repaired) or None, and every check's record."""

    sample: Sample | None
    records: list[CheckRecord] = Field(default_factory=list)

    @property
    def dropped(self) -> CheckRecord | None:
        return next((r for r in self.records if r.outcome == "dropped"), None)


class ItemQuality(Strict):
    sample_id: str
    subtask_id: str
    scores: QualityScores


class ItemDifficulty(Strict):
    sample_id: str
    subtask_id: str
    accuracy: dict[str, float] = Field(description="Panel model -> share of its attempts answered correctly.")
    difficulty: float = Field(ge=0, le=1, description="1 - the best panel model's accuracy.")
    separability: float = Field(ge=0, le=1, description="Mean absolute deviation of the panel models' accuracies.")


class SubtaskDifficulty(Strict):
    subtask_id: str = Field(description="A subtask id, or 'all' for the whole benchmark.")
    items: int
    accuracy: dict[str, float]
    difficulty: float = Field(ge=0, le=1)
    separability: float = Field(ge=0, le=1)
    saturated: int = Field(description="Items every panel model solved.")


class PanelReport(Strict):
    models: list[str]
    attempts: int = Field(ge=1, description="Answers per model and item.")
    items: list[ItemDifficulty]
    subtasks: list[SubtaskDifficulty]
    overall: SubtaskDifficulty
    accuracy: float = Field(ge=0, le=1, description="Mean accuracy of the panel over the benchmark.")
    band: tuple[float, float] | None = Field(default=None, description="Target accuracy band, e.g. (0.2, 0.6).")
    in_band: bool | None = None
    hardened: int = 0
    hardening_failed: int = 0
    rounds: int = 0
    notes: list[str] = Field(default_factory=list)


class CheckSummary(Strict):
    check: CheckName
    attempted: int = 0
    passed: int = 0
    repaired: int = 0
    dropped: int = 0
    drop_reasons: dict[str, int] = Field(default_factory=dict)


class QualityReport(Strict):
    """The benchmark's quality in numbers, written as quality.json and summarised in the dataset card."""

    build_id: str
    judge_model: str
    generator_model: str
    items: int
    scored: int
    dimensions: dict[QualityDimension, float] = Field(description="Mean judge score 0-100 per dimension.")
    item_scores: list[ItemQuality] = Field(default_factory=list)
    checks: list[CheckSummary] = Field(default_factory=list)
    resolved: int = Field(default=0, description="Items answered by the independent solver.")
    agreement_rate: float | None = Field(default=None, description="Share of re-solved items where the solver agreed.")
    executed: int = Field(default=0, description="Items whose answer was checked by running code.")
    executed_pass_rate: float | None = None
    answer_positions: dict[str, int] = Field(default_factory=dict)
    positions_balanced: bool | None = None
    panel: PanelReport | None = None
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime


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


class CostEstimate(Strict):
    """What a build is expected to spend, shown before it starts."""

    calls: int
    input_tokens: int
    output_tokens: int
    cost: float | None = Field(description="US dollars; None when a model's price is unknown.")
    per_role: dict[str, TokenUsage]
    assumed_acceptance: float


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
    status: Literal["complete", "short", "stopped", "failed"]
    stop_reason: str | None = Field(default=None, description="Why the build stopped before its quotas were met.")
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
    cost: float | None = Field(default=None, description="US dollars spent; None when a price is unknown.")
    estimate: CostEstimate | None = None
    cache_hits: int = Field(default=0, description="Model calls answered from the build's call cache.")
    retries: int = Field(default=0, description="Calls retried after a rate limit, timeout or server error.")
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


ROLE_STAGES: dict[str, str] = {"generator": "generation", "judge": "checks", "solver": "re-solving", "chat": "chat"}


class Spend(Strict):
    """What a build has spent so far: tokens per role (the stage it serves) and, with a known price, money."""

    tokens: dict[str, int] = Field(default_factory=dict)
    cost: float | None = None

    def describe(self) -> str:
        """e.g. 'generation 12,300 · checks 8,100 tokens · $0.0123'."""
        parts = [f"{ROLE_STAGES.get(role, role)} {tokens:,}" for role, tokens in self.tokens.items() if tokens]
        text = (" · ".join(parts) or "0") + " tokens"
        return text + (f" · ${self.cost:.4f}" if self.cost is not None else "")


class BuildEvent(Strict):
    """What the pipeline tells whoever watches it (chat steps, CLI progress)."""

    stage: Literal["analyze", "design", "generate", "verify", "export", "build"]
    kind: Literal["started", "progress", "accepted", "rejected", "replenishing", "finished", "warning"]
    message: str
    subtask_id: str | None = None
    done: int | None = None
    total: int | None = None
    spend: Spend | None = None  # during a build: what it has spent up to this event
