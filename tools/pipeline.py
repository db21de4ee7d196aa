"""The whole pipeline, end to end, for the CLI and for the chat once a plan is confirmed."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from memory.catalog import PriorCatalog
from memory.files import write_json
from memory.store import SampleStore
from tools.contracts import (
    BenchmarkSpec,
    BuildEvent,
    BuildReport,
    CostEstimate,
    EventSink,
    ExportManifest,
    NeedsClarification,
    QualityReport,
    Sample,
    SubtaskPlan,
    emit,
)
from tools.engine.batches import CHECKPOINTS, BuildOptions
from tools.engine.budget import cost_of, estimate_build, price_for
from tools.engine.build import run_build
from tools.errors import ConfigurationError, InvalidRequest
from tools.export.bundle import Written, export_benchmark, write_data
from tools.finish.early import EarlyScores
from tools.finish.quality import judge_prompt, score_one, unexecuted, unexecuted_note
from tools.finish.run import FinishOptions, finish
from tools.llm.resilience import CallCache
from tools.llm.stage import StageModels
from tools.stages.design import design_subtasks
from tools.stages.ground import assign_material
from tools.stages.material_index import material_index
from tools.stages.requirements import analyze_request

if TYPE_CHECKING:
    from tools.sources import MaterialView


@dataclass(frozen=True)
class Limits:
    max_size: int = 500
    default_size: int = 20


@dataclass(frozen=True)
class BuildResult:
    report: BuildReport
    manifest: ExportManifest | None
    quality: QualityReport | None = None


def build_id_for(directory: Path, material: Path | None = None) -> str:
    """The id of the build in `directory`: kept across resumes, new for a new directory. The folder of the material
    a grounded build is written from is recorded beside it, so that a resume finds it."""
    marker = directory / CHECKPOINTS / "build.json"
    record = json.loads(marker.read_text()) if marker.exists() else {
        "build_id": f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"}
    if material is not None and record.get("material") != str(material.resolve()):
        record["material"] = str(material.resolve())
    elif marker.exists():
        return str(record["build_id"])
    write_json(marker, record)
    return str(record["build_id"])


def recorded_material(directory: Path) -> MaterialView | None:
    """The material a build in `directory` was written from, as its build.json records it; None for none."""
    marker = directory / CHECKPOINTS / "build.json"
    folder = json.loads(marker.read_text()).get("material") if marker.exists() else None
    if folder is None:
        return None
    if not (Path(folder) / "material.json").exists():
        raise InvalidRequest(f"The build in {directory} was written from the material in {folder}, which is gone "
                             "(no material.json there): restore that folder to resume it.")
    from tools.sources import MaterialView  # the build's material is read only when it has one

    return MaterialView(Path(folder))



def estimate_for(plan: SubtaskPlan, spec: BenchmarkSpec, models: StageModels, options: BuildOptions,
                 quality_items: int = 0, panel: list[str] | None = None) -> CostEstimate:
    gate = options.qc is not None
    return estimate_build(spec, plan, batch_size=options.batch_size, names=models.names, prices=options.prices,
                          briefs=options.briefs, gate=gate, resolve=gate and bool(options.qc and options.qc.resolve)
                          and "solver" in models.models, quality_items=quality_items, panel=panel or [])


def _preflight(models: StageModels, options: BuildOptions, panel: list[str]) -> None:
    """Refuse a budget that cannot be enforced before any token is spent (panel models spend too)."""
    if options.budget.max_cost is None:
        return
    unknown = [name for name in [*models.names.values(), *panel] if price_for(name, options.prices) is None]
    if unknown:
        raise ConfigurationError(
            f"A cost budget is set but the price of {', '.join(sorted(set(unknown)))} is unknown: set "
            "BENCHMARK_AGENT_PRICES (e.g. 'openai:my-model=0.5/1.5', dollars per million input/output tokens) "
            "or use BENCHMARK_AGENT_MAX_TOKENS instead.")


async def build_and_export(
    spec: BenchmarkSpec,
    plan: SubtaskPlan,
    *,
    models: StageModels,
    store: SampleStore,
    directory: Path,
    options: BuildOptions,
    on_event: EventSink | None = None,
    warnings: list[str] | None = None,
    finishing: FinishOptions | None = None,
    catalog: PriorCatalog | None = None,
    replaces: str | None = None,
    material: MaterialView | None = None,
) -> BuildResult:
    """Build to the plan's quotas, finish (positions, panel, quality) and export; the exported benchmark joins the
    prior-benchmark `catalog` when one is given. A build stopped by its budget or a dead endpoint writes only
    report.json (its checkpoints let it resume); one with no accepted sample raises after writing it. With
    `material`, the plan's grounded subtasks are written from it (`tools.stages.ground.assign_material`)."""
    _preflight(models, options, list((finishing or FinishOptions()).panel))
    build_id = build_id_for(directory, material.folder if material is not None else None)
    finishing = finishing or FinishOptions()
    estimate = estimate_for(plan, spec, models, options, finishing.quality_sample_size, list(finishing.panel))
    await emit(on_event, BuildEvent(stage="build", kind="progress", message=describe_estimate(estimate)))
    build_models = models.with_cache(CallCache(directory / CHECKPOINTS / "calls.jsonl"))
    # The quality judge scores the items the report will likely pick while the build runs (tools/finish/early.py).
    scores = EarlyScores(plan, finishing.quality_sample_size, seed=build_id, score=partial(score_one, spec=spec, plan=plan),
                         prompt=partial(judge_prompt, spec=spec, plan=plan)) if finishing.quality_sample_size > 0 else None
    early: list[asyncio.Task[Written]] = []  # the data files, written while the quality is scored

    def write_early(final: list[Sample]) -> None:
        early.append(asyncio.create_task(asyncio.to_thread(write_data, final, spec.capability, directory)))

    try:
        samples, report = await run_build(spec, plan, build_id=build_id, models=build_models, store=store,
                                          directory=directory, options=options, on_event=on_event,
                                          warnings=[*(warnings or []), *estimate.shared_models], estimate=estimate,
                                          material=material, early=scores)
        if report.status == "stopped":
            write_json(directory / "report.json", report.model_dump(mode="json"))
            return BuildResult(report=report, manifest=None)
        done = await finish(samples, report, spec=spec, plan=plan, models=build_models, store=store,
                            checkpoints=directory / CHECKPOINTS, options=finishing, on_event=on_event,
                            on_final=write_early, early=scores) if samples else None
    finally:  # the judge's calls not taken are cancelled; a failed finish still waits for the files being written
        if scores is not None:
            scores.cancel()
        await asyncio.gather(*early, return_exceptions=True)
    if done is not None:
        samples, report, quality = done.samples, done.report, done.quality
        # Finishing (panel, quality scoring) spends too: the report's usage and cost cover the whole run.
        usage = {role: meter.model_copy() for role, meter in build_models.usage.items()}
        report = report.model_copy(update={"usage": usage, "cost": cost_of(usage, build_models.names, options.prices)})
        if missing := unexecuted(samples):  # kept only because solutions were not required: the report says which
            report = report.model_copy(update={"warnings": [*report.warnings, unexecuted_note(missing)]})
    else:
        quality = None
    if replaces is not None:  # a refreshed version names the one it renews (report and card)
        report = report.model_copy(update={"replaces": replaces})
    await emit(on_event, BuildEvent(stage="export", kind="started", message=f"Writing {len(samples)} samples"))
    # Off the loop: for a large build the files take seconds to write, and a chat server's other users wait
    written = early[0].result() if early else None  # a failed early write raises here, as the export would
    manifest = await asyncio.to_thread(export_benchmark, samples, report, directory, quality=quality, written=written)
    await emit(on_event, BuildEvent(stage="export", kind="finished", message=f"Wrote {len(manifest.files)} files"))
    if catalog is not None and samples:
        await asyncio.to_thread(_catalogue, catalog, spec, plan, report)
    return BuildResult(report=report, manifest=manifest, quality=quality)


