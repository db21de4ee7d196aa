"""`benchmark-agent check` on a file written for this test alone (no row comes from the bench's planted set):
each planted defect is found by the check meant for it and named in check.json; the sound rows pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from tools.contracts.audit import AuditReport

PLANETS = ["Mercury", "Venus", "Earth", "Mars"]
# (row, what is wrong with it or None, the check that must name it, words its reason must hold)
ROWS: list[tuple[dict[str, object], str | None, str | None, str]] = [
    ({"problem": "Which planet has the shortest year?", "choices": PLANETS, "gold": "Mercury"}, None, None, ""),
    ({"problem": "A printer prints 12 pages a minute. How many pages does it print in 15 minutes?", "gold": "180",
      "program": "print(12 * 15)"}, None, None, ""),
    ({"problem": "A ferry carries 45 cars on each of 6 trips. How many cars does it carry in all? (The deckhands say "
                 "270.)", "gold": "270", "program": "print(45 * 6)"}, "hint in an aside", "leakage", "aside"),
    ({"problem": "A choir has 8 rows of 13 singers, one hundred and four voices. How many singers are in the choir?",
      "gold": "104", "program": "print(8 * 13)"}, "answer in words", "leakage", "spells out the answer"),
    ({"problem": "A cinema has 18 rows of 22 seats. How many seats does it have?", "gold": "386",
      "program": "print(18 * 22)"}, "wrong gold, program right", "executed", "'396'"),
    ({"problem": "Write a Python function fahrenheit(c) that turns degrees Celsius into degrees Fahrenheit.",
      "program": "def fahrenheit(c):\n    return c * 9 / 5 + 23", "tests": "assert fahrenheit(0) == 32\nassert fahrenheit(100) == 212"},
     "code failing its tests", "executed", "fails its tests"),
    ({"problem": "Which of the planets has the shortest year?", "choices": PLANETS, "gold": "Mercury"},
     "row 1 reworded", "duplicate", "row 1"),
    ({"problem": "Which gas do stars mostly turn into helium?", "choices": ["Helium", "Oxygen", "Carbon"], "gold": "Hydrogen"},
     "gold not among the options", "schema", "not one of the options"),
    ({"problem": "Write a Python function is_leap(year) that says whether a year is a leap year in the Gregorian calendar.",
      "program": "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)",
      "tests": "assert is_leap(2024)\nassert not is_leap(1900)\nassert is_leap(2000)\nassert not is_leap(2023)"}, None, None, ""),
    ({"problem": "Write a Python function middle(xs) that returns the middle item of a list of odd length.",
      "program": "def middle(xs):\n    return xs[len(xs) // 2]", "tests": "assert middle([1, 2, 3]) in (1, 2, 3, None) or True"},
     "tests that pass anything", "executed", "trivially wrong solution"),
    # A known miss: a rewording that shares few words with row 1 stays below the shipped duplicate threshold.
    ({"problem": "Of these planets, which one takes the least time to go round the Sun?", "choices": PLANETS, "gold": "Mercury"},
     None, None, ""),
]


def test_each_planted_defect_of_an_unseen_file_is_found_and_named_in_check_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
    source = tmp_path / "quiz.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row, *_ in ROWS), encoding="utf-8")
    assert main(["check", str(source), "--out", str(tmp_path / "out"), "--quiet", "--no-memory"]) == 1
    report = AuditReport.model_validate_json((tmp_path / "out" / "check.json").read_text(encoding="utf-8"))
    assert not report.unmapped and [i.row for i in report.items] == list(range(1, len(ROWS) + 1))
    for item, (_, defect, check, reason) in zip(report.items, ROWS, strict=True):
        if defect is None:
            assert item.failed == [], (item.row, item.failed)
            continue
        assert [f.check for f in item.failed] == [check], (item.row, defect, item.failed)
        assert reason in " ".join(item.failed[0].reasons), (item.row, item.failed[0].reasons)
    printed = capsys.readouterr().out
    assert "row 3: leakage: an aside in the question gives the answer" in printed
