"""Stage 2: subtask design. The spec is split into subtasks whose quotas sum to its size."""

from __future__ import annotations

import asyncio

from pydantic_ai import Agent, ToolOutput

from memory.catalog import PriorBenchmark, PriorCatalog
from tools.contracts import (
    BenchmarkSpec,
    PriorOverlap,
    Subtask,
    SubtaskIdea,
    SubtaskPlan,
    SubtaskProposal,
    slugify,
)
from tools.llm.stage import StageModels, run_stage
from tools.stages.requirements import material_summary_lines

MAX_SUBTASKS = 3
# Catalog similarity from which a known benchmark counts as overlapping a subtask. Measured with the shipped
# embedder: descriptions of unrelated topics scored at most 0.44 against the catalog, paraphrased descriptions
# of a known benchmark 0.38-0.82 (median ~0.65); tests/memory/test_catalog.py holds those descriptions.
OVERLAP_SCORE = 0.5
EXISTS_SCORE = 0.7  # above this (or when named in the request) the benchmark largely exists already
MAX_OVERLAPS = 2

_INSTRUCTIONS = """\
You design the subtasks of an evaluation benchmark. Each subtask tests one distinct facet of the
capability, so that together they cover it without overlapping. Give each a short name, a one or two
sentence description of what its questions test, and a weight (1-5) for its share of the benchmark.
Call submit_subtasks exactly once."""

design_agent: Agent[None, SubtaskProposal] = Agent(
    output_type=ToolOutput(SubtaskProposal, name="submit_subtasks"), instructions=_INSTRUCTIONS, retries=2, name="design"
)


def _prompt(spec: BenchmarkSpec, max_subtasks: int, material: list[str] | None = None) -> str:
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
    lines += material_summary_lines(material, "Every item will be written from these files: design subtasks that "
                                    "their content can supply, each a different kind of question about it.")
    return "\n".join(lines)


async def design_subtasks(spec: BenchmarkSpec, *, models: StageModels, max_subtasks: int = MAX_SUBTASKS,
                          catalog: PriorCatalog | None = None, material: list[str] | None = None) -> SubtaskPlan:
    """Ask the model for subtasks, then fix ids and quotas deterministically; with a catalog, note for each
    subtask the known benchmarks it is close to and what makes ours different. `material` (the user's files,
    described) makes the subtasks come from what those files contain; `tools.stages.ground` assigns them."""
    limit = max(1, min(max_subtasks, spec.size))
    proposal = await run_stage(design_agent, _prompt(spec, limit, material), models=models, role="chat", stage="subtask design")
    plan = plan_from_proposal(proposal, spec, limit)
    if catalog is not None:
        plan = await asyncio.to_thread(with_overlaps, plan, spec, catalog)
    return plan


def with_overlaps(plan: SubtaskPlan, spec: BenchmarkSpec, catalog: PriorCatalog) -> SubtaskPlan:
    """The plan with each subtask's closest known benchmarks (above OVERLAP_SCORE) recorded in `overlaps`."""
    subtasks = []
    for subtask in plan.subtasks:
        query = f"{subtask.name}: {subtask.description} ({spec.capability}; {spec.domain})"
        overlaps = [
            PriorOverlap(name=m.benchmark.name, score=round(min(max(m.score, 0.0), 1.0), 3),
                         how_we_differ=how_we_differ(spec, subtask, m.benchmark))
            for m in catalog.search(query, k=MAX_OVERLAPS) if m.score >= OVERLAP_SCORE
        ]
        subtasks.append(subtask.model_copy(update={"overlaps": overlaps}))
    return plan.model_copy(update={"subtasks": subtasks})


def overlap_summary(plan: SubtaskPlan) -> str:
    """What the plan shares with known benchmarks, for the conversation ("" when nothing is close)."""
    close = [(s, o) for s in plan.subtasks for o in s.overlaps[:1]]
    if not close:
        return ""
    listed = "; ".join(f"{s.name} is close to {o.name} ({o.score:.2f})" for s, o in close)
    strongest = max(close, key=lambda pair: pair[1].score)
    text = f"Known benchmarks: {listed}."
    if strongest[1].score >= EXISTS_SCORE:
        text += (f" Tell the user that {strongest[1].name} already measures much of this, and what ours adds: "
                 f"{strongest[1].how_we_differ}")
    return text


def how_we_differ(spec: BenchmarkSpec, subtask: Subtask, prior: PriorBenchmark) -> str:
    """One sentence from the spec: what every build has that a published benchmark cannot (fresh items), and
    what this one chose (format, difficulty, domain, constraints). Deterministic: no model call per subtask."""
    fresh = (f"new items, each checked against those of build {prior.build_id} so none repeats them"
             if prior.source == "built"
             else f"freshly generated items, checked for repeats against earlier builds in this memory (not against "
                  f"{prior.name}'s own items, which are not stored)")
    parts = [fresh, f"{subtask.answer_format.replace('_', ' ')} answers ({prior.name}: {prior.format})"]
    if spec.difficulty != "mixed":
        parts.append(f"{spec.difficulty} difficulty by design")
    parts.append(f"focused on {spec.domain}")
    if spec.constraints:
        parts.append("constraints: " + "; ".join(spec.constraints[:2]))
    return ("Ours: " + ", ".join(parts) + ".")[:400]


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
