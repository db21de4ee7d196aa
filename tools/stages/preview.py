"""Stage 3a: preview. A few samples per subtask, written and checked like the build's, for the user to review.

The user's verdicts come back as instructions on the plan's subtasks (`Subtask.guidance`), which
the generator reads for the whole build: a rejected preview with its reason steers every batch.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tools.contracts import BenchmarkSpec, PreviewItem, Provenance, Subtask, SubtaskPlan
from tools.llm.stage import StageModels
from tools.qc.schema import CheckFailed, normalize, to_sample
from tools.stages.generate import generate_batch

MAX_GUIDANCE_PER_SUBTASK = 6


async def preview_samples(
    spec: BenchmarkSpec, plan: SubtaskPlan, *, models: StageModels, per_subtask: int = 3
) -> tuple[list[PreviewItem], list[str]]:
    """`per_subtask` checked samples for each subtask (fewer where drafts fail), and why drafts were dropped."""
    results = await asyncio.gather(*(_preview_one(spec, s, models, per_subtask) for s in plan.subtasks))
    items = [item for found, _ in results for item in found]
    problems = [problem for _, dropped in results for problem in dropped]
    return items, problems


async def _preview_one(spec: BenchmarkSpec, subtask: Subtask, models: StageModels, count: int) -> tuple[list[PreviewItem], list[str]]:
    drafts = await generate_batch(spec, subtask, count, models=models, batch_label="preview")
    provenance = Provenance(build_id="preview", generator_model=models.names.get("generator", "?"), attempt=0,
                            created_at=datetime.now(UTC))
    items: list[PreviewItem] = []
    problems: list[str] = []
    for draft in drafts[:count]:
        try:
            sample = to_sample(draft, subtask, provenance)
        except CheckFailed as exc:
            problems.append(f"{subtask.name}: a draft failed the format check ({exc})")
            continue
        if any(normalize(item.question) == normalize(sample.question) for item in items):
            problems.append(f"{subtask.name}: a draft repeated another one")
            continue
        items.append(PreviewItem(id=f"{subtask.id}-p{len(items) + 1}", subtask_id=subtask.id,
                                 answer_format=sample.answer_format, question=sample.question, context=sample.context,
                                 choices=sample.choices, answer=sample.answer, rationale=sample.rationale))
    return items, problems


def review_note(item: PreviewItem) -> str | None:
    """The instruction a reviewed preview gives the generator, or None (accepted or not yet reviewed)."""
    question = item.question if len(item.question) <= 140 else item.question[:137] + "..."
    if item.status == "rejected":
        return f"The user rejected the item \"{question}\" because: {item.reason or 'no reason given'}. Avoid that."
    if item.status == "edited":
        return f"The user corrected an item to: \"{question}\" (answer: {item.answer}). Write items like the corrected one."
    return None


def with_guidance(plan: SubtaskPlan, subtask_id: str, note: str) -> SubtaskPlan:
    """`plan` with `note` added to one subtask's generator instructions (newest kept when there are too many)."""
    def updated(subtask: Subtask) -> Subtask:
        notes = list(dict.fromkeys([*subtask.guidance, note]))[-MAX_GUIDANCE_PER_SUBTASK:]
        return subtask.model_copy(update={"guidance": notes})

    return plan.model_copy(update={"subtasks": [updated(s) if s.id == subtask_id else s for s in plan.subtasks]})
