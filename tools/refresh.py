"""A fresh version of a finished benchmark: same spec and plan, no item of any earlier version.

A saturated benchmark is renewed by building it again: the new version is de-duplicated against every
earlier version (their items are put in the memory first, in case they were built elsewhere), its report
and card name the version it replaces, and `versions.json` in its folder lists the whole lineage, so a
refresh of the refresh still avoids the first version. Running it again on the same folder resumes it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

from memory.catalog import PriorCatalog
from memory.dedup import Deduplicator
from memory.files import write_json
from memory.store import SampleStore
from tools.contracts import BenchmarkSpec, BuildReport, EventSink, Sample, SubtaskPlan
from tools.engine.batches import BuildOptions, dedup_item
from tools.errors import InvalidRequest
from tools.export.rows import samples_from_rows
from tools.finish.run import FinishOptions
from tools.llm.stage import StageModels
from tools.pipeline import BuildResult, build_and_export

if TYPE_CHECKING:
    from tools.sources import MaterialView

VERSIONS = "versions.json"


def earlier_versions(previous: Path) -> list[dict[str, str]]:
    """The versions a refresh of `previous` must avoid, oldest first: `previous`'s own lineage, then itself."""
    report = _report(previous)
    lineage_path = previous / VERSIONS
    lineage: list[dict[str, str]] = json.loads(lineage_path.read_text()) if lineage_path.exists() else []
    return [*lineage, {"build_id": report.build_id, "directory": str(previous.resolve())}]


def _report(directory: Path) -> BuildReport:
    path = directory / "report.json"
    if not path.exists():
        raise InvalidRequest(f"{directory} holds no finished benchmark to refresh (no report.json): give the folder "
                             "a build wrote with --out.")
    return BuildReport.model_validate_json(path.read_text())


def _version_samples(version: dict[str, str]) -> list[Sample]:
    rows = Path(version["directory"]) / "benchmark.jsonl"
    return samples_from_rows(rows.read_text(), source=str(rows)) if rows.exists() else []


def fresh_plan(report: BuildReport) -> tuple[BenchmarkSpec, SubtaskPlan]:
    """The spec and plan a refresh builds: those the earlier version was built from."""
    return report.spec, report.plan


def _remember(versions: list[dict[str, str]], store: SampleStore) -> int:
    """Put every earlier version's items in the memory de-duplication reads (a no-op for items already there)."""
    dedup = Deduplicator(store.embedder)
    remembered = 0
    for version in versions:
        for sample in _version_samples(version):
            dedup.remember(dedup_item(sample), store, build_id=version["build_id"], subtask_id=sample.subtask_id)
            remembered += 1
    return remembered


async def refresh_build(
    previous: Path,
    directory: Path,
    *,
    models: StageModels,
    store: SampleStore,
    options: BuildOptions,
    on_event: EventSink | None = None,
    warnings: list[str] | None = None,
    finishing: FinishOptions | None = None,
    catalog: PriorCatalog | None = None,
    material: MaterialView | None = None,
) -> BuildResult:
    """Build a new version of the benchmark in `previous` into `directory` (from `material` when it was grounded)."""
    if directory.resolve() == previous.resolve():
        raise InvalidRequest("A fresh version needs its own folder: give --out a folder other than the benchmark's.")
    report = _report(previous)
    versions = earlier_versions(previous)
    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / VERSIONS, versions)
    remembered = await asyncio.to_thread(_remember, versions, store)
    spec, plan = fresh_plan(report)
    note = (f"Fresh version of {report.build_id}: de-duplicated against {remembered} items of "
            f"{len(versions)} earlier version{'s' if len(versions) != 1 else ''}.")
    return await build_and_export(spec, plan, models=models, store=store, directory=directory, options=options,
                                  on_event=on_event, warnings=[*(warnings or []), note], finishing=finishing,
                                  catalog=catalog, replaces=report.build_id, material=material)


def refreshed_from(directory: Path) -> Path | None:
    """The benchmark folder a fresh version in `directory` replaces, or None when `directory` is no fresh version."""
    lineage = directory / VERSIONS
    if not lineage.exists():
        return None
    versions: list[dict[str, str]] = json.loads(lineage.read_text())
    return Path(versions[-1]["directory"]) if versions else None
