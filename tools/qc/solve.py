"""Independent re-solve: a solver that never sees the gold answer answers each item; a judge settles disagreements.

The solver role should be a different model from the generator. When the solver disagrees, the
judge sees the item, the gold answer and the solver's answer and decides who is right. The gold
answer is never replaced: a wrong gold answer drops the item. The same solver agent, run with other
models, is the difficulty panel (`tools.panel`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic_ai import Agent, ToolOutput

from tools.contracts import LETTERS, Adjudication, Issue, Role, Sample, SolverAnswer
from tools.llm.stage import StageModels, run_stage
from tools.qc.executed import answers_equal
from tools.qc.inspection import claimed_answer, sample_lines
from tools.qc.schema import normalize

_SOLVE = """\
Answer the question. Work it out briefly in `reasoning`, then give only the final answer in `answer`:
for multiple choice the letter of the one correct option; for numeric answers a number without units;
for yes/no questions Yes or No; otherwise a few words. Call submit_answer exactly once."""

_ADJUDICATE = """\
A benchmark item has a gold answer, and an independent solver gave a different answer. Solve the item
yourself, then decide: gold_correct (the gold answer is right, the solver erred), equivalent (both give the
same answer in different words), solver_correct (the gold answer is wrong), ambiguous (the question allows
both answers) or neither_correct. Put your own answer in `answer`. Call submit_adjudication exactly once."""

solver_agent: Agent[None, SolverAnswer] = Agent(
    output_type=ToolOutput(SolverAnswer, name="submit_answer"), instructions=_SOLVE, retries=2, name="solver"
)
adjudicator_agent: Agent[None, Adjudication] = Agent(
    output_type=ToolOutput(Adjudication, name="submit_adjudication"), instructions=_ADJUDICATE, retries=2,
    name="adjudicator"
)


def solvable(sample: Sample) -> bool:
    """Code items are checked by running their tests instead (`tools.executed`). Image items are not re-solved:
    the solver is not sent the image, and answering without it is what the closed-book check asks instead."""
    return sample.metadata.get("kind") != "code" and sample.image is None


def solver_prompt(sample: Sample) -> str:
    lines = [line for line in sample_lines(sample, gold=False) if not line.startswith("Choices: ")]
    if sample.choices:
        lines.append("Choices: " + " | ".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(sample.choices)))
    return "\n".join(lines)


def _letter_index(sample: Sample, text: str) -> int | None:
    letter = re.fullmatch(r"\(?([A-Ja-j])[).:]?(?:\s+.*)?", text.strip(), re.DOTALL)
    if letter and sample.choices and LETTERS.index(letter.group(1).upper()) < len(sample.choices):
        return LETTERS.index(letter.group(1).upper())
    return None


def spelled_out(sample: Sample, answer: str) -> str:
    """A multiple-choice letter with its option's text ("B) 8"), so that a judge reads what was chosen."""
    index = _letter_index(sample, answer) if sample.answer_format == "multiple_choice" else None
    return answer if index is None or sample.choices is None else f"{LETTERS[index]}) {sample.choices[index]}"


def answer_matches(sample: Sample, answer: str) -> bool:
    """Does a free-form `answer` say the same as the gold answer?"""
    text = answer.strip()
    if sample.answer_format == "multiple_choice" and sample.choices:
        index = _letter_index(sample, text)
        return index == sample.answer_index if index is not None else normalize(text) == normalize(sample.answer)
    if sample.answer_format == "numeric":
        numbers = re.findall(r"[-+]?\d[\d,]*(?:\.\d+)?(?:/\d+)?", text)
        return bool(numbers) and answers_equal(numbers[-1], sample.answer)
    if sample.answer_format == "yes_no":
        first = re.match(r"\W*(\w+)", text.casefold())
        word = {"true": "yes", "false": "no"}.get(first.group(1), first.group(1)) if first else ""
        return word == sample.answer.casefold()
    strip = re.compile(r"^(the|a|an)\s+")
    return strip.sub("", normalize(text)) == strip.sub("", normalize(sample.answer))


def void_verdicts(sample: Sample, issues: list[Issue]) -> tuple[list[Issue], list[str]]:
    """The issues that stand, and the wrong-answer verdicts that contradict themselves: the answer they computed
    equals the gold answer (compared as the executed check compares numbers). A void verdict drops nothing."""
    kept: list[Issue] = []
    voided: list[str] = []
    for issue in issues:
        claimed = claimed_answer(issue)
        if claimed is not None and answer_matches(sample, claimed):
            voided.append(f"{issue.kind}: {issue.detail} (void: its own answer {claimed[:40]!r} is the gold answer)"[:300])
        else:
            kept.append(issue)
    return kept, voided


async def solve_sample(sample: Sample, *, models: StageModels, role: Role = "solver") -> SolverAnswer:
    return await run_stage(solver_agent, solver_prompt(sample), models=models, role=role, stage="independent solve")


async def adjudicate(sample: Sample, answer: SolverAnswer, *, models: StageModels) -> Adjudication:
    lines = [*sample_lines(sample, gold=True), f"Solver answer: {spelled_out(sample, answer.answer)}"]
    if answer.reasoning:
        lines.append(f"Solver reasoning: {answer.reasoning}")
    return await run_stage(adjudicator_agent, "\n".join(lines), models=models, role="judge", stage="adjudication")


@dataclass(frozen=True)
class ResolveOutcome:
    answer: SolverAnswer
    agreed: bool
    decision: str | None = None  # the adjudication, when there was a disagreement
    reasoning: str = ""
    voided: tuple[str, ...] = ()  # an adjudication against the gold answer whose own answer is the gold answer

    @property
    def keep(self) -> bool:
        return self.agreed or self.decision == "gold_correct" or bool(self.voided)


async def resolve(sample: Sample, *, models: StageModels) -> ResolveOutcome:
    """Re-solve `sample` without its gold answer; on disagreement, adjudicate."""
    answer = await solve_sample(sample, models=models)
    if answer_matches(sample, answer.answer):
        return ResolveOutcome(answer=answer, agreed=True)
    ruling = await adjudicate(sample, answer, models=models)
    voided: tuple[str, ...] = ()
    if ruling.decision in ("solver_correct", "neither_correct") and ruling.answer and answer_matches(sample, ruling.answer):
        voided = (f"adjudication {ruling.decision}: {ruling.reasoning[:150]} (void: its own answer "
                  f"{ruling.answer[:40]!r} is the gold answer)",)
    return ResolveOutcome(answer=answer, agreed=ruling.decision == "equivalent", decision=ruling.decision,
                          reasoning=ruling.reasoning, voided=voided)
