"""Every export loads unchanged with its consumer's own loader: datasets, lm-eval's task manager, pydantic_evals
(Inspect AI runs in its own environment: tests/tools/test_inspect_export.py)."""

from __future__ import annotations

import ast
import csv
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools.contracts import BenchmarkSpec, BuildReport, Provenance, Sample, Subtask, SubtaskPlan
from tools.errors import InvalidRequest
from tools.export.bundle import FORMATS, export_benchmark
from tools.export.lm_eval_loader import is_correct
from tools.export.rows import sample_row, samples_from_rows

NOW = datetime(2026, 12, 2, tzinfo=UTC)
PROVENANCE = Provenance(build_id="b1", generator_model="openai:gen", judge_model="openai:judge", attempt=0, created_at=NOW)
SPEC = BenchmarkSpec(goal="mixed", capability="multilingual reasoning", domain="mixed", answer_format="multiple_choice", size=5)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="mc", name="Choice", description="d", answer_format="multiple_choice", quota=1),
    Subtask(id="num", name="Numbers", description="d", answer_format="numeric", quota=1),
    Subtask(id="yn", name="Yes/no", description="d", answer_format="yes_no", quota=1),
    Subtask(id="short", name="Short", description="d", answer_format="short_answer", quota=2),
])


def _sample(sid: str, subtask: str, fmt: str, question: str, answer: str, **extra: Any) -> Sample:
    return Sample(id=f"{subtask}-{sid:0>12}", subtask_id=subtask, answer_format=fmt, question=question, answer=answer,
                  provenance=PROVENANCE, **extra)  # type: ignore[arg-type]


SAMPLES = [
    _sample("a1", "mc", "multiple_choice", "哪个城市是法国的首都？ 🇫🇷", "巴黎", choices=["柏林", "巴黎", "罗马"], answer_index=1,
            context="فرنسا دولة في أوروبا."),
    _sample("b2", "num", "numeric", "A shop sells 12 pens at $1.25 each. What is the total?", "15",
            metadata={"solution_code": "print(12 * 1.25)"}),
    _sample("c3", "yn", "yes_no", "Is 7 a prime number? ✅", "Yes"),
    _sample("d4", "short", "short_answer", "Which element has the symbol Fe?", "Iron"),
    _sample("e5", "short", "short_answer", "Write add(a, b) returning the sum.", "def add(a, b):\n    return a + b",
            metadata={"kind": "code", "entry_point": "add", "tests": "assert add(2, 3) == 5"}),
]


def _report() -> BuildReport:
    return BuildReport(build_id="b1", status="complete", spec=SPEC, plan=PLAN, requested=5, accepted=5, stages=[],
                       subtasks=[], drop_reasons={}, drops=[], models={"generator": "openai:gen", "judge": "openai:judge"},
                       usage={}, started_at=NOW, finished_at=NOW)


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    export_benchmark(SAMPLES, _report(), tmp_path)
    return tmp_path


def test_the_hugging_face_folder_loads_with_datasets_and_round_trips_every_script(exported: Path) -> None:
    import datasets

    loaded = datasets.load_dataset(str(exported), split="test")
    assert loaded.num_rows == 5
    assert loaded[0]["question"] == "哪个城市是法国的首都？ 🇫🇷" and loaded[0]["context"] == "فرنسا دولة في أوروبا."
    assert loaded[0]["choices"] == ["柏林", "巴黎", "罗马"] and loaded[0]["answer_index"] == 1
    assert json.loads(loaded[4]["metadata"])["entry_point"] == "add"
    card = (exported / "README.md").read_text(encoding="utf-8")
    header = card.split("---")[1]
    for field in ("license: other", "language:", "task_categories:", "size_categories:", "configs:", "features:"):
        assert field in header
    assert "`..._code` does that in Inspect's `local` sandbox, a subprocess on your machine with no isolation" in card


