"""Durable file helpers: atomic replacement and crash-tolerant JSON lines."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memory import files
from memory.files import Journal, append_jsonl, read_jsonl, write_atomic, write_json


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


async def test_journal_appends_in_order_and_says_when_each_append_is_on_disk(tmp_path: Path) -> None:
    journal = Journal()
    target = tmp_path / "log" / "records.jsonl"
    tickets = [journal.append(target, [{"i": i}]) for i in range(50)]
    await journal.durable(tickets[-1])
    assert list(read_jsonl(target)) == [{"i": i} for i in range(50)]
    journal.append(target, [{"i": 50}, {"i": 51}])
    await journal.drain()
    assert [r["i"] for r in read_jsonl(target)] == list(range(52))


def test_journal_makes_lower_ranks_durable_before_writing_higher_ones(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync = os.fsync
    opened = Path.open

    def fsync(fd: int) -> None:
        events.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}').rsplit('/', 1)[-1]}")
        real_fsync(fd)

    def open_for(self: Path, *args: object, **kwargs: object) -> object:
        events.append(f"open {self.name}")
        return opened(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("memory.files.os.fsync", fsync)
    monkeypatch.setattr(Path, "open", open_for)
    journal = Journal()
    gate = threading.Event()
    # Hold the writer on its first group so that the next appends form one group, the higher rank first.
    entered = threading.Event()
    monkeypatch.setattr("memory.files._write_group", _held(gate, files._write_group, entered))
    journal.append(tmp_path / "first.jsonl", [{"n": 0}])
    assert entered.wait(5), "the writer took the first group on its own"  # before the next appends arrive
    journal.append(tmp_path / "done.jsonl", [{"done": 1}], rank=2)
    journal.append(tmp_path / "samples.jsonl", [{"sample": 1}], rank=1)
    journal.append(tmp_path / "calls.jsonl", [{"call": 1}], rank=0)
    gate.set()
    journal.flush()
    group = events[events.index("fsync first.jsonl") + 1:]
    assert group == ["open calls.jsonl", "fsync calls.jsonl", "open samples.jsonl", "fsync samples.jsonl",
                     "open done.jsonl", "fsync done.jsonl"]


def _held(gate: threading.Event, write: Callable[[Any], None],
          entered: threading.Event | None = None) -> Callable[[Any], None]:
    def held(group: Any) -> None:
        write(group)
        if entered is not None:
            entered.set()
        gate.wait(5)
    return held


async def test_a_failed_journal_write_is_raised_to_whoever_waits_and_to_later_appends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr("memory.files.os.fsync", full)
    journal = Journal()
    ticket = journal.append(tmp_path / "records.jsonl", [{"i": 1}])
    with pytest.raises(OSError, match="No space left"):
        await journal.durable(ticket)
    with pytest.raises(OSError, match="No space left"):
        journal.append(tmp_path / "records.jsonl", [{"i": 2}])


@pytest.mark.parametrize("torn", ['{"n": 3, "cut', '{"long": "' + "x" * 200_000, '{"only'])
def test_an_append_after_a_crash_mid_line_drops_the_torn_line_instead_of_gluing_onto_it(
        tmp_path: Path, torn: str) -> None:
    for via in ("append_jsonl", "journal"):
        path = tmp_path / f"{via}-{len(torn)}.jsonl"
        before = "" if torn == '{"only' else '{"n": 1}\n{"n": 2}\n'
        path.write_text(before + torn, encoding="utf-8")  # the process died while writing the third record
        if via == "append_jsonl":
            append_jsonl(path, [{"n": 4}])
        else:
            journal = Journal()
            journal.append(path, [{"n": 4}, {"n": 5}])
            journal.flush()
        numbers = [r["n"] for r in read_jsonl(path)]
        assert numbers == ([1, 2] if before else []) + ([4] if via == "append_jsonl" else [4, 5])
        assert path.read_text(encoding="utf-8").endswith("}\n") and torn not in path.read_text(encoding="utf-8")
