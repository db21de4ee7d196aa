"""The throughput bench's loop watch measures a stall of the event loop (the figure the bench reports as
`max_loop_stall_ms`)."""

from __future__ import annotations

import asyncio
import time

from bench.throughput import LoopWatch


async def test_a_blocking_call_on_the_loop_is_measured_as_a_stall() -> None:
    with LoopWatch(lambda: "build") as watch:
        await asyncio.sleep(0.05)
        time.sleep(0.12)  # the loop's thread held: nothing else runs meanwhile
        await asyncio.sleep(0.05)
    assert 0.1 <= watch.longest["build"] < 1.0
    assert [s for s in watch.stalls if s[0] >= 0.1], watch.stalls

