"""bench/qc_catch.py: the deterministic checks catch every planted defect and reject no sound item."""

from __future__ import annotations

import json

import pytest

from bench.qc_catch import main


def test_the_deterministic_checks_catch_every_planted_defect_with_no_false_rejection(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == {"catch", "deterministic_kinds", "false_rejection", "items"} and summary["items"] >= 50
    assert all(summary["catch"][kind] == 1.0 for kind in summary["deterministic_kinds"])
    assert summary["false_rejection"] == 0.0
