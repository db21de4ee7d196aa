"""Data files are streamed into records.jsonl under a record limit, with a proposed use for every field."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.tools.sources import fixtures as fx
from tools.errors import InvalidRequest
from tools.sources import MaterialView, SourceLimits, ingest, propose_field_uses, set_field_use


def test_a_csv_becomes_records_with_fields_and_proposed_uses(src: Path, material_dir: Path) -> None:
    material = ingest([("data.csv", fx.write_csv(src / "data.csv", 50))], material_dir)
    source = material.sources[0]
    assert (source.kind, source.records, source.total_records) == ("records", 50, 50)
    assert source.fields == ["id", "question", "answer", "topic"]
    assert source.field_uses == {"id": "ignore", "question": "question", "answer": "answer", "topic": "label"}
    view = MaterialView(material_dir)
    assert view.describe() == ["data.csv: 50 records; fields id (ignored), question (question), answer (gold answer), "
                               "topic (label)"]
    record = view.record(f"{source.id}:r17")
    assert record.row == 17 and record.values["answer"] == "51"
    assert view.text(f"{source.id}:r17") == ("id: q000017\nquestion: How many floods were counted in survey 17?\n"
                                              "answer: 51\ntopic: economics")
    assert view.anchor(f"{source.id}:r17") == "row 17"


def test_a_semicolon_csv_is_sniffed(src: Path, material_dir: Path) -> None:
    material = ingest([("data.csv", fx.write_csv(src / "data.csv", 5, delimiter=";"))], material_dir)
    assert material.sources[0].fields == ["id", "question", "answer", "topic"]


def test_the_record_limit_reads_the_first_records_of_a_large_csv_while_streaming(src: Path, material_dir: Path) -> None:
    big = fx.write_csv(src / "big.csv", 50_000)
    tracemalloc.start()
    material = ingest([("big.csv", big)], material_dir, SourceLimits(max_records=1_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    source = material.sources[0]
    assert (source.records, source.total_records) == (1_000, 50_000)
    assert source.notes == ["big.csv has 50,000 records; the first 1,000 were read "
                            "(set BENCHMARK_AGENT_MAX_RECORDS to read more)"]
    assert sum(1 for _ in MaterialView(material_dir).records()) == 1_000
    assert peak < 8 * 1024 * 1024, f"reading held {peak / 1e6:.1f} MB: the rows are not streamed"


def test_jsonl_skips_bad_lines_and_flattens_nested_values(src: Path, material_dir: Path) -> None:
    path = src / "qa.jsonl"
    rows = [{"prompt": f"Question {n}?", "gold": str(n), "meta": {"source": "ledger", "page": n}, "tags": ["a", "b"]}
            for n in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:3]) + "not json\n[1, 2]\n"
                    + "".join(json.dumps(r) + "\n" for r in rows[3:]), encoding="utf-8")
    material = ingest([("qa.jsonl", path)], material_dir)
    source = material.sources[0]
    assert source.records == 6
    assert source.fields == ["prompt", "gold", "meta.source", "meta.page", "tags"]
    assert source.notes == ["2 lines of qa.jsonl are not JSON objects and were skipped (lines 4, 5)"]
    record = MaterialView(material_dir).record(f"{source.id}:r4")
    assert record.values == {"prompt": "Question 3?", "gold": "3", "meta.source": "ledger", "meta.page": 3,
                             "tags": '["a", "b"]'}


@pytest.mark.parametrize("data", [
    [{"q": "One?", "a": "1"}, {"q": "Two?", "a": "2"}],
    {"version": 2, "data": [{"q": "One?", "a": "1"}, {"q": "Two?", "a": "2"}]},
], ids=["a list", "an object holding one list"])
def test_json_is_a_list_of_objects_or_an_object_holding_one(src: Path, material_dir: Path, data: Any) -> None:
    (src / "qa.json").write_text(json.dumps(data), encoding="utf-8")
    material = ingest([("qa.json", src / "qa.json")], material_dir)
    assert material.sources[0].records == 2 and material.sources[0].fields == ["q", "a"]


@pytest.mark.parametrize(("content", "message"), [
    ('{"a": 1', "qa.json is not valid JSON"),
    ('"just a string"', "qa.json holds a single JSON value"),
    ('{"train": [{"q": 1}], "test": [{"q": 2}]}', "qa.json holds several lists of objects (train, test)"),
    ("[1, 2, 3]", "qa.json is a JSON list but not of objects"),
])
def test_json_without_records_says_what_shape_is_expected(src: Path, material_dir: Path, content: str,
                                                          message: str) -> None:
    (src / "qa.json").write_text(content, encoding="utf-8")
    material = ingest([("qa.json", src / "qa.json")], material_dir)
    assert not material.sources and material.problems[0].message.startswith(message)


def test_parquet_is_read_in_batches_up_to_the_record_limit(src: Path, material_dir: Path) -> None:
    material = ingest([("voyages.parquet", fx.write_parquet(src / "voyages.parquet", 400))], material_dir,
                      SourceLimits(max_records=150))
    source = material.sources[0]
    assert (source.records, source.total_records) == (150, 400)
    assert source.fields == ["prompt", "target", "meta.difficulty", "meta.year"]
    assert source.field_uses["prompt"] == "question" and source.field_uses["target"] == "answer"
    assert source.field_uses["meta.difficulty"] == "label"


def test_a_csv_with_only_a_header_is_a_problem(src: Path, material_dir: Path) -> None:
    (src / "empty.csv").write_text("question,answer\n", encoding="utf-8")
    material = ingest([("empty.csv", src / "empty.csv")], material_dir)
    assert material.problems[0].message.startswith("empty.csv has no records")
    assert not (material_dir / "records.jsonl").exists() or not (material_dir / "records.jsonl").read_text()


def _rows(**columns: list[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    fields = list(columns)
    count = len(next(iter(columns.values())))
    return fields, [{f: columns[f][n] for f in fields} for n in range(count)]


LONG = [fx.prose(n, 4) for n in range(40)]


@pytest.mark.parametrize(("columns", "expected"), [
    (dict(question=[f"What is {n}+{n}?" for n in range(40)], answer=[str(2 * n) for n in range(40)]),
     {"question": "question", "answer": "answer"}),
    (dict(context=LONG, question=[f"When did event {n} happen?" for n in range(40)],
          answers_text=[f'["{1850 + n}"]' for n in range(40)], answers_answer_start=list(range(40)),
          title=[("Harbour", "Quarry")[n % 2] for n in range(40)]),
     {"context": "context", "question": "question", "answers_text": "answer", "answers_answer_start": "ignore",
      "title": "label"}),
    (dict(review=LONG, sentiment=[("positive", "negative")[n % 2] for n in range(40)]),
     {"review": "context", "sentiment": "answer"}),
    (dict(uuid=[f"{n:08x}-aaaa-bbbb-cccc-{n:012x}" for n in range(40)], instruction=[f"Summarise item {n}." for n in range(40)],
          input=["" for _ in range(40)], output=LONG, createdAt=[f"2024-01-{n % 28 + 1:02d}T10:00:00Z" for n in range(40)]),
     {"uuid": "ignore", "instruction": "question", "input": "ignore", "output": "answer", "createdAt": "ignore"}),
    (dict(passage=LONG, claim=[f"Claim {n} holds." for n in range(40)], label=[("SUPPORTS", "REFUTES")[n % 2] for n in range(40)],
          answer=[("yes", "no")[n % 2] for n in range(40)]),
     {"passage": "context", "claim": "question", "label": "label", "answer": "answer"}),
    (dict(Sentence=LONG, City=[f"Town {n}" for n in range(40)], link=[f"https://example.org/{n}" for n in range(40)],
          row=list(range(40))),
     {"Sentence": "context", "City": "answer", "link": "ignore", "row": "ignore"}),
], ids=["arithmetic", "reading comprehension", "sentiment", "instructions", "fact checking", "unnamed fields"])
def test_field_uses_are_proposed_from_names_and_values(columns: dict[str, list[Any]], expected: dict[str, str]) -> None:
    fields, rows = _rows(**columns)
    uses = propose_field_uses(fields, rows)
    assert uses == expected
    assert list(uses.values()).count("answer") <= 1


def test_a_field_use_can_be_set_and_the_previous_answer_becomes_a_label(src: Path, material_dir: Path) -> None:
    ingest([("data.csv", fx.write_csv(src / "data.csv", 20))], material_dir)
    material = set_field_use(material_dir, "data.csv", "topic", "answer")
    assert material.sources[0].field_uses == {"id": "ignore", "question": "question", "answer": "label",
                                              "topic": "answer"}
    assert MaterialView(material_dir).material.sources[0].field_uses["topic"] == "answer", "stored in material.json"


def test_setting_an_unknown_field_lists_the_fields(src: Path, material_dir: Path) -> None:
    material = ingest([("data.csv", fx.write_csv(src / "data.csv", 5))], material_dir)
    with pytest.raises(InvalidRequest, match=r"data.csv has no field 'Answer'; its fields are id, question, answer, topic"):
        set_field_use(material_dir, material.sources[0].id, "Answer", "answer")
    with pytest.raises(InvalidRequest, match="No attached file is called 'other.csv'. The files are: data.csv"):
        set_field_use(material_dir, "other.csv", "answer", "answer")
