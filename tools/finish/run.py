"""After the quotas are met: balance answer positions, calibrate difficulty with a panel, score quality."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_ai.models import Model

from memory.dedup import SHIPPED_THRESHOLD, DedupItem, Deduplicator
from memory.store import SampleStore
from tools.contracts import (
    BenchmarkSpec,
    BuildEvent,
    BuildReport,
    EventSink,
    PanelReport,
    QualityReport,
    Sample,
    SampleDraft,
    Subtask,
    SubtaskPlan,
    emit,
)
from tools.engine.ledger import decided_checks
from tools.finish.early import EarlyScores
from tools.finish.panel import calibrate_difficulty
from tools.finish.positions import balance_positions, position_distribution
from tools.finish.quality import quality_report
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions, quality_gate
from tools.qc.schema import CheckFailed, to_sample


@dataclass(frozen=True)
class FinishOptions:
    panel: dict[str, Model] = field(default_factory=dict)
    band: tuple[float, float] | None = None
    panel_attempts: int = 1
    calibration_rounds: int = 2
    quality_sample_size: int = 20
    qc: QCOptions | None = None
    dedup_threshold: float = SHIPPED_THRESHOLD
    concurrency: int = 8


@dataclass(frozen=True)
class Finished:
    samples: list[Sample]
    report: BuildReport
    quality: QualityReport | None
    panel: PanelReport | None


async def finish(samples: list[Sample], report: BuildReport, *, spec: BenchmarkSpec, plan: SubtaskPlan,
                 models: StageModels, store: SampleStore, checkpoints: Path, options: FinishOptions,
                 on_event: EventSink | None = None, on_final: Callable[[list[Sample]], None] | None = None,
                 early: EarlyScores | None = None) -> Finished:
    """Positions balanced, then (when configured) panel calibration and the quality report. `on_final` is told
    the final samples as soon as they are final, before the quality is scored (what the export writes meanwhile).
    `early` holds the judge's scores taken while the build ran; its calls not taken are cancelled here."""
    try:
        return await _finish(samples, report, spec=spec, plan=plan, models=models, store=store,
                             checkpoints=checkpoints, options=options, on_event=on_event, on_final=on_final, early=early)
    finally:
        if early is not None:
            early.cancel()


async def _finish(samples: list[Sample], report: BuildReport, *, spec: BenchmarkSpec, plan: SubtaskPlan,
                  models: StageModels, store: SampleStore, checkpoints: Path, options: FinishOptions,
                  on_event: EventSink | None, on_final: Callable[[list[Sample]], None] | None,
                  early: EarlyScores | None) -> Finished:
    as_accepted = {s.id: s for s in samples}  # what the quality judge sees of an item: as accepted
    samples = balance_positions(samples)
    panel: PanelReport | None = None
    if options.panel and samples:
        await emit(on_event, BuildEvent(stage="verify", kind="progress", message=f"Calibrating difficulty with {len(options.panel)} panel models"))
        admit = _Admit(spec, models, store, report.build_id, options)
        samples, panel = await calibrate_difficulty(
            samples, spec, plan, panel=options.panel, models=models, band=options.band, admit=admit,
            attempts=options.panel_attempts, max_rounds=options.calibration_rounds, concurrency=options.concurrency)
        for sample in samples:  # a hardened replacement, as admitted
            as_accepted.setdefault(sample.id, sample)
        samples = balance_positions(samples)
    report = report.model_copy(update={"answer_positions": position_distribution(samples),
                                       "warnings": [*report.warnings, *(panel.notes if panel else [])]})
    if on_final is not None:
        on_final(samples)
    quality = None
    if options.quality_sample_size > 0 and samples:
        await emit(on_event, BuildEvent(stage="verify", kind="progress", message=f"Scoring the quality of {min(options.quality_sample_size, len(samples))} samples"))
        records = await asyncio.to_thread(decided_checks, checkpoints)  # reads the build's checkpoints: off the loop
        quality = await quality_report(samples, spec, plan, models=models, build_id=report.build_id,
                                       records=records, build=report, panel=panel,
                                       sample_size=options.quality_sample_size, concurrency=options.concurrency,
                                       as_accepted=as_accepted, early=early)
    return Finished(samples=samples, report=report, quality=quality, panel=panel)


class _Admit:
    """What a hardened replacement must pass: the format checks, the quality gate and de-duplication."""

    def __init__(self, spec: BenchmarkSpec, models: StageModels, store: SampleStore, build_id: str,
                 options: FinishOptions) -> None:
        self.spec, self.models, self.store, self.build_id, self.options = spec, models, store, build_id, options
        self.dedup = Deduplicator(store.embedder, threshold=options.dedup_threshold)

    async def __call__(self, draft: SampleDraft, subtask: Subtask, replaced: Sample) -> Sample | None:
        try:
            sample = to_sample(draft, subtask, replaced.provenance)
        except CheckFailed:
            return None
        if self.options.qc is not None:
            gated = await quality_gate(sample, self.spec, subtask, models=self.models, options=self.options.qc)
            if gated.sample is None:
                return None
            sample = gated.sample
        item = DedupItem(id=sample.id, question=sample.question, answer=sample.answer, context=sample.context,
                         choices=tuple(sample.choices) if sample.choices else None)
        async with self.store.accepting():  # check and remember as one step (tools/engine/batches.py)
            match = await self.dedup.check(item, self.store)
            if match is not None and match.a != replaced.id:
                return None
            await asyncio.to_thread(self.dedup.remember, item, self.store, build_id=self.build_id,
                                    subtask_id=subtask.id)
        return sample.model_copy(update={"metadata": {**replaced.metadata, **sample.metadata}})

