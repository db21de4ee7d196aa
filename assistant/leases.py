"""Which server process runs a thread's build, kept in the database, so that replicas sharing it never run one build
twice: the process running a build holds its lease and renews it (a heartbeat) while the build runs.

A lease is taken over when its holder is gone: at once when the holder was a process on this host that no longer
runs (a server killed and restarted finds its own dead instance's leases), or after `timeout_s` without a heartbeat
(a holder on another host, or one that hangs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from assistant.database import Database

logger = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a zombie, killed and not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


class BuildLeases:
    def __init__(self, database: Database, *, timeout_s: float = 60.0, host: str | None = None,
                 pid: int | None = None) -> None:
        self.database = database
        self.timeout_s = timeout_s
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.holder = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:12]}"  # this process, unlike any before it
        self._beats: dict[str, asyncio.Task[None]] = {}

    def _gone(self, lease: dict[str, Any], now: float) -> bool:
        """Whether the lease's holder no longer runs its build."""
        if lease["holder"] == self.holder:
            return False
        if lease["heartbeat_at"] < now - self.timeout_s:
            return True
        # On this host: a pid that no longer runs, or this very pid (then the holder was an earlier process).
        return bool(lease["host"] == self.host and (lease["pid"] == self.pid or not pid_alive(int(lease["pid"]))))

    async def _lease(self, thread_id: str) -> dict[str, Any] | None:
        rows = await self.database.rows("SELECT * FROM build_leases WHERE thread_id = :t", t=thread_id)
        return rows[0] if rows else None

    async def holder_elsewhere(self, thread_id: str) -> str | None:
        """The live process of another server that runs this thread's build (its host and pid), or None."""
        lease = await self._lease(thread_id)
        if lease is None or lease["holder"] == self.holder or self._gone(lease, time.time()):
            return None
        return f"{lease['host']} (process {lease['pid']})"

    async def running(self, owner: str | None, *, besides: str) -> tuple[int, int]:
        """The builds whose leases are live, of every process sharing the database, but thread `besides`'s: (those of
        `owner`, all of them)."""
        rows = await self.database.rows("SELECT * FROM build_leases")
        now = time.time()
        live = [lease for lease in rows if lease["thread_id"] != besides and not self._gone(lease, now)]
        return sum(1 for lease in live if lease["owner"] == (owner or "")), len(live)

    async def take(self, thread_id: str, owner: str | None) -> str | None:
        """Hold the thread's build lease; None when held now, else who holds it (see `holder_elsewhere`)."""
        now = time.time()
        values = {"t": thread_id, "owner": owner or "", "holder": self.holder, "host": self.host, "pid": self.pid,
                  "now": now}
        async with self.database.write() as connection:
            inserted = await connection.execute(text(
                "INSERT INTO build_leases (thread_id, owner, holder, host, pid, heartbeat_at, started_at) "
                "VALUES (:t, :owner, :holder, :host, :pid, :now, :now) ON CONFLICT (thread_id) DO NOTHING"), values)
        if inserted.rowcount != 1:
            lease = await self._lease(thread_id)
            if lease is not None and not self._gone(lease, now):
                return None if lease["holder"] == self.holder else f"{lease['host']} (process {lease['pid']})"
            if lease is not None:  # taken over only if nobody else took it over meanwhile
                async with self.database.write() as connection:
                    taken = await connection.execute(text(
                        "UPDATE build_leases SET owner = :owner, holder = :holder, host = :host, pid = :pid, "
                        "heartbeat_at = :now, started_at = :now WHERE thread_id = :t AND holder = :old "
                        "AND heartbeat_at = :old_beat"), {**values, "old": lease["holder"],
                                                           "old_beat": lease["heartbeat_at"]})
                if taken.rowcount != 1:
                    return await self.holder_elsewhere(thread_id) or "another server process"
                logger.info("Took over the build lease of thread %s from %s, which is gone.", thread_id,
                            lease["holder"])
            else:
                return await self.take(thread_id, owner)  # released meanwhile: try again
        self._beats[thread_id] = asyncio.create_task(self._beat(thread_id))
        return None

    async def _beat(self, thread_id: str) -> None:
        while True:
            await asyncio.sleep(self.timeout_s / 4)
            try:
                async with self.database.write() as connection:
                    renewed = await connection.execute(text(
                        "UPDATE build_leases SET heartbeat_at = :now WHERE thread_id = :t AND holder = :holder"),
                        {"now": time.time(), "t": thread_id, "holder": self.holder})
                if renewed.rowcount != 1:
                    logger.warning("The build lease of thread %s was taken over by another server process.",
                                   thread_id)
                    return
            except Exception as exc:  # the database away for a moment: the next beat tries again
                logger.warning("The build lease of thread %s could not be renewed: %s", thread_id, exc)

    async def release(self, thread_id: str) -> None:
        beat = self._beats.pop(thread_id, None)
        if beat is not None:
            beat.cancel()
        async with self.database.write() as connection:
            await connection.execute(text("DELETE FROM build_leases WHERE thread_id = :t AND holder = :holder"),
                                     {"t": thread_id, "holder": self.holder})

    async def clear_gone(self, thread_id: str) -> None:
        """Remove the thread's lease if its holder is gone (its build is then resumable here)."""
        lease = await self._lease(thread_id)
        if lease is not None and self._gone(lease, time.time()):
            async with self.database.write() as connection:
                await connection.execute(text(
                    "DELETE FROM build_leases WHERE thread_id = :t AND holder = :old AND heartbeat_at = :beat"),
                    {"t": thread_id, "old": lease["holder"], "beat": lease["heartbeat_at"]})
