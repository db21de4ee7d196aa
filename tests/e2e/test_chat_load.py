"""Five people on one lab server at once (bench/chat_load.py, smaller): with the server allowed fewer builds at once
than there are people, every build still completes once asked again, and each person sees only their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chat_load import run_load

pytestmark = pytest.mark.slow


def test_five_concurrent_sessions_each_build_and_see_only_their_own(tmp_path: Path) -> None:
    result = run_load(sessions=5, size=4, latency_ms=20, max_builds=3, timeout_s=240, alone_first=False,
                      work=tmp_path)
    load = result["load"]
    assert load["errors"] == [], load["errors"]
    assert load["complete"] == 5, load
    assert result["isolation_problems"] == []
    assert load["refused_at_limit"] >= 1, "five builds asked at once, three allowed: some were asked to wait"
    assert result["server_log_errors"] == [], result["server_log_errors"]
