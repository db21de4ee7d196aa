"""`benchmark-agent check FILE` end to end, without a model: the mapping and summary printed, check.json written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from tools.contracts.audit import AuditReport

ROWS = [
    {"prompt": "What is the capital of Kenya?", "options": ["Nairobi", "Lima", "Oslo"], "label": "A"},
    {"prompt": "Which city, Oslo by name, is the capital of Norway?", "options": ["Nairobi", "Lima", "Oslo"], "label": "C"},
    {"prompt": "What is the capital of Kenya?", "options": ["Nairobi", "Lima", "Oslo"], "label": "A"},
    {"prompt": "Which is the capital of Peru?", "options": ["Nairobi", "Lima", "Oslo"], "label": "F"},
]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_check_prints_the_mapping_and_a_summary_and_writes_every_items_findings(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "quiz.jsonl", ROWS)
    assert main(["check", str(source), "--out", str(tmp_path / "audit"), "--quiet"]) == 1  # some items failed
    out = capsys.readouterr().out
    assert "- choices ← options (column named 'options', holding a list per row)" in out
    assert "- answer_as ← letter (from the answers' values)" in out
    assert "| leakage | 3 | 1 |" in out and "| duplicate | 3 | 1 |" in out
    assert "row 4: the answer 'F' names no option (read as letter; 3 options)" in out
    report = AuditReport.model_validate_json((tmp_path / "audit" / "check.json").read_text(encoding="utf-8"))
    assert [(i.row, [f.check for f in i.failed]) for i in report.items] == [(1, []), (2, ["leakage"]), (3, ["duplicate"])]
    assert {t.check: t.failed for t in report.totals} == {"schema": 0, "leakage": 1, "duplicate": 1}
    assert str(tmp_path / "audit" / "check.json") in out


def test_a_clean_file_exits_zero_and_fields_can_be_named_by_hand(tmp_path: Path, data_dir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "sums.csv"
    source.write_text("task,result,worked\nWhat is 3 plus 4?,7,print(3 + 4)\nWhat is 5 plus 6?,11,print(5 + 6)\n",
                      encoding="utf-8")
    code = main(["check", str(source), "--out", str(tmp_path), "--quiet", "--no-memory",
                 "--fields", "question=task,answer=result,solution_code=worked"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "- question ← task (--fields)" in out and "| executed | 2 | 0 |" in out


def test_checking_a_file_adds_nothing_to_the_memory(tmp_path: Path, data_dir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    first = write(tmp_path / "first.jsonl", ROWS[:1])
    assert main(["check", str(first), "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["check", str(first), "--out", str(tmp_path), "--quiet"]) == 0  # not a duplicate of itself
    assert "| duplicate | 1 | 0 |" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.jsonl", None, "No such file"),
    ("empty.csv", "", "holds no rows"),
    ("table.xlsx", "x", "not a table this tool reads"),
    ("no_question.jsonl", '{"x": 1, "y": 2}\n', "no column holds the questions"),
])
def test_a_file_that_cannot_be_audited_exits_2_with_one_message(tmp_path: Path, data_dir: Path,
                                                                 capsys: pytest.CaptureFixture[str], name: str,
                                                                 content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["check", str(path), "--out", str(tmp_path), "--no-memory"]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and message in err
    assert not (tmp_path / "check.json").exists()


def test_a_malformed_fields_option_exits_2_before_reading_anything(tmp_path: Path, data_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "x.jsonl"), "--fields", "question"]) == 2
    assert "is not field=column" in capsys.readouterr().err