def _catalogue(catalog: PriorCatalog, spec: BenchmarkSpec, plan: SubtaskPlan, report: BuildReport) -> None:
    """Record a finished benchmark as a prior one, so later designs can say how they differ from it."""
    subtasks = "; ".join(f"{s.name}: {s.description}" for s in plan.subtasks)
    catalog.add_built(build_id=report.build_id, name=f"{spec.capability} ({spec.domain})"[:120],
                      measures=f"{spec.goal} Subtasks: {subtasks}"[:1000], format=spec.answer_format.replace("_", " "),
                      size=f"{report.accepted} samples", year=report.finished_at.year)


def describe_estimate(estimate: CostEstimate) -> str:
    cost = "unknown cost (no price for this model)" if estimate.cost is None else f"about ${estimate.cost:.4f}"
    line = (f"Estimate: {estimate.calls} model calls, {estimate.input_tokens + estimate.output_tokens:,} tokens, "
            f"{cost}, assuming {estimate.assumed_acceptance:.0%} of samples pass")
    return "\n".join([line, *estimate.shared_models])  # one line each: which roles share a model


async def resume_build(directory: Path, *, models: StageModels, store: SampleStore, options: BuildOptions,
                       on_event: EventSink | None = None, warnings: list[str] | None = None,
                       finishing: FinishOptions | None = None, catalog: PriorCatalog | None = None,
                       material: MaterialView | None = None) -> BuildResult:
    """Continue an interrupted build from its checkpoints: same spec, plan, id and material (the folder its
    build.json names, unless `material` is given); nothing decided is redone."""
    checkpoints = directory / CHECKPOINTS
    try:
        spec = BenchmarkSpec.model_validate_json((checkpoints / "spec.json").read_text())
        plan = SubtaskPlan.model_validate_json((checkpoints / "plan.json").read_text())
    except OSError as exc:  # no such folder, a file in its place, no checkpoints in it
        raise InvalidRequest(f"{directory} holds no build to resume (no {CHECKPOINTS}/spec.json and plan.json).") from exc
    except ValidationError as exc:
        raise InvalidRequest(f"{directory}'s {CHECKPOINTS}/spec.json or plan.json is damaged ({exc.error_count()} "
                             "errors): it cannot be resumed; build it again into a new folder.") from exc
    return await build_and_export(spec, plan, models=models, store=store, directory=directory, options=options,
                                  on_event=on_event, warnings=warnings, finishing=finishing, catalog=catalog,
                                  material=material if material is not None else recorded_material(directory))


