"""What the quality checks return: verdicts, inspections, repairs, independent answers, records."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tools.contracts.base import CheckName, LongText, Strict
from tools.contracts.sample import Sample


class JudgeVerdict(Strict):
    """An independent check of one sample."""

    verdict: Literal["accept", "reject"]
    reasons: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=5, description="Why the sample is wrong, unanswerable or ambiguous."
    )


IssueKind = Literal[
    "off_intent", "unanswerable", "wrong_answer", "ambiguous", "several_correct", "answer_leaked",
    "wrong_answer_type", "schema", "missing_context",
]


# No minimal edit fixes these without a new gold answer or new material: the sample is dropped.
FATAL_ISSUES: frozenset[str] = frozenset({"wrong_answer", "missing_context", "off_intent"})


class Issue(Strict):
    kind: IssueKind
    detail: str = Field(min_length=1, max_length=200, description="What exactly is wrong, quoting the sample.")
    computed: str | None = Field(
        default=None, max_length=100, description="wrong_answer only: the answer you computed yourself, as the answer alone.")


class Inspection(Strict):
    """The problems found in one benchmark sample; an empty list when it is sound."""

    issues: list[Issue] = Field(default_factory=list, max_length=5)


class RepairProposal(Strict):
    """The smallest edit that removes the issues while keeping the gold answer, or feasible=false."""

    feasible: bool = Field(description="False when no edit can fix the sample without changing its gold answer.")
    question: str | None = Field(default=None, max_length=800, description="The corrected question, or null to keep it.")
    context: LongText | None = Field(default=None, description="The corrected context, or null to keep it.")
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
    answer: str | None = Field(default=None, max_length=100, description="Your own answer to the item, as the answer alone.")
    decision: Literal["gold_correct", "equivalent", "solver_correct", "ambiguous", "neither_correct"] = Field(
        description="gold_correct: the gold answer is right and the solver erred; equivalent: both give the same answer "
        "in different words; solver_correct: the gold answer is wrong; ambiguous: the question allows both; "
        "neither_correct: both are wrong."
    )


class CheckRecord(Strict):
    """One quality-control check of one candidate sample, with its reasons."""

    sample_id: str
    check: CheckName
    outcome: Literal["passed", "repaired", "dropped"]
    reasons: list[str] = Field(default_factory=list)
    issues: list[IssueKind] = Field(default_factory=list)
    agreed: bool | None = Field(default=None, description="Solver check: the independent answer matched the gold answer.")
    solver_answer: str | None = None
    constraints: list[str] = Field(
        default_factory=list, description="Constraints check: the spec's constraints (its own words) the item missed.")
    voided: list[str] = Field(
        default_factory=list, description="Wrong-answer verdicts set aside because their own answer equals the gold answer.")


class GateResult(Strict):
    """What the quality gate made of one candidate: the sample (possibly repaired) or None, and every check's record."""

    sample: Sample | None
    records: list[CheckRecord] = Field(default_factory=list)

    @property
    def dropped(self) -> CheckRecord | None:
        return next((r for r in self.records if r.outcome == "dropped"), None)