def test_lm_eval_tasks_load_with_its_task_manager_and_render_their_prompts(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lm_eval.tasks import TaskManager, get_task_dict

    monkeypatch.chdir(exported.parent)  # not the task folder: the data must be found from anywhere
    manager = TaskManager(include_path=str(exported / "lm_eval"), include_defaults=False)
    name = "ba_multilingual_reasoning"
    tasks = get_task_dict([f"{name}_mc", f"{name}_gen"], manager)
    mc, gen = tasks[f"{name}_mc"], tasks[f"{name}_gen"]
    (doc,) = list(mc.test_docs())
    assert "A. 柏林\nB. 巴黎\nC. 罗马\nAnswer:" in mc.doc_to_text(doc) and doc["context"] in mc.doc_to_text(doc)
    assert mc.doc_to_choice(doc) == ["A", "B", "C"] and mc.doc_to_target(doc) == 1
    docs = list(gen.test_docs())
    assert [d["answer_format"] for d in docs] == ["numeric", "yes_no", "short_answer"]  # the code item is not here
    assert gen.doc_to_text(docs[0]).endswith("Answer:") and gen.doc_to_target(docs[0]) == "15"
    assert gen.process_results(docs[0], ["12 pens cost $15.00"]) == {"acc": 1.0}
    assert gen.process_results(docs[0], ["It is 14"]) == {"acc": 0.0}
    assert "group: " + name in (exported / "lm_eval" / f"{name}.yaml").read_text()


@pytest.mark.parametrize(("fmt", "answer", "response", "correct"), [
    ("numeric", "15", "The total is 15.0", True), ("numeric", "2.5", "2.50", True), ("numeric", "15", "150", False),
    ("numeric", "1200", "1,200 people", True), ("numeric", "15", "no idea", False),
    ("yes_no", "Yes", "yes, it is prime", True), ("yes_no", "No", "Yes", False),
    ("short_answer", "Iron", "iron.", True), ("short_answer", "The Seine", "Seine", True),
    ("short_answer", "Iron", "Steel", False),
])
def test_generated_answers_are_scored_by_their_format(fmt: str, answer: str, response: str, correct: bool) -> None:
    assert is_correct({"answer": answer, "answer_format": fmt}, response) is correct


def test_the_pydantic_evals_dataset_loads_with_its_own_reader(exported: Path) -> None:
    from pydantic_evals import Dataset

    dataset = Dataset[dict, str, dict].from_file(exported / "pydantic_evals" / "dataset.yaml")
    assert [c.name for c in dataset.cases] == [s.id for s in SAMPLES]
    assert dataset.cases[0].expected_output == "B" and dataset.cases[0].inputs["choices"]["B"] == "巴黎"
    assert dataset.cases[4].metadata and dataset.cases[4].metadata["tests"] == "assert add(2, 3) == 5"
    assert json.loads((exported / "pydantic_evals" / "dataset_schema.json").read_text())["type"] == "object"


def test_the_pydantic_evals_files_hold_what_its_own_to_file_writes(tmp_path: Path) -> None:
    """The export emits the YAML with libyaml and keeps the schema, for speed: the same data and schema as
    `Dataset.to_file` writes, so a pydantic_evals upgrade that changes its dump fails here."""
    import yaml
    from pydantic_evals import Dataset
    from pydantic_evals.evaluators import EqualsExpected

    from tools.export.pydantic_evals_dataset import DATASET_FILE, SCHEMA_FILE, _case, pydantic_evals_files

    rows = [sample_row(s) for s in SAMPLES]
    ours = pydantic_evals_files(rows, "multilingual_reasoning")
    theirs = Dataset[dict[str, Any], str, dict[str, Any]](name="multilingual_reasoning", cases=[_case(r) for r in rows],
                                                          evaluators=[EqualsExpected()])
    theirs.to_file(tmp_path / DATASET_FILE, schema_path=SCHEMA_FILE)
    assert ours[SCHEMA_FILE] == (tmp_path / SCHEMA_FILE).read_text(encoding="utf-8")
    written = (tmp_path / DATASET_FILE).read_text(encoding="utf-8")
    assert ours[DATASET_FILE].splitlines()[0] == written.splitlines()[0]  # the line naming the schema
    assert yaml.safe_load(ours[DATASET_FILE]) == yaml.safe_load(written)
    (tmp_path / "ours.yaml").write_text(ours[DATASET_FILE], encoding="utf-8")
    read = Dataset[dict[str, Any], str, dict[str, Any]].from_file(tmp_path / "ours.yaml")
    assert read.model_dump() == theirs.model_dump()


def test_data_files_written_first_are_listed_only_for_the_samples_they_were_written_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.export import bundle

    whole = export_benchmark(SAMPLES, _report(), tmp_path / "whole")
    early = bundle.write_data(SAMPLES, SPEC.capability, tmp_path / "early")
    stale = bundle.write_data(SAMPLES[:2], SPEC.capability, tmp_path / "stale")
    made = bundle._data_files
    monkeypatch.setattr(bundle, "_data_files", lambda *a: pytest.fail("the data files were made again"))
    listed = export_benchmark(SAMPLES, _report(), tmp_path / "early", written=early)
    assert {f.path: f.sha256 for f in listed.files if f.format != "zip"} == {
        f.path: f.sha256 for f in whole.files if f.format != "zip"}
    monkeypatch.setattr(bundle, "_data_files", made)
    export_benchmark(list(SAMPLES), _report(), tmp_path / "stale", written=stale)  # other samples: written again
    assert len((tmp_path / "stale" / "benchmark.jsonl").read_text().splitlines()) == len(SAMPLES)


def test_the_inspect_task_file_defines_one_task_per_format_over_rows_inspect_reads(exported: Path) -> None:
    folder = exported / "inspect"
    source = (folder / "benchmark_task.py").read_text()
    tree = ast.parse(source)
    tasks = [f.name for f in tree.body if isinstance(f, ast.FunctionDef)
             and any(isinstance(d, ast.Name) and d.id == "task" for d in f.decorator_list)]
    assert tasks == ["ba_multilingual_reasoning_mc", "ba_multilingual_reasoning_numeric",
                     "ba_multilingual_reasoning_yes_no", "ba_multilingual_reasoning_short", "ba_multilingual_reasoning_code"]
    assert "scorer=choice()" in source and "match(numeric=True)" in source and "model_graded_fact()" in source
    assert 'scorer=passes_tests(),\n                sandbox="local")' in source
    rows = [json.loads(line) for line in (folder / "multiple_choice.jsonl").read_text().splitlines()]
    assert rows == [{"id": SAMPLES[0].id, "input": "فرنسا دولة في أوروبا.\n\n哪个城市是法国的首都？ 🇫🇷", "target": "B",
                     "metadata": {"subtask": "mc", "answer_format": "multiple_choice"}, "choices": ["柏林", "巴黎", "罗马"]}]
    short = [json.loads(line) for line in (folder / "short_answer.jsonl").read_text().splitlines()]
    assert [r["target"] for r in short] == ["Iron"]


def test_the_zip_holds_every_format_and_the_csv_keeps_code_fields(exported: Path) -> None:
    with zipfile.ZipFile(exported / "benchmark.zip") as archive:
        names = set(archive.namelist())
    for expected in ("benchmark.jsonl", "benchmark.csv", "README.md", "report.json", "data/test-00000-of-00001.parquet",
                     "lm_eval/loader.py", "inspect/benchmark_task.py", "pydantic_evals/dataset.yaml"):
        assert expected in names
    with (exported / "benchmark.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert table[4]["entry_point"] == "add" and table[4]["tests"] == "assert add(2, 3) == 5"
    assert table[1]["solution_code"] == "print(12 * 1.25)" and json.loads(table[0]["choices"])[1] == "巴黎"


def test_a_re_export_of_one_format_keeps_the_others_and_reads_its_rows_back(exported: Path) -> None:
    samples = samples_from_rows((exported / "benchmark.jsonl").read_text(encoding="utf-8"), source="benchmark.jsonl")
    assert [sample_row(s) for s in samples] == [sample_row(s) for s in SAMPLES]
    (exported / "lm_eval" / "stale.yaml").write_text("old")
    manifest = export_benchmark(samples, _report(), exported, formats=["lm-eval"])
    paths = {f.path for f in manifest.files}
    assert "benchmark.jsonl" in paths and "lm_eval/loader.py" in paths and "benchmark.zip" not in paths
    assert "lm_eval/stale.yaml" not in paths


def test_an_unknown_format_or_a_foreign_file_gets_a_message(exported: Path) -> None:
    with pytest.raises(InvalidRequest, match="choose from all, " + ", ".join(FORMATS)):
        export_benchmark(SAMPLES, _report(), exported, formats=["parquet2"])
    with pytest.raises(InvalidRequest, match="line 1"):
        samples_from_rows('{"question": "no id"}\n', source="mine.jsonl")
