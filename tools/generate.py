"""Stage 3: sample generation. The generator model writes a batch of candidate samples for one subtask."""

from __future__ import annotations

from pydantic_ai import Agent, ToolOutput

from tools.llm import StageModels, run_stage
from tools.models import BenchmarkSpec, SampleBatch, SampleDraft, Subtask

_INSTRUCTIONS = """\
You write evaluation samples for a benchmark. Every sample must be self-contained, answerable from
the question (and context, if given) alone, have exactly one correct answer, and test the subtask's
skill at the stated difficulty. Never reveal the answer in the question.
Formats:
- multiple_choice: give 4 short, distinct options in `choices`; `answer` is the exact text of the one correct option.
- numeric: `answer` is a number only (no units).
- yes_no: `answer` is Yes or No.
- short_answer: `answer` is a few words.
Do not repeat or paraphrase the questions listed under 'Avoid'. Call submit_samples exactly once."""

_FORMAT_HINTS = {
    "multiple_choice": "4 options in choices, answer = text of the correct option",
    "numeric": "answer is a number",
    "yes_no": "answer is Yes or No",
    "short_answer": "answer is a few words",
}

generator_agent: Agent[None, SampleBatch] = Agent(
    output_type=ToolOutput(SampleBatch, name="submit_samples"),
    instructions=_INSTRUCTIONS,
    retries=2,
    name="generator",
)


def generation_prompt(spec: BenchmarkSpec, subtask: Subtask, count: int, avoid: list[str], guidance: list[str]) -> str:
    lines = [
        f"Benchmark goal: {spec.goal}",
        f"Capability under test: {spec.capability}",
        f"Domain: {spec.domain}",
        f"Language: {spec.language}",
        f"Difficulty: {spec.difficulty}",
        f"Subtask: {subtask.name}",
        f"Subtask description: {subtask.description}",
        f"Answer format: {subtask.answer_format}",
        f"Format rule: {_FORMAT_HINTS[subtask.answer_format]}",
        f"Number of samples: {count}",
    ]
    if spec.constraints:
        lines.append("Constraints: " + "; ".join(spec.constraints))
    if guidance:
        lines.append("Lessons from rejected samples: " + "; ".join(guidance))
    if avoid:
        lines.append("Avoid (already in the benchmark): " + " | ".join(q[:160] for q in avoid[-10:]))
    return "\n".join(lines)


async def generate_batch(
    spec: BenchmarkSpec,
    subtask: Subtask,
    count: int,
    *,
    models: StageModels,
    avoid: list[str] | None = None,
    guidance: list[str] | None = None,
) -> list[SampleDraft]:
    """Ask the generator for `count` candidates for `subtask`. It may return fewer or more; the caller checks them."""
    prompt = generation_prompt(spec, subtask, count, avoid or [], guidance or [])
    batch = await run_stage(generator_agent, prompt, models=models, role="generator", stage=f"generation for {subtask.id}")
    return list(batch.samples)
