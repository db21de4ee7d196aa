"""Stage 3a: preview. A few samples per subtask, written and checked like the build's, for the user to review.

Each draft goes through the build's own checks: the format checks, then `check_candidate` (the
quality gate with the build's options, or the single judge verdict). Shown previews carry each
check's verdict; a draft a check drops is not shown, and the reasons are returned. (Previews are
written without design briefs, so the inspector reviews them without one.) A subtask written from the
user's material is previewed as the build writes it: from units of its own selection, each item citing
them, and checked against the material (evidence, closed-book) like the build's items.

The user's verdicts come back as instructions on the plan's subtasks (`Subtask.guidance`), which
the generator reads for the whole build: a rejected preview with its reason steers every batch.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tools.contracts import (
    BenchmarkSpec,
    CheckRecord,
    Evidence,
    PreviewItem,
    Provenance,
    Sample,
    SampleDraft,
    Subtask,
    SubtaskPlan,
)
from tools.engine.units import UnitUse, pick_units
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions, check_candidate
from tools.qc.schema import Block, CheckFailed, material_blocks, normalize, to_grounded_sample, to_sample
from tools.stages.generate import generate_batch

if TYPE_CHECKING:
    from tools.sources import MaterialView

MAX_GUIDANCE_PER_SUBTASK = 6


async def preview_samples(
    spec: BenchmarkSpec, plan: SubtaskPlan, *, models: StageModels, qc: QCOptions | None, per_subtask: int = 3,
    material: MaterialView | None = None,
) -> tuple[list[PreviewItem], list[str]]:
    """Up to `per_subtask` samples for each subtask that pass the build's checks (`qc`: the build's quality-gate
    options, None for its single judge verdict), and why the other drafts were dropped. `material`: the user's
    material, which the plan's grounded subtasks are written from and checked against."""
    results = await asyncio.gather(*(_preview_one(spec, s, models, qc, per_subtask, material) for s in plan.subtasks))
    items = [item for found, _ in results for item in found]
    problems = [problem for _, dropped in results for problem in dropped]
    return items, problems


def verdict_line(record: CheckRecord) -> str:
    """One check's verdict as a preview shows it: 'executed: passed (the solution code computes the gold answer)'."""
    why = "; ".join(record.reasons)
    return f"{record.check}: {record.outcome}" + (f" ({why})" if why else "")


async def _preview_one(spec: BenchmarkSpec, subtask: Subtask, models: StageModels, qc: QCOptions | None,
                       count: int, material: MaterialView | None) -> tuple[list[PreviewItem], list[str]]:
    blocks: list[list[Block]] = []
    if subtask.material is not None:
        if material is None:
            return [], [f"{subtask.name}: its items are written from the attached material, which cannot be read "
                        "now; nothing was previewed (attach the files again)"]
        blocks = material_blocks(material, pick_units(subtask, count, UnitUse(), attempts=1))
        if not blocks:
            return [], [f"{subtask.name}: its share of the material is empty; nothing was previewed"]
    drafts = await generate_batch(spec, subtask, len(blocks) or count, models=models, batch_label="preview",
                                  material=blocks or None)
    provenance = Provenance(build_id="preview", generator_model=models.names.get("generator", "?"),
                            judge_model=models.names.get("judge"), attempt=0, created_at=datetime.now(UTC))
    samples: list[Sample] = []
    problems: list[str] = []
    for i, draft in enumerate(drafts[:count]):
        try:
            sample = _checked(draft, subtask, provenance, blocks, i)
        except CheckFailed as exc:
            problems.append(f"{subtask.name}: a draft failed the format check ({exc})")
            continue
        if any(normalize(other.question) == normalize(sample.question) for other in samples):
            problems.append(f"{subtask.name}: a draft repeated another one")
            continue
        samples.append(sample)
    results = await asyncio.gather(*(check_candidate(s, spec, subtask, models=models, options=qc, material=material)
                                     for s in samples))
    items: list[PreviewItem] = []
    for result in results:
        kept, dropped = result.sample, result.dropped
        if kept is None or dropped is not None:
            check, why = (dropped.check, "; ".join(dropped.reasons) or "no reason given") if dropped else ("judge", "rejected")
            problems.append(f"{subtask.name}: a draft failed the {check} check ({why[:200]})")
            continue
        items.append(PreviewItem(id=f"{subtask.id}-p{len(items) + 1}", subtask_id=subtask.id,
                                 answer_format=kept.answer_format, question=kept.question, context=kept.context,
                                 choices=kept.choices, answer=kept.answer, rationale=kept.rationale,
                                 checks=[verdict_line(r) for r in result.records],
                                 evidence=[_cited(e) for e in kept.evidence]))
    return items, problems


def _cited(evidence: Evidence) -> str:
    quote = "the image" if evidence.quote is None else f"\u201c{evidence.quote[:200]}\u201d"
    return f"{evidence.source}, {evidence.anchor}: {quote}"


def _checked(draft: SampleDraft, subtask: Subtask, provenance: Provenance, blocks: list[list[Block]], i: int) -> Sample:
    """The format checks: `to_sample`, or for an item written from material its grounded form (`CheckFailed`
    when a grounded draft has no material of its own: the generator wrote more items than it was given units)."""
    if not blocks:
        return to_sample(draft, subtask, provenance)
    if i >= len(blocks):
        raise CheckFailed("more drafts than material units given")
    return to_grounded_sample(draft, subtask, provenance, blocks[i], {b.mid: b for item in blocks for b in item})


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
