"""What the generator writes before checks: per-sample design briefs and sample drafts, per answer format.

The per-format drafts state the format in their schema, so even a weak model's output has the right
shape; each converts to the general `SampleDraft`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from tools.contracts.base import Bounded, LongText, Strict, at_most_items
from tools.contracts.material import EvidenceQuote


class SampleDraft(Strict):
    question: str = Field(min_length=1, max_length=800)
    context: LongText | None = Field(default=None, description="Passage the question needs, if any.")
    choices: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=6, description="Multiple choice only: the options, the correct one included."
    )
    answer: str = Field(
        min_length=1, max_length=200,
        description="The correct answer; for multiple choice the exact text of the correct option; "
        "for a code item the name of the function to write.",
    )
    rationale: str = Field(default="", max_length=600, description="Why the answer is correct.")
    solution_code: LongText | None = Field(
        default=None,
        description="Numeric or computed answers: a short Python program (standard library only) that computes the "
        "answer and prints only it. Code items: the reference implementation of the function.",
    )
    tests: LongText | None = Field(
        default=None,
        description="Code items only: Python assert statements that call the function and pass with the reference.",
    )


class SampleBatch(Strict):
    """The new benchmark samples, exactly as many as asked for."""

    samples: Annotated[list[SampleDraft], at_most_items(20)] = Field(min_length=1)


class _DraftCore(Strict):
    question: str = Field(min_length=1, max_length=800)
    context: LongText | None = Field(default=None, description="Passage the question needs, if any.")
    rationale: str = Field(default="", max_length=600, description="Why the answer is correct.")
    solution_code: LongText | None = Field(
        default=None,
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
    answer: str = Field(pattern=r"^-?[0-9]+([.][0-9]+)?$", max_length=40, description="The number only, no units.")

    def to_draft(self) -> SampleDraft:
        return SampleDraft(**self._core(), answer=self.answer)


class YesNoDraft(_DraftCore):
    answer: Literal["Yes", "No"]

    def to_draft(self) -> SampleDraft:
        return SampleDraft(**self._core(), answer=self.answer)


class ChoiceBatch(Strict):
    """The new multiple-choice samples, exactly as many as asked for."""

    samples: Annotated[list[ChoiceDraft], at_most_items(20)] = Field(min_length=1)


class NumericBatch(Strict):
    """The new samples with numeric answers, exactly as many as asked for."""

    samples: Annotated[list[NumericDraft], at_most_items(20)] = Field(min_length=1)


class YesNoBatch(Strict):
    """The new yes/no samples, exactly as many as asked for."""

    samples: Annotated[list[YesNoDraft], at_most_items(20)] = Field(min_length=1)


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

    briefs: Annotated[list[SampleBrief], at_most_items(20)] = Field(min_length=1)


# -- grounded drafts: the same formats, each citing the material it was written from ----------------------

_EVIDENCE_HELP = ("Spans copied word for word from the material passages this sample is written from (one per passage "
                  "it rests on), each with the passage's id.")


class GroundedSampleDraft(SampleDraft):
    evidence: Annotated[list[EvidenceQuote], at_most_items(4)] = Field(min_length=1, description=_EVIDENCE_HELP)


class GroundedChoiceDraft(ChoiceDraft):
    evidence: Annotated[list[EvidenceQuote], at_most_items(4)] = Field(min_length=1, description=_EVIDENCE_HELP)

    def to_draft(self) -> SampleDraft:
        return GroundedSampleDraft(**super().to_draft().model_dump(), evidence=self.evidence)


class GroundedNumericDraft(NumericDraft):
    evidence: Annotated[list[EvidenceQuote], at_most_items(4)] = Field(min_length=1, description=_EVIDENCE_HELP)

    def to_draft(self) -> SampleDraft:
        return GroundedSampleDraft(**super().to_draft().model_dump(), evidence=self.evidence)


class GroundedYesNoDraft(YesNoDraft):
    evidence: Annotated[list[EvidenceQuote], at_most_items(4)] = Field(min_length=1, description=_EVIDENCE_HELP)

    def to_draft(self) -> SampleDraft:
        return GroundedSampleDraft(**super().to_draft().model_dump(), evidence=self.evidence)


class GroundedSampleBatch(Strict):
    """The new benchmark samples, exactly as many as asked for, sample i written from material i."""

    samples: Annotated[list[GroundedSampleDraft], at_most_items(20)] = Field(min_length=1)


class GroundedChoiceBatch(Strict):
    """The new multiple-choice samples, exactly as many as asked for, sample i written from material i."""

    samples: Annotated[list[GroundedChoiceDraft], at_most_items(20)] = Field(min_length=1)


class GroundedNumericBatch(Strict):
    """The new samples with numeric answers, exactly as many as asked for, sample i written from material i."""

    samples: Annotated[list[GroundedNumericDraft], at_most_items(20)] = Field(min_length=1)


class GroundedYesNoBatch(Strict):
    """The new yes/no samples, exactly as many as asked for, sample i written from material i."""

    samples: Annotated[list[GroundedYesNoDraft], at_most_items(20)] = Field(min_length=1)
