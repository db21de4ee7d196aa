"""The audit of an existing benchmark file: how its columns are read, what each check finds, what it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from memory.dedup import DedupItem, Deduplicator
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.scripted import Script
from tests.tools.test_harness_exports import SAMPLES, _report
from tools.contracts import BuildEvent
from tools.contracts.audit import AuditItem, AuditReport
from tools.errors import InvalidRequest
from tools.export.bundle import export_benchmark
from tools.llm.stage import StageModels
from tools.qc.audit import audit_file, reason_shape, render_audit
from tools.qc.audit_table import infer_mapping, parse_fields, read_table

EMBEDDER = HashEmbedder()


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


async def audit(path: Path, **kwargs: Any) -> AuditReport:
    kwargs.setdefault("models", None)
    kwargs.setdefault("store", None)
    return await audit_file(path, embedder=EMBEDDER, **kwargs)


def failed(report: AuditReport, row: int) -> dict[str, list[str]]:
    item = next(i for i in report.items if i.row == row)
    return {f.check: f.reasons for f in item.failed}


def item(report: AuditReport, row: int) -> AuditItem:
    return next(i for i in report.items if i.row == row)


# -- mapping ----------------------------------------------------------------------------------------

MMLU = {"question": "Which planet is largest?", "choices": ["Mars", "Jupiter", "Venus", "Mercury"], "answer": 1,
        "subject": "astronomy"}
ARC = {"id": "q7", "question": "Which gas do plants take in?",
       "choices": {"text": ["Oxygen", "Carbon dioxide", "Helium"], "label": ["A", "B", "C"]}, "answerKey": "B"}
HUMANEVAL = {"task_id": "t/0", "prompt": "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n",
             "canonical_solution": "    return a + b\n", "entry_point": "add",
             "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"}
MBPP = {"text": "Write a function to return the square of a number.", "code": "def square(n):\n    return n * n",
        "test_list": ["assert square(3) == 9", "assert square(-2) == 4"]}
GSM = {"question": "Ada buys 3 pens at $4 each. How much does she pay in dollars?", "answer": "3 * 4 = 12\n#### 12"}


@pytest.mark.parametrize(("row", "expected", "answer"), [
    (MMLU, {"question": "question", "choices": ["choices"], "answer": "answer", "answer_as": "index", "subtask": "subject"},
     "Jupiter"),
    (ARC, {"question": "question", "choices": ["choices"], "answer": "answerKey", "answer_as": "letter", "id": "id"},
     "Carbon dioxide"),
    (HUMANEVAL, {"question": "prompt", "solution_code": "canonical_solution", "tests": "test", "entry_point": "entry_point",
                 "id": "task_id"}, None),
    (MBPP, {"question": "text", "solution_code": "code", "tests": "test_list"}, None),
    (GSM, {"question": "question", "answer": "answer"}, "12"),
], ids=["index-answers", "letter-answers-in-an-object", "humaneval-style", "mbpp-style", "worked-answer"])
async def test_the_mapping_is_inferred_from_names_and_values_on_differently_shaped_files(
        tmp_path: Path, row: dict[str, Any], expected: dict[str, Any], answer: str | None) -> None:
    report = await audit(jsonl(tmp_path / "b.jsonl", [row]))
    mapping = report.mapping.model_dump()
    assert {k: mapping[k] for k in expected} == expected
    assert not report.unmapped and len(report.items) == 1
    assert not report.items[0].failed, report.items[0].failed
    if answer is None:  # a code item: the reference passes its tests and stubs fail them
        assert "executed" in report.items[0].passed


async def test_one_column_per_option_is_read_as_the_choices_of_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "quiz.csv"
    path.write_text("prompt,A,B,C,D,target\nWhat is 2 + 2?,3,4,5,22,B\nWhat is 3 + 3?,6,9,33,5,A\n", encoding="utf-8")
    report = await audit(path)
    assert report.mapping.choices == ["A", "B", "C", "D"] and report.mapping.answer_as == "letter"
    assert report.mapping.question == "prompt" and report.mapping.answer == "target"
    assert [i.answer_format for i in report.items] == ["multiple_choice"] * 2 and not report.failed_items


async def test_a_parquet_file_is_read_with_pyarrow(tmp_path: Path) -> None:
    pq.write_table(pa.table({"input": ["Is 9 a square number?", "Is 7 an even number?"], "label": ["yes", "no"]}),
                   tmp_path / "b.parquet")
    report = await audit(tmp_path / "b.parquet")
    assert report.mapping.question == "input" and report.mapping.answer == "label"
    assert [i.answer_format for i in report.items] == ["yes_no", "yes_no"]


async def test_this_tools_own_benchmark_reads_back_with_every_check_passing(tmp_path: Path) -> None:
    export_benchmark(SAMPLES, _report(), tmp_path, formats=["jsonl"])
    report = await audit(tmp_path / "benchmark.jsonl")
    assert report.mapping.tests == "metadata.tests" and report.mapping.solution_code == "metadata.solution_code"
    assert len(report.items) == len(SAMPLES) and not report.unmapped
    assert not report.failed_items, [i.failed for i in report.failed_items]
    assert sum("executed" in i.passed for i in report.items) == 2  # the solution program and the code item


def test_fields_given_by_the_user_override_the_inferred_ones() -> None:
    rows = [{"q": "Pick the even number.", "question": "ignored", "opts": ["1", "2", "3"], "gold": 2}]
    mapping = infer_mapping(rows, parse_fields("question=q,choices=opts,answer=gold,answer_as=index1"))
    assert (mapping.question, mapping.choices, mapping.answer, mapping.answer_as) == ("q", ["opts"], "gold", "index1")
    assert mapping.how["question"] == "--fields"


@pytest.mark.parametrize(("text", "message"), [
    ("question", "is not field=column"),
    ("prompt=q", "unknown field 'prompt'"),
    ("answer_as=roman", "answer_as must be"),
])
def test_a_malformed_fields_option_is_refused_with_what_to_write(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_fields(text)


def test_a_field_naming_a_column_the_file_lacks_lists_the_columns_it_has() -> None:
    with pytest.raises(InvalidRequest, match="no column 'query'.*its columns are question, answer"):
        infer_mapping([{"question": "What is 1 + 1?", "answer": "2"}], {"question": "query"})


# -- findings ---------------------------------------------------------------------------------------

PLANTED = [
    {"question": "What is the capital of Kenya?", "choices": ["Nairobi", "Lima", "Oslo"], "answer": "Nairobi"},
    {"question": "What is the capital of Peru?", "choices": ["Nairobi", "Lima", "Oslo"], "answer": "Quito"},  # schema
    {"question": "Which city, Oslo by name, is the capital of Norway?", "choices": ["Nairobi", "Lima", "Oslo"],
     "answer": "Oslo"},  # leakage
    {"question": "What is the capital of Kenya?", "choices": ["Oslo", "Lima", "Nairobi"], "answer": "Nairobi"},  # repeat
    {"question": "A box holds 6 eggs. How many eggs are in 4 boxes?", "answer": "25",
     "solution": "print(6 * 4)"},  # executed: wrong gold
    {"question": "Write a function is_even(n).", "solution": "def is_even(n):\n    return n % 2 == 1",
     "tests": "assert is_even(2)\nassert not is_even(3)"},  # executed: the reference fails its tests
    {"question": "Write a function triple(n).", "solution": "def triple(n):\n    return 3 * n",
     "tests": "triple(2)"},  # executed: tests that pass a stub
]


async def test_each_deterministic_check_finds_the_defect_planted_for_it_and_nothing_on_the_sound_row(tmp_path: Path) -> None:
    report = await audit(jsonl(tmp_path / "planted.jsonl", PLANTED))
    assert failed(report, 1) == {}
    assert "answer is not one of the options" in failed(report, 2)["schema"][0]
    assert "names the correct option" in failed(report, 3)["leakage"][0]
    assert failed(report, 4)["duplicate"] == ["repeats row 1 (identical, similarity 1.00)"]
    assert "computes '24', not the gold answer '25'" in failed(report, 5)["executed"][0]
    assert "fails its tests" in failed(report, 6)["executed"][0]
    assert "trivially wrong solution" in failed(report, 7)["executed"][0]
    totals = {t.check: (t.ran, t.failed) for t in report.totals}
    assert totals["schema"] == (7, 1) and totals["duplicate"] == (6, 1) and totals["executed"] == (3, 3)
    assert item(report, 2).not_run == ["every other check: the row cannot be held as an item (see schema)"]


async def test_one_finding_does_not_hide_the_next_on_the_same_item(tmp_path: Path) -> None:
    rows = [{"question": "What is 3 times 4 (the answer is 12)?", "answer": "12", "solution": "print(3 * 5)"}]
    report = await audit(jsonl(tmp_path / "b.jsonl", rows))
    assert set(failed(report, 1)) == {"leakage", "executed"}


async def test_rows_that_cannot_be_read_are_listed_by_row_and_the_rest_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join([json.dumps(MMLU), "{broken", json.dumps({**MMLU, "answer": 9}), json.dumps([1, 2]),
                               json.dumps({**MMLU, "question": ""})]) + "\n", encoding="utf-8")
    report = await audit(path)
    assert [(p.row, p.reason.split(" (")[0]) for p in report.unmapped] == [
        (2, "not a JSON object with named fields"), (3, "the answer '9' names no option"),
        (4, "not a JSON object with named fields"), (5, "no question")]
    assert [i.row for i in report.items] == [1] and report.rows == 5


async def test_a_duplicate_of_a_benchmark_in_the_memory_is_named_and_an_item_is_not_its_own_duplicate(
        tmp_path: Path, store: SampleStore) -> None:
    dedup = Deduplicator(store.embedder)
    stored = DedupItem(id="geo-aaaaaaaaaaaa", question="Which planet is largest?", answer="Jupiter")
    dedup.remember(stored, store, build_id="b0", subtask_id="geo")
    itself = DedupItem(id="own-bbbbbbbbbbbb", question="Which element has the symbol Fe?", answer="Iron")
    dedup.remember(itself, store, build_id="b1", subtask_id="short")
    rows = [{"id": "x1", "question": "Which planet is largest?", "answer": "Jupiter"},
            {"id": "own-bbbbbbbbbbbb", "question": "Which element has the symbol Fe?", "answer": "Iron"}]
    report = await audit(jsonl(tmp_path / "b.jsonl", rows), store=store)
    finding = item(report, 1).failed[0]
    assert finding.check == "duplicate" and finding.memory_id == "geo-aaaaaaaaaaaa" and "build b0" in finding.reasons[0]
    assert not item(report, 2).failed and "duplicate" in item(report, 2).passed


async def test_with_models_the_inspector_and_the_re_solve_report_what_the_scripted_models_say(tmp_path: Path) -> None:
    script = Script(submit_inspection=[lambda p: {"issues": [{"kind": "ambiguous", "detail": "two readings"}]}
                                       if "Kenya" in p else {"issues": []}],
                    submit_answer=[lambda p: {"reasoning": "", "answer": "Lima" if "Peru" in p else "Oslo"}],
                    submit_adjudication=[{"reasoning": "the gold is wrong", "decision": "solver_correct"}])
    model = script.model()
    models = StageModels(models={"judge": model, "solver": model}, names={"judge": "function:j", "solver": "function:s"})
    rows = [{"question": "What is the capital of Kenya?", "answer": "Nairobi"},
            {"question": "What is the capital of Peru?", "answer": "Lima"},
            {"question": "What is the capital of Norway?", "answer": "Bergen"}]
    report = await audit(jsonl(tmp_path / "b.jsonl", rows), models=models)
    assert set(failed(report, 1)) == {"inspector", "solver"}  # the re-solve runs even where the inspector objects
    assert failed(report, 2) == {}
    assert "judge: solver_correct" in failed(report, 3)["solver"][0]
    assert report.models == {"judge": "function:j", "solver": "function:s"}
    assert "submit_repair" not in script.calls, "an audit changes nothing"


async def test_a_model_without_valid_output_leaves_the_check_not_run_rather_than_failed(tmp_path: Path) -> None:
    script = Script(submit_inspection=["not json"])
    models = StageModels(models={"judge": script.model()}, names={"judge": "function:j"})
    report = await audit(jsonl(tmp_path / "b.jsonl", [GSM]), models=models)
    assert not report.items[0].failed and report.items[0].not_run == ["inspector: the model gave no valid output"]


async def test_progress_is_reported_in_steps_for_a_long_file(tmp_path: Path) -> None:
    rows = [{"question": f"What is {n} plus {n}?", "answer": str(2 * n)} for n in range(1, 101)]
    events: list[BuildEvent] = []
    await audit(jsonl(tmp_path / "b.jsonl", rows), on_event=events.append)
    progress = [e.done for e in events if e.kind == "progress"]
    assert progress[-1] == 100 and 10 <= len(progress) <= 21 and progress == sorted(progress)
    assert events[0].kind == "started" and events[-1].kind == "finished"


# -- bad files --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.jsonl", None, "No such file"),
    ("empty.jsonl", "\n\n", "holds no rows"),
    ("notes.txt", "hello", "not a table this tool reads"),
    ("scalars.jsonl", "1\n2\n", "not a table: no row is an object"),
    ("header.csv", "question\n", "no header row with at least two named columns"),
    ("broken.parquet", "not parquet", "not a readable Parquet file"),
    ("other.jsonl", json.dumps({"lhs": 1, "rhs": 2}) + "\n", "no column holds the questions"),
])
async def test_a_file_that_is_not_a_benchmark_gets_one_clear_message(tmp_path: Path, name: str, content: str | None,
                                                                      message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidRequest, match=message):
        await audit(path)


def test_rows_keep_their_line_numbers_in_a_jsonl_with_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(GSM) + "\n\n" + json.dumps(GSM) + "\n", encoding="utf-8")
    assert [n for n, _ in read_table(path)] == [1, 3]


# -- rendering --------------------------------------------------------------------------------------

async def test_the_markdown_report_has_the_mapping_a_row_per_check_and_the_failing_rows(tmp_path: Path) -> None:
    text = render_audit(await audit(jsonl(tmp_path / "planted.jsonl", PLANTED)))
    assert "**Audit of planted.jsonl**: 7 items read of 7 rows; 6 failed at least one check." in text
    assert "- question ← question (column named 'question')" in text
    assert "| executed | 3 | 3 |" in text and "| schema | 7 | 1 |" in text
    assert "- row 5: executed: the solution code computes '24', not the gold answer '25'" in text
    assert "Note: No model given" in text


def test_reasons_that_differ_only_in_their_values_count_as_one() -> None:
    assert reason_shape("the solution code computes '24', not the gold answer '25'") == \
        reason_shape("the solution code computes '7', not the gold answer '8'")
