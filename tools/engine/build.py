"""The build loop: generate, check, judge and de-duplicate until every subtask's quota is met.

Batches are planned one after another from a sliding window: batch k is planned (which subtask,
how many samples, what to avoid, which lessons to pass on) from the decisions of the batches
before k - window, and runs concurrently with the others under the concurrency limit. Batches are
decided (duplicate or not, accept or not) strictly in order, candidate by candidate. So a build
over the same responses always accepts the same samples, however the calls interleave, and the
endpoint is kept busy without waiting for the slowest call of a round.

Every decision is appended to the checkpoint files as it is made (by a writer thread, `memory.files.Journal`,
never on the event loop), and a batch counts as decided when its `done` marker is written. A re-run over the same directory keeps the decided batches, redoes the
others from the call cache (no answered call is made twice) and goes on from there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from memory.files import write_atomic, write_json
from memory.store import SampleStore
from tools.contracts import (
    BenchmarkSpec,
    BuildReport,
    BuildStatus,
    CostEstimate,
    Sample,
    SubtaskPlan,
)
from tools.engine.batches import CHECKPOINTS, Build, BuildOptions, EventSink
from tools.engine.ledger import stage_counts
from tools.engine.parts import AcceptListener
from tools.engine.units import material_usage, sample_units
from tools.llm.stage import StageModels

if TYPE_CHECKING:
    from tools.sources import MaterialView


async def run_build(
    spec: BenchmarkSpec,
    plan: SubtaskPlan,
    *,
    build_id: str,
    models: StageModels,
    store: SampleStore,
    directory: Path,
    options: BuildOptions = BuildOptions(),
    on_event: EventSink | None = None,
    warnings: list[str] | None = None,
    estimate: CostEstimate | None = None,
    material: MaterialView | None = None,
    early: AcceptListener | None = None,
) -> tuple[list[Sample], BuildReport]:
    """Fill every subtask's quota (or stop at a limit); return the accepted samples in plan order and the report.

    With `material`, grounded subtasks' items are written from their units, and each image item's image is copied
    into `directory/images/` for the exports. `early` is offered each accepted sample (and those kept from an
    earlier run), to score the quality report's likely picks through the build's models as it goes."""
    started = datetime.now(UTC)
    checkpoints = directory / CHECKPOINTS
    await asyncio.to_thread(write_json, checkpoints / "spec.json", spec.model_dump(mode="json"))
    await asyncio.to_thread(write_json, checkpoints / "plan.json", plan.model_dump(mode="json"))
    build = Build(spec, plan, build_id=build_id, models=models, store=store, directory=checkpoints,
                   options=options, on_event=on_event, material=material, early=early)
    await build.emit(stage="build", kind="started", total=plan.total,
                     message=f"Building {plan.total} samples in {len(plan.subtasks)} subtasks")
    try:
        await build.restore()
        await build.emit(stage="generate", kind="started", done=build.ledger.total(), total=plan.total,
                         message=f"Generating in batches of {options.batch_size}, up to {2 * options.concurrency} at a time")
        await build.run_batches()
        while build.stop_reason is None and build.close_dropped():  # it stopped at a batch of a dropped subtask
            await build.run_batches()
        await build.journal.drain()  # every decision on disk before the build reports it
    finally:
        build.journal.flush()  # also when stopped by an error or cancelled: what was decided is kept
    # Read back from the checkpoints, where they were kept during the build (every decision is on disk by now).
    samples = await asyncio.to_thread(build.ledger.samples, [sub.id for sub in plan.subtasks])
    report = _report(build, samples, started=started, warnings=warnings or [], estimate=estimate)
    if material is not None:
        await asyncio.to_thread(copy_images, samples, material, directory)
        dropped = sum(d.check == "evidence" for d in build.ledger.drops)
        report = report.model_copy(update={"material": material_usage(plan, material, samples, dropped)})
    await build.emit(stage="build", kind="finished", done=report.accepted, total=report.requested,
                     message=f"{report.accepted}/{report.requested} samples accepted ({report.status})")
    return samples, report


def _report(build: Build, samples: list[Sample], *, started: datetime, warnings: list[str],
            estimate: CostEstimate | None) -> BuildReport:
    outcomes = build.ledger.outcomes(build.plan, {s.id: len(build.planned(s.id)) for s in build.plan.subtasks})
    # Each endpoint's structured-output mode, found at its first contact during the build.
    notes = [*warnings, *(note for note in build.models.endpoint_notes() if note not in warnings)]
    for outcome in outcomes:
        if outcome.short and build.stop_reason is None:
            why = "; ".join(outcome.top_drop_reasons) or "the generator returned too few samples"
            notes.append(f"Subtask {outcome.subtask_id} is {outcome.short} short of {outcome.quota}: {why}")
    complete = len(samples) >= build.plan.total
    if build.stop_reason and not complete:
        notes.append(f"Stopped early: {build.stop_reason}. Everything accepted so far is saved; resume to continue.")
    status: BuildStatus = "complete" if complete else "stopped" if build.stop_reason else "short"
    positions = Counter(s.answer_letter for s in samples if s.answer_letter)
    return BuildReport(
        build_id=build.build_id, status=status, stop_reason=None if complete else build.stop_reason,
        spec=build.spec, plan=build.plan, requested=build.plan.total, accepted=len(samples),
        stages=stage_counts(build.progress.totals()), subtasks=outcomes,
        drop_reasons=dict(build.ledger.drop_reasons().most_common()), drops=build.ledger.drops,
        models={role: name for role, name in build.models.names.items()},
        usage={role: meter.model_copy() for role, meter in build.models.usage.items()}, cost=build.cost(), estimate=estimate,
        cache_hits=build.models.cache_hits(), retries=build.models.retries(),
        answer_positions=dict(sorted(positions.items())), warnings=notes, started_at=started,
        finished_at=datetime.now(UTC),
    )


def copy_images(samples: list[Sample], material: MaterialView, directory: Path) -> None:
    """Put each image item's image at the path the item names (`images/<sha256>.<ext>` under `directory`)."""
    for sample in samples:
        target = directory / sample.image if sample.image else None
        if target is None or target.exists():
            continue
        unit = next((u for u in sample_units(sample) if u.endswith(":img")), None)
        if unit is not None:
            write_atomic(target, material.image_path(unit).read_bytes())
