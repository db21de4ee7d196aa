"""The database that holds the chat history and each thread's state: SQLite under the data directory by default,
PostgreSQL when BENCHMARK_AGENT_DATABASE_URL names one (then several server processes can share it).

The tables are those Chainlit's SQLAlchemy data layer reads and writes (Chainlit creates none), plus the thread
states, the build leases and a schema version, so that a later release can migrate a database it finds. Every
statement is async; on SQLite the writes of this process go one at a time (WAL lets readers on meanwhile) and a
busy connection waits instead of failing with "database is locked".
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from assistant.history_import import IMPORT_NAME, import_legacy, read_legacy
from tools.errors import BenchmarkAgentError

logger = logging.getLogger(__name__)

# Each entry migrates the schema from the version before it; the last one's number is the current version. Each
# statement can run twice (IF NOT EXISTS): SQLite's driver runs DDL outside the transaction, so two servers starting
# together on one file may both run it.
# Ids are TEXT (this app's thread ids are not all UUIDs); JSON is stored as TEXT on both backends, as Chainlit's
# layer writes json.dumps() strings and reads them back as they are.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        'CREATE TABLE IF NOT EXISTS users ("id" TEXT PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" TEXT NOT NULL, '
        '"createdAt" TEXT)',
        'CREATE TABLE IF NOT EXISTS threads ("id" TEXT PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" TEXT, '
        '"userIdentifier" TEXT, "tags" TEXT, "metadata" TEXT, '
        'FOREIGN KEY ("userId") REFERENCES users ("id") ON DELETE CASCADE)',
        'CREATE INDEX IF NOT EXISTS threads_user ON threads ("userId")',
        'CREATE TABLE IF NOT EXISTS steps ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, '
        '"threadId" TEXT NOT NULL, "parentId" TEXT, "streaming" BOOLEAN NOT NULL DEFAULT FALSE, "waitForAnswer" BOOLEAN, '
        '"isError" BOOLEAN, "metadata" TEXT, "tags" TEXT, "input" TEXT, "output" TEXT, "createdAt" TEXT, '
        '"command" TEXT, "modes" TEXT, "start" TEXT, "end" TEXT, "generation" TEXT, "showInput" TEXT, '
        '"language" TEXT, "indent" INTEGER, "defaultOpen" BOOLEAN, "autoCollapse" BOOLEAN, "icon" TEXT, '
        'FOREIGN KEY ("threadId") REFERENCES threads ("id") ON DELETE CASCADE)',
        'CREATE INDEX IF NOT EXISTS steps_thread ON steps ("threadId")',
        'CREATE TABLE IF NOT EXISTS elements ("id" TEXT PRIMARY KEY, "threadId" TEXT, "type" TEXT, "url" TEXT, '
        '"chainlitKey" TEXT, "name" TEXT NOT NULL, "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INTEGER, '
        '"language" TEXT, "forId" TEXT, "mime" TEXT, "props" TEXT, "autoPlay" BOOLEAN, "playerConfig" TEXT, '
        'FOREIGN KEY ("threadId") REFERENCES threads ("id") ON DELETE CASCADE)',
        'CREATE INDEX IF NOT EXISTS elements_thread ON elements ("threadId")',
        'CREATE TABLE IF NOT EXISTS feedbacks ("id" TEXT PRIMARY KEY, "forId" TEXT NOT NULL, "threadId" TEXT, '
        '"value" INTEGER NOT NULL, "comment" TEXT)',
        'CREATE INDEX IF NOT EXISTS feedbacks_step ON feedbacks ("forId")',
        # The assistant's own state of a thread, one row per (thread, owner) as a thread is found only with its
        # owner; written in the same transaction as the thread's row.
        "CREATE TABLE IF NOT EXISTS thread_states (thread_id TEXT NOT NULL, owner TEXT NOT NULL, state TEXT NOT NULL, "
        "updated_at TEXT NOT NULL, PRIMARY KEY (thread_id, owner))",
        "CREATE TABLE IF NOT EXISTS damaged_thread_states (thread_id TEXT NOT NULL, owner TEXT NOT NULL, kept_at TEXT NOT NULL, "
        "state TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY (thread_id, owner, kept_at))",
        # Which server process runs a thread's build: held with a heartbeat, so that no two replicas run it.
        "CREATE TABLE IF NOT EXISTS build_leases (thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL, holder TEXT NOT NULL, "
        "host TEXT NOT NULL, pid INTEGER NOT NULL, heartbeat_at DOUBLE PRECISION NOT NULL, "
        "started_at DOUBLE PRECISION NOT NULL)",
        # Things done once per database, e.g. importing the JSON files of earlier releases.
        "CREATE TABLE IF NOT EXISTS imports (name TEXT PRIMARY KEY, done_at TEXT NOT NULL, summary TEXT NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def database_url(configured: str | None, data_dir: Path) -> str:
    """The SQLAlchemy async URL: `configured` (postgresql://... gets the asyncpg driver, sqlite:///... aiosqlite),
    or a SQLite file under the data directory."""
    if not configured:
        return f"sqlite+aiosqlite:///{(data_dir / 'history.sqlite3').resolve()}"
    try:
        url = make_url(configured)
    except ArgumentError as exc:
        raise BenchmarkAgentError(f"BENCHMARK_AGENT_DATABASE_URL is not a database URL ({exc}); give e.g. "
                                  "postgresql://user:password@host:5432/benchmark_agent") from None
    drivers = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    backend = url.get_backend_name()
    if backend not in ("postgresql", "postgres", "sqlite"):
        raise BenchmarkAgentError(f"BENCHMARK_AGENT_DATABASE_URL names a {backend} database; the chat history "
                                  "is kept in PostgreSQL (postgresql://...) or SQLite (sqlite:///path).")
    if url.drivername in drivers:
        url = url.set(drivername=drivers[url.drivername])
    return url.render_as_string(hide_password=False)


class Database:
    """One engine per server process, shared by the chat history and the thread states."""

    def __init__(self, url: str, *, legacy_dir: Path | None = None, pool_size: int = 10) -> None:
        self.url = url
        self.legacy_dir = legacy_dir  # a data directory whose JSON files of earlier releases are imported once
        self.sqlite = url.startswith("sqlite")
        self.pool_size = pool_size
        if self.sqlite:
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One engine (and pool) per event loop: a driver's connection serves only the loop it was opened on. A server
        # has one loop; tests run several.
        self._engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncEngine] = weakref.WeakKeyDictionary()
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._ready: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self.migrated = False

    @property
    def engine(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        if loop not in self._engines:
            if self.sqlite:
                engine = create_async_engine(self.url, connect_args={"timeout": 30}, pool_size=self.pool_size)
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            else:
                # Five chats at once each write steps while builds write their progress: room for them all.
                engine = create_async_engine(self.url, pool_size=self.pool_size, max_overflow=2 * self.pool_size,
                                             pool_pre_ping=True)
            self._engines[loop] = engine
        return self._engines[loop]

    @property
    def backend(self) -> str:
        return "SQLite" if self.sqlite else "PostgreSQL"

    def _lock(self, locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if loop not in locks:
            locks[loop] = asyncio.Lock()
        return locks[loop]

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that writes: committed when the block ends, rolled back on an error. On SQLite one at a
        time in this process (SQLite has a single writer; waiting here costs no busy-timeout polling)."""
        await self.migrate()
        if self.sqlite:
            async with self._lock(self._writers), self.engine.begin() as connection:
                yield connection
        else:
            async with self.engine.begin() as connection:
                yield connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        await self.migrate()
        async with self.engine.connect() as connection:
            yield connection

    async def rows(self, query: str, **parameters: Any) -> list[dict[str, Any]]:
        async with self.read() as connection:
            result = await connection.execute(text(query), parameters)
            return [dict(row._mapping) for row in result.fetchall()]

    async def migrate(self) -> None:
        """Create the tables, or bring an older schema up to this version (once per process; a PostgreSQL shared
        by several processes is migrated by one of them at a time)."""
        if self.migrated:
            return
        async with self._lock(self._ready):
            if self.migrated:
                return
            try:
                await self._migrate()
            except OperationalError:  # SQLite: another server migrating the same file at this moment; it is done now
                await asyncio.sleep(0.2)
                await self._migrate()
            self.migrated = True

    async def _migrate(self) -> None:
        async with self.engine.begin() as connection:
            if not self.sqlite:  # replicas starting together: one migrates, the others wait for it
                await connection.execute(text("SELECT pg_advisory_xact_lock(716151)"))
            await connection.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
            found = (await connection.execute(text("SELECT MAX(version) FROM schema_version"))).scalar()
            version = int(found or 0)
            if version > SCHEMA_VERSION:
                raise BenchmarkAgentError(
                    f"The chat history database ({self.backend}) has schema version {version}, newer than this "
                    f"release knows ({SCHEMA_VERSION}): run the release that wrote it, or a newer one.")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1]:
                    await connection.execute(text(statement))
                await connection.execute(text(
                    "INSERT INTO schema_version (version) SELECT :v WHERE NOT EXISTS "
                    "(SELECT 1 FROM schema_version WHERE version = :v)"), {"v": number})
            if self.legacy_dir is not None:
                await self._import_once(connection, self.legacy_dir)

    async def _import_once(self, connection: AsyncConnection, data_dir: Path) -> None:
        done = (await connection.execute(text("SELECT 1 FROM imports WHERE name = :name"),
                                         {"name": IMPORT_NAME})).first()
        if done is None:
            found = await asyncio.to_thread(read_legacy, data_dir)
            summary = await import_legacy(connection, found)
            logger.info("The chat history's JSON files under %s were imported into the database: %s.", data_dir, summary)

    async def schema_version(self) -> int:
        rows = await self.rows("SELECT MAX(version) AS version FROM schema_version")
        return int(rows[0]["version"] or 0)

    async def close(self) -> None:
        """Close this event loop's connections."""
        engine = self._engines.pop(asyncio.get_running_loop(), None)
        if engine is not None:
            await engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA busy_timeout=30000")  # another process writing: wait for it instead of failing
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: a killed process loses no commit, a power cut the last few
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
