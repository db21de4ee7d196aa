"""How an answer is scored when models are evaluated (or a panel measures difficulty): as the quality gate
compares answers (option letter or text, numbers to the gold's precision, yes/no, normalised text), and
beyond it: a code item's own tests run in the sandbox against the model's code, and an open answer that
is not the gold answer word for word is graded by the judge model with a rubric, when there is one.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field
from pydantic_ai import Agent, ToolOutput

from tools.contracts import Sample
from tools.llm.stage import StageModels, run_stage
from tools.qc.sandbox import SandboxLimits, run_python
from tools.qc.solve import answer_matches

_FENCED = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)

_RUBRIC = """\
You grade one answer to an open question against the reference answer. The candidate is correct when it
states the same fact, value or conclusion as the reference, in any wording, spelling variant, unit written
out or abbreviated, or with extra detail that does not contradict it. It is wrong when it gives another
fact, hedges between several answers, answers a different question, or leaves out what the reference
requires. Judge only the answer, never its style. Call submit_grade exactly once."""


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    correct: bool = Field(description="Whether the candidate answer says what the reference answer says.")
    reason: str = Field(max_length=300, description="One sentence on why.")


grader_agent: Agent[None, Grade] = Agent(output_type=ToolOutput(Grade, name="submit_grade"), instructions=_RUBRIC,
                                         retries=2, name="grader")


def code_of(answer: str) -> str:
    """The code in a model's answer: its longest fenced block, else the answer as it is."""
    blocks = _FENCED.findall(answer)
    return max(blocks, key=len) if blocks else answer


async def passes_tests(sample: Sample, answer: str, *, limits: SandboxLimits | None = None) -> bool:
    """Whether the model's code passes the item's own tests, run in the sandbox."""
    tests = str(sample.metadata.get("tests", ""))
    if not tests.strip():
        return False
    run = await run_python(f"{code_of(answer)}\n\n{tests}\n", limits=limits or SandboxLimits())
    return run.ok


async def graded(sample: Sample, answer: str, *, models: StageModels) -> bool:
    """The judge's grade of an open answer against the gold one, with the rubric above."""
    prompt = "\n".join([f"Question: {sample.question}", f"Reference answer: {sample.answer}",
                        f"Candidate answer: {answer}"])
    grade = await run_stage(grader_agent, prompt, models=models, role="judge", stage="grading an open answer")
    return grade.correct


async def scored(sample: Sample, answer: str, *, judge: StageModels | None = None,
                 limits: SandboxLimits | None = None) -> bool:
    """Whether `answer` is right for `sample`; `judge` (models with a 'judge' role) grades open answers."""
    if sample.metadata.get("kind") == "code":
        return await passes_tests(sample, answer, limits=limits)
    if answer_matches(sample, answer):
        return True
    if sample.answer_format == "short_answer" and judge is not None and "judge" in judge.models:
        return await graded(sample, answer, models=judge)
    return False
