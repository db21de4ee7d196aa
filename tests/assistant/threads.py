"""The thread store and chat history as the app opens them, on a SQLite database of their own under a data dir."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from assistant.database import Database, database_url
from assistant.session import ThreadStore

T = TypeVar("T")


def open_database(data_dir: Path) -> Database:
    """A new engine on the data dir's database, as a new server process opens it."""
    return Database(database_url(None, data_dir), legacy_dir=data_dir)


def thread_store(data_dir: Path, database: Database | None = None) -> ThreadStore:
    """The thread states of `data_dir` (a new engine unless `database` is given: as a new process would)."""
    return ThreadStore(data_dir / "threads", database or open_database(data_dir))


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await `coroutine` from synchronous test code, even inside a running event loop (on a loop of its own in a
    worker thread; the SQLite database opens a connection per use, so it serves either loop)."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coroutine).result()