async def run_autonomous(
    request: str,
    *,
    size: int | None,
    models: StageModels,
    store: SampleStore,
    directory: Path,
    options: BuildOptions,
    limits: Limits,
    on_event: EventSink | None = None,
    warnings: list[str] | None = None,
    finishing: FinishOptions | None = None,
    catalog: PriorCatalog | None = None,
    material: MaterialView | None = None,
) -> BuildResult:
    """Request in, benchmark out, no questions asked: every gap is filled and recorded as an assumption. With
    `material`, the spec and subtasks come from it and every subtask's items are written from their share of it."""
    await emit(on_event, BuildEvent(stage="analyze", kind="started", message="Reading the request"))
    summary = material.describe() if material is not None else None
    spec = await analyze_request(request, models=models, max_size=limits.max_size, default_size=limits.default_size,
                                 size=size, autonomous=True, material=summary)
    assert not isinstance(spec, NeedsClarification)
    await emit(on_event, BuildEvent(stage="analyze", kind="finished", message=f"Spec: {spec.size} {spec.answer_format} "
                                     f"samples on {spec.capability} ({spec.domain})"))
    await emit(on_event, BuildEvent(stage="design", kind="started", message="Designing subtasks"))
    plan = await design_subtasks(spec, models=models, catalog=catalog, material=summary)
    if material is not None:
        index = await asyncio.to_thread(material_index, material, store)
        plan = assign_material(plan, material, index)
    await emit(on_event, BuildEvent(stage="design", kind="finished", message="Subtasks: " + ", ".join(
        f"{s.name} ({s.quota})" for s in plan.subtasks)))
    return await build_and_export(spec, plan, models=models, store=store, directory=directory, options=options,
                                  on_event=on_event, warnings=[*(warnings or []), *_spec_notes(spec)],
                                  finishing=finishing, catalog=catalog, material=material)


def _spec_notes(spec: BenchmarkSpec) -> list[str]:
    return [f"Not done: {item}" for item in spec.unsupported_requests]
