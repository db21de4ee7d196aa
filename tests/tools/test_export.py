from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from memory.store import SampleStore
from tests.scripted import Script, stage_models
from tests.tools.samples import ACCEPT, batch_for
from tools.contracts import BenchmarkSpec, ExportManifest, Subtask, SubtaskPlan
from tools.engine.batches import BuildOptions
from tools.engine.build import run_build
from tools.errors import StageFailed
from tools.export.bundle import export_benchmark

SPEC = BenchmarkSpec(goal="arithmetic", capability="arithmetic", domain="word problems",
                     answer_format="multiple_choice", size=3, assumptions=["Language: English (not specified)"])
PLAN = SubtaskPlan(subtasks=[Subtask(id="adding", name="Adding", description="d", answer_format="multiple_choice", quota=3)])


async def _built(tmp_path: Path, store: SampleStore):  # type: ignore[no-untyped-def]
    script = Script(submit_samples=[batch_for], submit_verdict=[ACCEPT])
    return await run_build(SPEC, PLAN, build_id="b1", models=stage_models(script), store=store,
                           directory=tmp_path, options=BuildOptions(dedup_threshold=0.95))


async def test_export_writes_jsonl_csv_report_and_card_that_load_back(tmp_path: Path, store: SampleStore) -> None:
    samples, report = await _built(tmp_path, store)
    manifest = export_benchmark(samples, report, tmp_path)
    paths = {f.path for f in manifest.files}
    assert {"benchmark.jsonl", "benchmark.csv", "report.json", "README.md", "benchmark.zip"} <= paths
    assert {"data/test-00000-of-00001.parquet", "lm_eval/ba_arithmetic_mc.yaml", "inspect/benchmark_task.py",
            "pydantic_evals/dataset.yaml"} <= paths
    rows = [json.loads(line) for line in (tmp_path / "benchmark.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [s.id for s in samples]
    assert all(r["choices"][r["answer_index"]] == r["answer"] for r in rows)
    with (tmp_path / "benchmark.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [t["id"] for t in table] == [r["id"] for r in rows]
    assert json.loads(table[0]["choices"]) == rows[0]["choices"]
    assert json.loads((tmp_path / "report.json").read_text())["accepted"] == 3
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\n") and "license: other" in card and "split: test" in card and "Language: English" in card
    assert ExportManifest.model_validate_json((tmp_path / "manifest.json").read_text()) == manifest


async def test_no_accepted_samples_writes_only_the_report_and_fails(tmp_path: Path, store: SampleStore) -> None:
    samples, report = await _built(tmp_path, store)
    with pytest.raises(StageFailed, match="report.json"):
        export_benchmark([], report, tmp_path / "empty")
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["report.json"]


async def test_exported_jsonl_loads_with_hugging_face_style_json_reader(tmp_path: Path, store: SampleStore) -> None:
    samples, report = await _built(tmp_path, store)
    export_benchmark(samples, report, tmp_path)
    import pyarrow.json as pj

    table = pj.read_json(tmp_path / "benchmark.jsonl")
    assert table.num_rows == 3 and "question" in table.column_names
