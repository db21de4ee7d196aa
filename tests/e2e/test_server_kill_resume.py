"""The chat server SIGKILLed while a person's build runs: restarted, the person reopens the thread, is told the build
was interrupted, says "go", and the same build finishes in its own folder with every sample accepted before the
kill kept and none twice."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from bench.chat_load import Processes, Session, ask_for_a_plan, build, connect

pytestmark = pytest.mark.slow
INTERRUPTED = "The last build was interrupted"


def _ledgers(data: Path) -> list[Path]:
    return sorted((data / "threads").rglob("builds/*/checkpoints/accepted.jsonl"))


def _ids(path: Path) -> list[str]:
    lines = path.read_text().split("\n")[:-1]  # whole lines only: the writer may be halfway through the last one
    return [json.loads(line)["id"] for line in lines if line.strip()]


async def _until_accepted(data: Path, at_least: int, timeout_s: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ledgers = _ledgers(data)
        if ledgers and len(_ids(ledgers[0])) >= at_least:
            return _ids(ledgers[0])
        await asyncio.sleep(0.05)
    pytest.fail(f"fewer than {at_least} samples accepted within {timeout_s:.0f} s")


async def test_a_build_killed_with_the_server_finishes_after_a_restart_with_nothing_lost_or_doubled(
        tmp_path: Path) -> None:
    users = {"alice": f"pw-{uuid.uuid4().hex[:8]}"}
    processes = Processes(tmp_path, users, argparse.Namespace(latency_ms=250, max_builds=8))
    try:
        session = Session("alice", users["alice"])
        sio = await connect(processes.url, session)
        await session.until(lambda: session.seen("I build evaluation benchmarks") and session.ended, 60)
        await ask_for_a_plan(sio, session, 12, 120)
        await sio.emit("client_message", {"message": {
            "id": str(uuid.uuid4()), "threadId": session.thread_id, "type": "user_message", "name": "User",
            "output": "go", "createdAt": "2026-01-01T00:00:00+00:00"}, "fileReferences": []})
        before_kill = await _until_accepted(processes.data, 3)
        processes.kill_and_restart()
        await sio.disconnect()

        reopened = Session("alice", users["alice"], thread_id=session.thread_id)
        sio = await connect(processes.url, reopened)
        await reopened.until(lambda: reopened.seen(INTERRUPTED), 60)
        await build(sio, reopened, time.monotonic() + 180)
        await sio.disconnect()
    finally:
        processes.close()
    assert reopened.status == "complete" and reopened.accepted == reopened.requested == 12, reopened.status
    [ledger] = _ledgers(processes.data)  # the same build's folder, no second build
    final = [json.loads(line)["id"] for line in (ledger.parent.parent / "benchmark.jsonl").read_text().splitlines()]
    assert len(final) == len(set(final)) == 12
    assert len(before_kill) < 12, "killed mid-build"
    assert set(before_kill) <= set(final), "every sample accepted before the kill is in the benchmark"
    # A batch cut by the kill is decided again on resume (from the call cache) and its lines written again; it counts
    # once, when its `done` marker is written (tools/engine/ledger.py): what was accepted is what is exported.
    assert set(_ids(ledger)) == set(final)
