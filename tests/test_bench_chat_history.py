"""bench/chat_history.py runs and reports the event loop's CPU per step update (SQLite here; PostgreSQL in its own
run, it starts a throwaway cluster)."""

from __future__ import annotations

import json

import pytest

from bench.chat_history import main


def test_the_history_bench_reports_loop_cpu_per_update(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--steps", "20", "--no-postgres"]) == 0
    [sqlite] = json.loads(capsys.readouterr().out)
    assert sqlite["backend"] == "SQLite" and sqlite["steps"] == 20
    assert 0 < sqlite["loop_cpu_ms_per_update"] <= sqlite["process_cpu_ms_per_update"]
