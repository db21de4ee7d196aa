"""The chat history's cost to the event loop: CPU of the loop's own thread per step update (a streamed message, a
progress step updated in place), on SQLite under a data dir and on PostgreSQL.

Each update is what Chainlit asks of the data layer: the author check, the thread's row and the step's upsert in one
transaction. The figure that matters to a chat server is the loop thread's CPU (time.thread_time on it): the drivers'
own threads (aiosqlite) and the database server are reported apart.

    python bench/chat_history.py --steps 400                       # SQLite, and PostgreSQL if it can be started
    python bench/chat_history.py --database-url postgresql://...   # a PostgreSQL of yours (its tables are made)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CHAINLIT_APP_ROOT", tempfile.mkdtemp(prefix="chainlit-app-root-"))
sys.path.insert(0, str(REPO))

from chainlit.context import ChainlitContext, context_var  # noqa: E402
from chainlit.emitter import BaseChainlitEmitter  # noqa: E402
from chainlit.session import HTTPSession  # noqa: E402
from chainlit.user import User  # noqa: E402

from assistant.chat_history import HistoryLayer  # noqa: E402
from assistant.database import Database, database_url  # noqa: E402


async def measure(url: str, files: Path, steps: int, chars: int, threads: int) -> dict[str, Any]:
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id="bench",
                          user=None)
    context_var.set(ChainlitContext(session, emitter=BaseChainlitEmitter(session)))
    layer = HistoryLayer(Database(url), files)
    user = await layer.create_user(User(identifier=f"bench-{uuid.uuid4().hex[:6]}"))
    assert user is not None
    ids = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(threads)]
    for thread_id in ids:
        await layer.update_thread(thread_id, name="bench", user_id=user.id)
        await layer.create_step(_step(thread_id, 0, chars))
    await layer.update_step(_step(ids[0], 1, chars))  # warm: connections open, statements compiled
    loop_cpu, process_cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
    for n in range(steps):  # the threads' steps updated in turn, each update awaited, as a message streams
        await layer.update_step(_step(ids[n % threads], n, chars))
    loop_cpu, process_cpu = time.thread_time() - loop_cpu, time.process_time() - process_cpu
    wall = time.perf_counter() - wall
    stored = await layer.get_thread(ids[(steps - 1) % threads])
    assert stored is not None and stored["steps"][0]["output"].startswith(f"{steps - 1}:"), "the last update is stored"
    await layer.close()
    return {"backend": layer.database.backend, "steps": steps, "output_chars": chars, "threads": threads,
            "loop_cpu_ms_per_update": round(loop_cpu / steps * 1000, 3),
            "process_cpu_ms_per_update": round(process_cpu / steps * 1000, 3),
            "wall_ms_per_update": round(wall / steps * 1000, 3)}


def _step(thread_id: str, n: int, chars: int) -> dict[str, Any]:
    return {"id": f"{thread_id}-card", "threadId": thread_id, "type": "assistant_message", "name": "Assistant",
            "output": f"{n}:" + "x" * chars, "createdAt": "2026-01-01T00:00:00Z", "streaming": False,
            "metadata": {}}


def _throwaway_postgres(folder: Path) -> str | None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = subprocess.run([str(REPO / "scripts" / "throwaway-postgres"), "start", str(folder), str(port)],
                             capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        print(f"PostgreSQL not measured: {started.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return started.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/chat_history.py", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="Step updates measured per backend.")
    parser.add_argument("--output-chars", type=int, default=2000, help="Length of each updated message.")
    parser.add_argument("--threads", type=int, default=5, help="Threads whose steps are updated in turn.")
    parser.add_argument("--database-url", help="A PostgreSQL to measure instead of a throwaway one.")
    parser.add_argument("--no-postgres", action="store_true", help="Measure SQLite only.")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="chat-history-bench-"))
    results = [asyncio.run(measure(database_url(None, work), work / "files", args.steps, args.output_chars,
                                   args.threads))]
    if not args.no_postgres:
        cluster = Path(tempfile.mkdtemp(prefix="pg-"))
        url = args.database_url or _throwaway_postgres(cluster)
        try:
            if url:
                results.append(asyncio.run(measure(database_url(url, work), work / "files", args.steps,
                                                   args.output_chars, args.threads)))
        finally:
            if not args.database_url:
                subprocess.run([str(REPO / "scripts" / "throwaway-postgres"), "stop", str(cluster)],
                               capture_output=True, timeout=60)
            shutil.rmtree(cluster, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
