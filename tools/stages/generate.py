"""Stage 3: sample generation. The generator model writes a batch of candidate samples for one subtask."""

from __future__ import annotations

from pydantic_ai import Agent, ToolOutput

from tools.contracts import (
    BenchmarkSpec,
    ChoiceBatch,
    NumericBatch,
    SampleBatch,
    SampleBrief,
    SampleDraft,
    Subtask,
    YesNoBatch,
)
from tools.llm.stage import StageModels, run_stage
from tools.stages.brief import briefs_section

_INSTRUCTIONS = """\
You write evaluation samples for a benchmark. Every sample must be self-contained, answerable from
the question (and context, if given) alone, have exactly one correct answer, and test the subtask's
skill at the stated difficulty. Never reveal the answer in the question.
Formats:
- multiple_choice: give 4 short, distinct options in `choices` and the position of the one correct option
  (counting from 0) in `correct_choice`; vary that position from sample to sample.
  The 3 wrong options are minimal perturbations of the correct one (a plausible slip in one step, a mis-read
  fact) that only the needed evidence rules out; all options alike in length and form.
- numeric: `answer` is a number only (no units).
- yes_no: `answer` is Yes or No.
- short_answer: `answer` is a few words.
Computed answers (numeric, and any answer found by arithmetic): also write `solution_code`, a short Python
program (standard library only) that computes the answer from the question's data and prints only it.
Code items (a short_answer subtask asking to write a function): `answer` is the function's name,
`solution_code` its reference implementation, `tests` Python assert statements that call it.
When design briefs are given, write sample i from brief i.
Do not repeat or paraphrase the questions listed under 'Avoid'. Call submit_samples exactly once."""

_FORMAT_HINTS = {
    "multiple_choice": "4 options in choices, correct_choice = position of the correct one (0-3)",
    "numeric": "answer is a number; solution_code computes and prints it",
    "yes_no": "answer is Yes or No",
    "short_answer": "answer is a few words",
}

# The schema states the format, so the model's output has the right shape whatever its strength:
# multiple choice names the correct option by position, numeric answers must be numbers.
GENERATOR_OUTPUTS = {
    "multiple_choice": ToolOutput(ChoiceBatch, name="submit_samples"),
    "numeric": ToolOutput(NumericBatch, name="submit_samples"),
    "yes_no": ToolOutput(YesNoBatch, name="submit_samples"),
}

generator_agent: Agent[None, SampleBatch] = Agent(
    output_type=ToolOutput(SampleBatch, name="submit_samples"),
    instructions=_INSTRUCTIONS,
    retries=2,
    name="generator",
)


def generation_prompt(spec: BenchmarkSpec, subtask: Subtask, count: int, avoid: list[str], guidance: list[str],
                      batch_label: str | None = None, briefs: list[SampleBrief] | None = None) -> str:
    lines = [
        f"Benchmark goal: {spec.goal}",
        f"Capability under test: {spec.capability}",
        f"Domain: {spec.domain}",
        f"Language: {spec.language}",
        f"Difficulty: {subtask.difficulty or spec.difficulty}",
        f"Subtask: {subtask.name}",
        f"Subtask description: {subtask.description}",
        f"Answer format: {subtask.answer_format}",
        f"Format rule: {_FORMAT_HINTS[subtask.answer_format]}",
        f"Number of samples: {count}",
    ]
    if batch_label:
        lines.append(f"Batch: {batch_label} (write items different from other batches)")
    if spec.constraints:
        lines.append("Constraints: " + "; ".join(spec.constraints))
    if subtask.guidance:
        lines.append("The user's instructions for this subtask: " + "; ".join(subtask.guidance))
    if guidance:
        lines.append("Lessons from rejected samples: " + "; ".join(guidance))
    if avoid:
        lines.append("Avoid (already in the benchmark): " + " | ".join(q[:160] for q in avoid[-10:]))
    lines += briefs_section(briefs or [])
    return "\n".join(lines)


async def generate_batch(
    spec: BenchmarkSpec,
    subtask: Subtask,
    count: int,
    *,
    models: StageModels,
    avoid: list[str] | None = None,
    guidance: list[str] | None = None,
    batch_label: str | None = None,
    briefs: list[SampleBrief] | None = None,
) -> list[SampleDraft]:
    """Ask the generator for `count` candidates for `subtask`. It may return fewer or more; the caller checks them."""
    prompt = generation_prompt(spec, subtask, count, avoid or [], guidance or [], batch_label, briefs)
    output = GENERATOR_OUTPUTS.get(subtask.answer_format)
    batch = await run_stage(generator_agent, prompt, models=models, role="generator", stage=f"generation for {subtask.id}",
                            output_type=output)
    return [s.to_draft() if not isinstance(s, SampleDraft) else s for s in batch.samples]
