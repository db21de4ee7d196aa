"""Grounded items (evidence from documents and records, images) survive every export and its consumer's loader."""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from assistant.cli import main
from tools.contracts import (
    BenchmarkSpec,
    BuildReport,
    Evidence,
    MaterialUsage,
    Provenance,
    Sample,
    StageCount,
    Subtask,
    SubtaskPlan,
)
from tools.errors import StageFailed
from tools.export.bundle import export_benchmark
from tools.export.rows import sample_row, samples_from_rows

NOW = datetime(2026, 12, 2, tzinfo=UTC)
PROVENANCE = Provenance(build_id="g1", generator_model="openai:gen", judge_model="openai:judge", attempt=0, created_at=NOW)
SPEC = BenchmarkSpec(goal="questions on our reports", capability="report reading", domain="annual reports",
                     answer_format="multiple_choice", size=5)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="doc", name="Document", description="d", answer_format="multiple_choice", quota=1),
    Subtask(id="rec", name="Records", description="d", answer_format="numeric", quota=1),
    Subtask(id="fig", name="Figures", description="d", answer_format="multiple_choice", quota=1),
    Subtask(id="pic", name="Pictures", description="d", answer_format="short_answer", quota=1),
    Subtask(id="plain", name="Plain", description="d", answer_format="yes_no", quota=1),
])
# Chinese, emoji and right-to-left text in quotes and file names: every format must keep them as they are.
DOC_QUOTE = "营收增长了 12% 📈，مبيعات قوية"
RECORD_QUOTE = "price: 42"


