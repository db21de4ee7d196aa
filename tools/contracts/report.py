"""What a build reports: quality, difficulty, counts, tokens, cost, and the exported files."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from tools.contracts.base import CheckName, Strict
from tools.contracts.plan import SubtaskPlan
from tools.contracts.sample import Drop
from tools.contracts.spec import BenchmarkSpec

QualityDimension = Literal[
    "user_intention_alignment", "format_schema_quality", "question_answer_coherence",
    "context_question_correspondence", "target_signal_dependency", "skill_specific_challenge",
]


QUALITY_DIMENSIONS: tuple[str, ...] = (
    "user_intention_alignment", "format_schema_quality", "question_answer_coherence",
    "context_question_correspondence", "target_signal_dependency", "skill_specific_challenge",
)
# Abbreviation and name of each dimension, as the Benchmark Agent paper reports them.
DIMENSION_LABELS = {
    "user_intention_alignment": ("UIA", "user-intention alignment"),
    "format_schema_quality": ("FSQ", "format and schema quality"),
    "question_answer_coherence": ("QAC", "question-answer coherence"),
    "context_question_correspondence": ("CQC", "context-question correspondence"),
    "target_signal_dependency": ("TSD", "target-signal dependency"),
    "skill_specific_challenge": ("SSC", "skill-specific challenge"),
}


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
    voided_verdicts: int = Field(
        default=0, description="Wrong-answer verdicts set aside because the answer they computed is the gold answer.")
    voided_rate: float | None = Field(
        default=None, description="Share of the wrong-answer verdicts (inspector and adjudication) that were void: "
        "it measures the judge, not the items.")
    constraint_misses: dict[str, int] = Field(
        default_factory=dict, description="Spec constraint (its own words) -> candidates dropped for missing it.")
    without_solution: list[str] = Field(
        default_factory=list, description="Numeric items kept without a solution program (solutions not required).")
    options_computed: int = Field(
        default=0, description="Multiple-choice items whose solution program computes exactly one option, the gold one.")
    options_judged: int = Field(
        default=0, description="Multiple-choice items without a solution program: that exactly one option is correct "
        "was judged by the inspector (or by the single judge verdict when the quality gate is off).")
    answer_positions: dict[str, int] = Field(default_factory=dict)
    positions_balanced: bool | None = None
    panel: PanelReport | None = None
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime


BuildStatus = Literal["complete", "short", "stopped", "failed"]


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
    shared_models: list[str] = Field(
        default_factory=list, description="Which reviewing roles share a model with the generator or each other.")


class SubtaskOutcome(Strict):
    subtask_id: str
    quota: int
    accepted: int
    rounds: int
    top_drop_reasons: list[str] = Field(default_factory=list)

    @property
    def short(self) -> int:
        return max(0, self.quota - self.accepted)


class MaterialUsage(Strict):
    """How a grounded build used the user's material, and how many of its items need it."""

    sources: list[str] = Field(default_factory=list, description="The files the build drew on.")
    chunks_total: int = 0
    chunks_used: int = 0
    records_total: int = 0
    records_used: int = 0
    unused_records: list[str] = Field(default_factory=list, description="Ids of records no item used (at most 200).")
    images_total: int = 0
    images_used: int = 0
    evidence_dropped: int = Field(default=0, description="Items dropped for a span that is not in their source.")
    closed_book_checked: int = Field(default=0, description="Items the solver was asked without the material.")
    answerable_without_source: int = Field(default=0, description="Of those, answered correctly without it.")
    blind_checked: int = Field(default=0, description="Image items the solver was asked without the image.")
    answerable_blind: int = Field(default=0, description="Of those, answered correctly without the image.")


class BuildReport(Strict):
    build_id: str
    status: BuildStatus
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
    material: MaterialUsage | None = Field(default=None, description="Grounded builds: the material used.")
    replaces: str | None = Field(default=None, description="A refreshed version: the build id of the version it renews.")
    started_at: datetime
    finished_at: datetime

    @field_validator("drop_reasons")
    @classmethod
    def _counts_positive(cls, value: dict[str, int]) -> dict[str, int]:
        if any(v < 1 for v in value.values()):
            raise ValueError("drop reason counts must be positive")
        return value


# What a file is for: the plain rows, a harness's files, the reports, the card, an image items show, the zip.
ExportFormat = Literal["jsonl", "csv", "hf", "lm-eval", "inspect", "pydantic-evals", "report", "card", "image", "zip"]


class ExportedFile(Strict):
    path: str
    format: ExportFormat
    sha256: str
    rows: int | None = None


class ExportManifest(Strict):
    build_id: str
    directory: str
    files: list[ExportedFile]
    created_at: datetime
