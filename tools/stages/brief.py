"""Per-sample design briefs, written before the samples themselves.

One call per generation batch returns one brief per sample to write (core facts, 2-4 reasoning
hops, a difficulty plan, leakage guards, and for multiple choice a distractor plan); the briefs then
become a section of the generation prompt, sample by sample. A brief per sample in a single call
costs one extra request per batch instead of one per sample, and keeps the briefs of a batch
different from each other.
"""

from __future__ import annotations

from pydantic_ai import Agent, ToolOutput

from tools.contracts import BenchmarkSpec, BriefSet, SampleBrief, Subtask
from tools.llm.stage import StageModels, run_stage

AVOID_SHOWN = 10  # a prompt lists the subtask's latest accepted questions, this many, for the model to avoid

_INSTRUCTIONS = """\
You design benchmark samples before they are written. For each sample to write, give a brief:
- facts: the facts the sample relies on (they must stay true in the final item);
- hops: 2 to 4 reasoning steps a solver must take, in order; the item must not be answerable in one step;
- difficulty_plan: what makes it as hard as the stated difficulty, without trickery or ambiguity;
- leakage_guards: what the question must not reveal (the answer, a step that gives it away);
- distractor_plan (multiple choice only): wrong options that are minimal perturbations of the correct one
  (a plausible slip in one hop, a mis-read fact), short and alike in form, that only the needed evidence rules out.
Briefs of one batch must differ from each other and from the questions under 'Avoid'.
Call submit_briefs exactly once, with exactly as many briefs as samples asked for."""

brief_agent: Agent[None, BriefSet] = Agent(
    output_type=ToolOutput(BriefSet, name="submit_briefs"), instructions=_INSTRUCTIONS, retries=2, name="brief"
)


def brief_prompt(spec: BenchmarkSpec, subtask: Subtask, count: int, avoid: list[str], batch_label: str | None = None) -> str:
    lines = [
        f"Capability under test: {spec.capability}",
        f"Domain: {spec.domain}",
        f"Difficulty: {spec.difficulty}",
        f"Subtask: {subtask.name}",
        f"Subtask description: {subtask.description}",
        f"Answer format: {subtask.answer_format}",
        f"Number of samples: {count}",
    ]
    if avoid:
        lines.append("Avoid (already in the benchmark): " + " | ".join(q[:160] for q in avoid[-AVOID_SHOWN:]))
    if batch_label:
        # Without it, two batches planned from the same decisions would ask the very same question, and
        # the call cache would hand the second the first one's briefs.
        lines.append(f"Batch: {batch_label} (plan items different from other batches)")
    return "\n".join(lines)


async def design_briefs(
    spec: BenchmarkSpec, subtask: Subtask, count: int, *, models: StageModels, avoid: list[str] | None = None,
    batch_label: str | None = None,
) -> list[SampleBrief]:
    """One brief per sample to write (fewer if the model gave fewer; extra ones are cut)."""
    result = await run_stage(brief_agent, brief_prompt(spec, subtask, count, avoid or [], batch_label), models=models,
                             role="generator", stage=f"design briefs for {subtask.id}")
    return list(result.briefs[:count])


def render_brief(brief: SampleBrief) -> str:
    """A brief on one line, for the generation prompt and the inspector."""
    parts = ["facts: " + "; ".join(brief.facts), "hops: " + " -> ".join(brief.hops), f"difficulty: {brief.difficulty_plan}"]
    if brief.leakage_guards:
        parts.append("must not reveal: " + "; ".join(brief.leakage_guards))
    if brief.distractor_plan:
        parts.append(f"distractors: {brief.distractor_plan}")
    return " | ".join(parts)


def briefs_section(briefs: list[SampleBrief]) -> list[str]:
    """Prompt lines asking the generator to follow the briefs, sample by sample."""
    if not briefs:
        return []
    return ["Write the samples from these design briefs, in order:",
            *(f"Brief {i}: {render_brief(b)}" for i, b in enumerate(briefs, 1))]
