"""Closed-book check: can the solver answer a grounded item without the user's material?

The solver (the role the re-solve uses) is asked the question alone: no context, no evidence, no image; a
multiple-choice item keeps its options. Its answer is compared with the gold answer as the re-solve compares
(`tools.qc.solve.answer_matches`). A text item gets `metadata["qc"]["answerable_without_source"]`, an image
item `metadata["qc"]["answerable_blind"]`.

A text item answered right is dropped when the spec says every item must need the material
(`BenchmarkSpec.needs_material`); otherwise it is kept and flagged, and the report counts it. An image item
answered right without its image is always dropped: it does not test reading the image. Neither is sent to
the repair step: a repair would need a fresh closed-book answer and a second inspection to be trusted (three
more calls), and an edit made without knowing what the solver knows rarely takes that knowledge away; the
build writes a new item from the material in its place instead, while its attempts last.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai import Agent, ToolOutput

from tools.contracts import LETTERS, BenchmarkSpec, CheckRecord, Role, Sample, SolverAnswer
from tools.llm.stage import StageModels, run_stage
from tools.qc.solve import answer_matches

_CLOSED_BOOK = """\
Answer the question from what you know. Nothing comes with it: no passage, table, record or image, even when
the question mentions one. Do not guess: when you cannot tell the answer without the material it refers to,
answer unknown. Otherwise give only the final answer in `answer`: for multiple choice the letter of the one
correct option; for numeric answers a number without units; for yes/no questions Yes or No; otherwise a few
words. Call submit_closed_book_answer exactly once."""

closed_book_agent: Agent[None, SolverAnswer] = Agent(
    output_type=ToolOutput(SolverAnswer, name="submit_closed_book_answer"), instructions=_CLOSED_BOOK, retries=2,
    name="closed_book",
)


@dataclass(frozen=True)
class ClosedBookOutcome:
    answer: SolverAnswer
    answerable: bool  # the answer given without the material is the gold answer
    image: bool  # an image item, asked without its image

    @property
    def flag(self) -> str:
        """The key of `metadata["qc"]` this outcome sets."""
        return "answerable_blind" if self.image else "answerable_without_source"


def closed_book_prompt(sample: Sample) -> str:
    """The item as the closed-book solver sees it: its question (and options), nothing it was written from."""
    lines = [f"Answer format: {sample.answer_format}", f"Question: {sample.question}"]
    if sample.choices:
        lines.append("Choices: " + " | ".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(sample.choices)))
    return "\n".join(lines)


async def ask_closed_book(sample: Sample, *, models: StageModels, role: Role = "solver") -> ClosedBookOutcome:
    """The solver's answer to `sample` without its material; `StageFailed` when it gives no valid answer."""
    answer = await run_stage(closed_book_agent, closed_book_prompt(sample), models=models, role=role,
                             stage="closed-book solve")
    return ClosedBookOutcome(answer=answer, answerable=answer_matches(sample, answer.answer), image=sample.image is not None)


def flagged(sample: Sample, outcome: ClosedBookOutcome) -> Sample:
    """`sample` with the outcome's flag merged into its `metadata["qc"]`."""
    qc = {**sample.metadata.get("qc", {}), outcome.flag: outcome.answerable}
    return sample.model_copy(update={"metadata": {**sample.metadata, "qc": qc}})


def closed_book_record(sample: Sample, outcome: ClosedBookOutcome, spec: BenchmarkSpec) -> CheckRecord:
    """Passed, or dropped with the reason, for `sample` given the closed-book outcome."""
    said = f"answered {outcome.answer.answer[:80]!r}"
    dropped = outcome.answerable and (outcome.image or spec.needs_material)
    if outcome.image and outcome.answerable:
        reason = f"answered correctly without its image ({said}): the item does not need its image"
    elif dropped:
        reason = (f"answered correctly without the material ({said}): the item does not need the user's files, "
                  "and the spec requires every item to need them")
    elif outcome.answerable:
        reason = f"answered correctly without the material ({said}); kept and flagged"
    else:
        reason = f"not answered without {'its image' if outcome.image else 'the material'} ({said})"
    return CheckRecord(sample_id=sample.id, check="closed_book", outcome="dropped" if dropped else "passed",
                       reasons=[reason], solver_answer=outcome.answer.answer[:200], agreed=outcome.answerable)
