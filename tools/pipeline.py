"""The whole pipeline, end to end, for the CLI and for the chat once a plan is confirmed."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from memory.files import write_json
from memory.store import SampleStore
from tools.build import CHECKPOINTS, BuildOptions, EventSink, run_build
from tools.design import design_subtasks
from tools.export import export_benchmark
from tools.llm import StageModels
from tools.models import BenchmarkSpec, BuildEvent, BuildReport, ExportManifest, NeedsClarification, SubtaskPlan
from tools.requirements import analyze_request


@dataclass(frozen=True)
class Limits:
    max_size: int = 500
    default_size: int = 20


@dataclass(frozen=True)
class BuildResult:
    report: BuildReport
    manifest: ExportManifest | None


def build_id_for(directory: Path) -> str:
    """The id of the build in `directory`: kept across resumes, new for a new directory."""
    marker = directory / CHECKPOINTS / "build.json"
    if marker.exists():
        return str(json.loads(marker.read_text())["build_id"])
    build_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    write_json(marker, {"build_id": build_id})
    return build_id


async def _emit(on_event: EventSink | None, event: BuildEvent) -> None:
    if on_event is not None:
        result = on_event(event)
        if result is not None:
            await result


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
) -> BuildResult:
    """Build to the plan's quotas and export; with no accepted sample, raise after writing report.json."""
    build_id = build_id_for(directory)
    samples, report = await run_build(spec, plan, build_id=build_id, models=models, store=store, directory=directory,
                                      options=options, on_event=on_event, warnings=warnings)
    await _emit(on_event, BuildEvent(stage="export", kind="started", message=f"Writing {len(samples)} samples"))
    manifest = export_benchmark(samples, report, directory)
    await _emit(on_event, BuildEvent(stage="export", kind="finished", message=f"Wrote {len(manifest.files)} files"))
    return BuildResult(report=report, manifest=manifest)


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
) -> BuildResult:
    """Request in, benchmark out, no questions asked: every gap is filled and recorded as an assumption."""
    await _emit(on_event, BuildEvent(stage="analyze", kind="started", message="Reading the request"))
    spec = await analyze_request(request, models=models, max_size=limits.max_size, default_size=limits.default_size,
                                 size=size, autonomous=True)
    assert not isinstance(spec, NeedsClarification)
    await _emit(on_event, BuildEvent(stage="analyze", kind="finished", message=f"Spec: {spec.size} {spec.answer_format} "
                                     f"samples on {spec.capability} ({spec.domain})"))
    await _emit(on_event, BuildEvent(stage="design", kind="started", message="Designing subtasks"))
    plan = await design_subtasks(spec, models=models)
    await _emit(on_event, BuildEvent(stage="design", kind="finished", message="Subtasks: " + ", ".join(
        f"{s.name} ({s.quota})" for s in plan.subtasks)))
    return await build_and_export(spec, plan, models=models, store=store, directory=directory, options=options,
                                  on_event=on_event, warnings=[*(warnings or []), *_spec_notes(spec)])


def _spec_notes(spec: BenchmarkSpec) -> list[str]:
    return [f"Not done: {item}" for item in spec.unsupported_requests]