def _png(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED, BLUE = _png((255, 0, 0), (6, 4)), _png((0, 0, 255), (3, 5))
RED_PATH, BLUE_PATH = (f"images/{hashlib.sha256(b).hexdigest()}.png" for b in (RED, BLUE))


def _sample(subtask: str, fmt: str, question: str, answer: str, **extra: Any) -> Sample:
    digest = hashlib.sha256(question.encode()).hexdigest()[:12]
    return Sample(id=f"{subtask}-{digest}", subtask_id=subtask, answer_format=fmt, question=question, answer=answer,
                  provenance=PROVENANCE, **extra)  # type: ignore[arg-type]


SAMPLES = [
    _sample("doc", "multiple_choice", "报告中营收增长了多少？", "12%", choices=["8%", "12%", "20%"], answer_index=1,
            context=f"第四页：{DOC_QUOTE}。",
            evidence=[Evidence(unit="report-1a2b:c3", source="年报 report.pdf", anchor="page 4", quote=DOC_QUOTE)]),
    _sample("rec", "numeric", "What is the price of item 17?", "42", context="item: 17\nprice: 42",
            evidence=[Evidence(unit="prices-9f8e:r17", source="prices.csv", anchor="row 17", quote=RECORD_QUOTE),
                      Evidence(unit="prices-9f8e:r18", source="prices.csv", anchor="row 18", quote="item: 18")]),
    _sample("fig", "multiple_choice", "What colour fills the chart?", "red", choices=["red", "green", "blue"],
            answer_index=0, image=RED_PATH,
            evidence=[Evidence(unit="chart-77aa:img", source="chart.png", anchor="image")]),
    _sample("pic", "short_answer", "Which colour is the square?", "blue", image=BLUE_PATH,
            evidence=[Evidence(unit="square-55cc:img", source="square.png", anchor="image")]),
    _sample("plain", "yes_no", "Is 7 a prime number? ✅", "Yes"),
]
USAGE = MaterialUsage(sources=["年报 report.pdf", "prices.csv", "chart.png", "square.png"], chunks_total=40,
                      chunks_used=12, records_total=300, records_used=45, unused_records=[f"prices-9f8e:r{n}" for n in range(46, 246)],
                      images_total=3, images_used=2, evidence_dropped=4, closed_book_checked=12,
                      answerable_without_source=3, blind_checked=2, answerable_blind=1)


def _report(*, material: MaterialUsage | None = USAGE, evidence_ran: bool = True) -> BuildReport:
    stages = [StageCount(stage="evidence", attempted=9, passed=5, dropped=4)] if evidence_ran else []
    return BuildReport(build_id="g1", status="complete", spec=SPEC, plan=PLAN, requested=5, accepted=5, stages=stages,
                       subtasks=[], drop_reasons={}, drops=[], models={"generator": "openai:gen", "judge": "openai:judge"},
                       usage={}, material=material, started_at=NOW, finished_at=NOW)


def _build_folder(directory: Path) -> Path:
    """What the engine leaves: the images the items show, under images/."""
    for path, data in ((RED_PATH, RED), (BLUE_PATH, BLUE)):
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    return directory


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    export_benchmark(SAMPLES, _report(), _build_folder(tmp_path))
    return tmp_path


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _resolves(file: Path, relative: str, data: bytes) -> None:
    assert (file.parent / relative).read_bytes() == data, f"{relative} from {file}"


def test_every_export_names_every_image_by_a_path_that_resolves_from_its_own_file(exported: Path) -> None:
    expected = {SAMPLES[2].id: RED, SAMPLES[3].id: BLUE}
    found: dict[str, list[str]] = {}
    for file, rows in [(exported / "benchmark.jsonl", _jsonl(exported / "benchmark.jsonl")),
                       *[(f, _jsonl(f)) for f in sorted((exported / "lm_eval").glob("*.jsonl"))]]:
        for row in rows:
            if row["image"]:
                _resolves(file, row["image"], expected[row["id"]])
                found.setdefault(row["id"], []).append(file.name)
    with (exported / "benchmark.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["image"]:
                _resolves(exported / "benchmark.csv", row["image"], expected[row["id"]])
                found[row["id"]].append("benchmark.csv")
    for file in sorted((exported / "inspect").glob("*_image.jsonl")):
        for row in _jsonl(file):
            (message,) = row["input"]
            _resolves(file, message["content"][1]["image"], expected[row["id"]])
            found[row["id"]].append(file.name)
    dataset = yaml.safe_load((exported / "pydantic_evals" / "dataset.yaml").read_text(encoding="utf-8"))
    for case in dataset["cases"]:
        if "image" in case["inputs"]:
            _resolves(exported / "pydantic_evals" / "dataset.yaml", case["inputs"]["image"], expected[case["name"]])
            found[case["name"]].append("dataset.yaml")
    assert found == {SAMPLES[2].id: ["benchmark.jsonl", "ba_report_reading_mc_image.jsonl", "benchmark.csv",
                                     "multiple_choice_image.jsonl", "dataset.yaml"],
                     SAMPLES[3].id: ["benchmark.jsonl", "ba_report_reading_gen_image.jsonl", "benchmark.csv",
                                     "short_answer_image.jsonl", "dataset.yaml"]}


def test_the_zip_and_the_manifest_hold_every_image_beside_every_export(exported: Path) -> None:
    with zipfile.ZipFile(exported / "benchmark.zip") as archive:
        assert archive.read(RED_PATH) == RED and archive.read(BLUE_PATH) == BLUE
        names = set(archive.namelist())
    assert {"benchmark.jsonl", "benchmark.csv", "data/test-00000-of-00001.parquet", "lm_eval/loader.py",
            "inspect/benchmark_task.py", "pydantic_evals/dataset.yaml", "README.md"} <= names
    manifest = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    images = {f["path"]: f["sha256"] for f in manifest["files"] if f["format"] == "image"}
    assert images == {RED_PATH: RED_PATH[7:71], BLUE_PATH: BLUE_PATH[7:71]}


def test_the_hugging_face_parquet_embeds_each_image_and_datasets_decodes_it_with_the_evidence(
        exported: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    import datasets

    # The parquet and its card alone, without images/: the images travel inside the parquet.
    alone = tmp_path_factory.mktemp("hub")
    shutil.copytree(exported / "data", alone / "data")
    shutil.copy(exported / "README.md", alone / "README.md")
    loaded = datasets.load_dataset(str(alone), split="test")
    assert isinstance(loaded.features["image"], datasets.Image)
    by_id = {row["id"]: row for row in loaded}
    red, blue = by_id[SAMPLES[2].id]["image"], by_id[SAMPLES[3].id]["image"]
    assert isinstance(red, Image.Image) and red.size == (6, 4) and red.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    assert blue.size == (3, 5) and blue.convert("RGB").getpixel((2, 4)) == (0, 0, 255)
    assert by_id[SAMPLES[0].id]["image"] is None
    assert by_id[SAMPLES[0].id]["evidence"] == [SAMPLES[0].evidence[0].model_dump()]
    assert by_id[SAMPLES[0].id]["evidence"][0]["quote"] == DOC_QUOTE
    assert [e["anchor"] for e in by_id[SAMPLES[1].id]["evidence"]] == ["row 17", "row 18"]
    assert by_id[SAMPLES[4].id]["evidence"] == []
    header = yaml.safe_load((exported / "README.md").read_text(encoding="utf-8").split("---")[1])
    declared = {f["name"]: f for f in header["dataset_info"]["features"]}
    assert declared["image"] == {"name": "image", "dtype": "image"}
    assert [f["name"] for f in declared["evidence"]["list"]] == ["unit", "source", "anchor", "quote"]


def test_a_build_without_material_keeps_its_parquet_columns_and_card_as_before(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    plain = [SAMPLES[4]]
    export_benchmark(plain, _report(material=None), tmp_path, formats=["hf"])
    columns = pq.read_table(tmp_path / "data" / "test-00000-of-00001.parquet").column_names
    assert columns == ["id", "subtask", "answer_format", "question", "context", "choices", "answer", "answer_index",
                       "answer_letter", "rationale", "metadata"]
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "Source material" not in card and "dtype: image" not in card and "images/" not in card


def test_the_csv_keeps_each_items_image_sources_and_full_evidence(exported: Path) -> None:
    with (exported / "benchmark.csv").open(encoding="utf-8", newline="") as handle:
        table = {row["id"]: row for row in csv.DictReader(handle)}
    doc, rec, fig, plain = (table[SAMPLES[i].id] for i in (0, 1, 2, 4))
    assert doc["sources"] == "年报 report.pdf: page 4" and json.loads(doc["evidence"])[0]["quote"] == DOC_QUOTE
    assert rec["sources"] == "prices.csv: row 17; prices.csv: row 18"
    assert [Evidence.model_validate(e) for e in json.loads(rec["evidence"])] == SAMPLES[1].evidence
    assert fig["image"] == RED_PATH and fig["sources"] == "chart.png: image" and doc["image"] == ""
    assert plain["sources"] == plain["evidence"] == ""


def test_lm_eval_puts_image_items_in_multimodal_tasks_that_hand_the_image_to_the_model(
        exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lm_eval.tasks import TaskManager, get_task_dict

    monkeypatch.chdir(exported.parent)
    manager = TaskManager(include_path=str(exported / "lm_eval"), include_defaults=False)
    name = "ba_report_reading"
    tasks = get_task_dict([f"{name}_mc", f"{name}_gen", f"{name}_mc_image", f"{name}_gen_image"], manager)
    mc, gen, mc_image, gen_image = (tasks[f"{name}_{t}"] for t in ("mc", "gen", "mc_image", "gen_image"))
    assert not getattr(mc, "MULTIMODAL", False) and not getattr(gen, "MULTIMODAL", False)
    assert mc_image.MULTIMODAL and gen_image.MULTIMODAL
    (doc,) = list(mc.test_docs())
    assert doc["evidence"][0]["quote"] == DOC_QUOTE and DOC_QUOTE in mc.doc_to_text(doc)
    assert [d["id"] for d in gen.test_docs()] == [SAMPLES[1].id, SAMPLES[4].id]
    (picture,) = list(mc_image.test_docs())
    assert mc_image.doc_to_text(picture).startswith("<image>\nWhat colour fills the chart?")
    (image,) = mc_image.doc_to_image(picture)
    assert image.size == (6, 4) and image.getpixel((0, 0)) == (255, 0, 0)
    (square,) = list(gen_image.test_docs())
    requests = gen_image.construct_requests(square, gen_image.doc_to_text(square), metadata=(name, 0, 1))
    request = requests[0] if isinstance(requests, list) else requests
    assert request.arguments[2]["visual"][0].size == (3, 5)
    assert gen_image.process_results(square, ["Blue."]) == {"acc": 1.0}
    task_yaml = (exported / "lm_eval" / f"{name}_mc_image.yaml").read_text(encoding="utf-8")
    assert task_yaml.startswith("# Image items:") and "hf-multimodal" in task_yaml
    assert yaml.safe_load((exported / "lm_eval" / f"{name}.yaml").read_text())["task"] == [
        f"{name}_mc", f"{name}_gen", f"{name}_mc_image", f"{name}_gen_image"]


def test_the_inspect_image_items_are_a_user_message_of_text_then_image_in_tasks_of_their_own(exported: Path) -> None:
    folder = exported / "inspect"
    source = (folder / "benchmark_task.py").read_text(encoding="utf-8")
    compile(source, "benchmark_task.py", "exec")
    tasks = [f.name for f in ast.parse(source).body if isinstance(f, ast.FunctionDef)]
    assert tasks == ["ba_report_reading_mc", "ba_report_reading_numeric", "ba_report_reading_yes_no",
                     "ba_report_reading_mc_image", "ba_report_reading_short_image"]
    (row,) = _jsonl(folder / "multiple_choice_image.jsonl")
    assert row["input"] == [{"role": "user", "content": [
        {"type": "text", "text": "What colour fills the chart?"}, {"type": "image", "image": "../" + RED_PATH}]}]
    assert row["target"] == "A" and row["metadata"]["evidence"] == [SAMPLES[2].evidence[0].model_dump()]
    (text,) = _jsonl(folder / "multiple_choice.jsonl")
    assert text["input"] == f"第四页：{DOC_QUOTE}。\n\n报告中营收增长了多少？" and text["metadata"]["evidence"][0]["quote"] == DOC_QUOTE


def test_the_pydantic_evals_dataset_carries_image_paths_and_evidence_through_its_reader(exported: Path) -> None:
    from pydantic_evals import Dataset

    file = exported / "pydantic_evals" / "dataset.yaml"
    cases = {c.name: c for c in Dataset[dict, str, dict].from_file(file).cases}
    figure, document = cases[SAMPLES[2].id], cases[SAMPLES[0].id]
    assert (file.parent / figure.inputs["image"]).read_bytes() == RED and "image" not in document.inputs
    assert document.metadata and document.metadata["evidence"] == [SAMPLES[0].evidence[0].model_dump()]
    assert document.metadata["evidence"][0]["quote"] == DOC_QUOTE and "evidence" not in document.inputs
    assert figure.expected_output == "A"


def test_the_card_states_the_material_figures_of_the_report(exported: Path) -> None:
    card = (exported / "README.md").read_text(encoding="utf-8")
    section = card.split("## Source material")[1].split("\n## ")[0]
    assert "`年报 report.pdf`, `prices.csv`, `chart.png`, `square.png`" in section
    assert "| document passages | 12 | 40 |" in section and "| data records | 45 | 300 |" in section
    assert "| images | 2 | 3 |" in section
    assert "Records no item used: 255 (the first 200 ids are in `report.json`" in section
    assert "Candidates dropped by the evidence check (evidence missing, or not found in the cited source): 4" in section
    assert "answered correctly 3 of 12 (25%) checked items" in section
    assert "answered correctly 1 of 2 (50%) checked image items" in section
    assert "Every item cites" not in section  # the plain item cites nothing
    assert "4 of 5 items cite the evidence they rest on. Every quoted span was checked against its source" in section


def test_the_card_says_every_item_cites_checked_evidence_only_when_that_holds(tmp_path: Path) -> None:
    grounded = SAMPLES[:4]
    usage = USAGE.model_copy(update={"closed_book_checked": 0, "answerable_without_source": 0,
                                     "blind_checked": 0, "answerable_blind": 0})
    export_benchmark(grounded, _report(material=usage), _build_folder(tmp_path / "checked"), formats=["jsonl"])
    card = (tmp_path / "checked" / "README.md").read_text(encoding="utf-8")
    assert "Every item cites the evidence it rests on" in card and "Every quoted span was checked against its source" in card
    assert "Closed-book check (the solver asked without the material): not run" in card
    assert "Blind check (the solver asked without the image): not run" in card
    export_benchmark(grounded, _report(evidence_ran=False), _build_folder(tmp_path / "unchecked"), formats=["jsonl"])
    card = (tmp_path / "unchecked" / "README.md").read_text(encoding="utf-8")
    assert "Every item cites the evidence it rests on" in card and "checked against its source" not in card
    assert "The evidence check did not run on this build, so the spans were not checked" in card


def test_benchmark_jsonl_reads_back_to_the_same_grounded_samples(exported: Path) -> None:
    text = (exported / "benchmark.jsonl").read_text(encoding="utf-8")
    assert DOC_QUOTE in text  # written as the characters, not as escapes
    samples = samples_from_rows(text, source="benchmark.jsonl")
    assert samples == SAMPLES
    assert [sample_row(s) for s in samples] == [sample_row(s) for s in SAMPLES]


def test_the_export_command_re_exports_a_grounded_build_with_its_images(tmp_path: Path) -> None:
    export_benchmark(SAMPLES, _report(), _build_folder(tmp_path), formats=["jsonl"])
    assert main(["export", str(tmp_path)]) == 0
    with zipfile.ZipFile(tmp_path / "benchmark.zip") as archive:
        assert archive.read(BLUE_PATH) == BLUE
    assert (tmp_path / "lm_eval" / "ba_report_reading_gen_image.jsonl").is_file()


def test_a_missing_image_fails_the_export_before_anything_is_written(tmp_path: Path) -> None:
    _build_folder(tmp_path)
    (tmp_path / BLUE_PATH).unlink()
    with pytest.raises(StageFailed, match=rf"{BLUE_PATH}.*item {SAMPLES[3].id} shows it.*put the file back"):
        export_benchmark(SAMPLES, _report(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images"]
