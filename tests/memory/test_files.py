"""Durable file helpers: atomic replacement and crash-tolerant JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory.files import append_jsonl, read_jsonl, write_atomic, write_json


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "state.txt"
    write_atomic(target, "old")
    write_atomic(target, "new content\n")
    assert target.read_text(encoding="utf-8") == "new content\n"
    assert [p.name for p in target.parent.iterdir()] == ["state.txt"]


def test_failed_atomic_write_keeps_old_file_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.txt"
    write_atomic(target, "old")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("memory.files.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.txt"]


def test_write_json_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    write_json(target, {"name": "café", "n": 3})
    assert json.loads(target.read_text(encoding="utf-8")) == {"name": "café", "n": 3}


def test_append_jsonl_appends(tmp_path: Path) -> None:
    target = tmp_path / "log" / "records.jsonl"
    append_jsonl(target, [{"i": 1}])
    append_jsonl(target, [{"i": 2}, {"i": 3}])
    append_jsonl(target, [])
    assert list(read_jsonl(target)) == [{"i": 1}, {"i": 2}, {"i": 3}]
    assert target.read_text(encoding="utf-8").count("\n") == 3


def test_read_jsonl_skips_a_torn_last_line(tmp_path: Path) -> None:
    target = tmp_path / "records.jsonl"
    append_jsonl(target, [{"i": 1}, {"i": 2}])
    with target.open("a", encoding="utf-8") as handle:
        handle.write('{"i": 3, "tex')  # a crash mid-write
    assert list(read_jsonl(target)) == [{"i": 1}, {"i": 2}]


def test_read_jsonl_of_missing_file_is_empty(tmp_path: Path) -> None:
    assert list(read_jsonl(tmp_path / "absent.jsonl")) == []
