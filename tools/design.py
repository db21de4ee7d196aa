"""Stage 2: subtask design. The spec is split into subtasks whose quotas sum to its size."""

from __future__ import annotations

from pydantic_ai import Agent, ToolOutput

from tools.llm import StageModels, run_stage
from tools.models import BenchmarkSpec, Subtask, SubtaskIdea, SubtaskPlan, SubtaskProposal, slugify

MAX_SUBTASKS = 3

_INSTRUCTIONS = """\
You design the subtasks of an evaluation benchmark. Each subtask tests one distinct facet of the
capability, so that together they cover it without overlapping. Give each a short name, a one or two
sentence description of what its questions test, and a weight (1-5) for its share of the benchmark.
Call submit_subtasks exactly once."""

design_agent: Agent[None, SubtaskProposal] = Agent(
    output_type=ToolOutput(SubtaskProposal, name="submit_subtasks"), instructions=_INSTRUCTIONS, retries=2, name="design"
)


def _prompt(spec: BenchmarkSpec, max_subtasks: int) -> str:
    lines = [
        f"Goal: {spec.goal}",
        f"Capability: {spec.capability}",
        f"Domain: {spec.domain}",
        f"Answer format: {spec.answer_format}",
        f"Difficulty: {spec.difficulty}",
        f"Size: {spec.size}",
        f"Maximum subtasks: {max_subtasks}",
    ]
    if spec.constraints:
        lines.append("Constraints: " + "; ".join(spec.constraints))
    return "\n".join(lines)


async def design_subtasks(spec: BenchmarkSpec, *, models: StageModels, max_subtasks: int = MAX_SUBTASKS) -> SubtaskPlan:
    """Ask the model for subtasks, then fix ids and quotas deterministically."""
    limit = max(1, min(max_subtasks, spec.size))
    proposal = await run_stage(design_agent, _prompt(spec, limit), models=models, role="chat", stage="subtask design")
    return plan_from_proposal(proposal, spec, limit)


def plan_from_proposal(proposal: SubtaskProposal, spec: BenchmarkSpec, limit: int) -> SubtaskPlan:
    ideas = _distinct(proposal.subtasks)[:limit]
    quotas = allocate(spec.size, [idea.weight for idea in ideas])
    ids: list[str] = []
    subtasks = []
    for idea, quota in zip(ideas, quotas, strict=True):
        if quota == 0:
            continue
        ids.append(_unique_id(slugify(idea.name), ids))
        subtasks.append(Subtask(
            id=ids[-1], name=idea.name, description=idea.description, answer_format=spec.answer_format, quota=quota
        ))
    return SubtaskPlan(subtasks=subtasks, rationale=proposal.rationale)


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder); every share gets one before any gets two."""
    if total < len(weights):
        return [1 if i < total else 0 for i in range(len(weights))]
    spare = total - len(weights)
    weight_sum = sum(weights)
    exact = [spare * w / weight_sum for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: spare - sum(shares)]:
        shares[i] += 1
    return [share + 1 for share in shares]


def _distinct(ideas: list[SubtaskIdea]) -> list[SubtaskIdea]:
    seen: set[str] = set()
    kept = []
    for idea in ideas:
        key = slugify(idea.name)
        if key not in seen:
            seen.add(key)
            kept.append(idea)
    return kept


def _unique_id(base: str, taken: list[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate, n = base[: 40 - len(suffix)] + suffix, n + 1
    return candidate
