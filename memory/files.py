"""Durable file writes: whole files replaced atomically, records appended and fsync'd (at once, or in groups
from a writer thread: `Journal`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write `text` (or bytes) to `path` so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def append_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records as JSON lines and fsync, so an accepted record survives a crash."""
    lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with _appending(path) as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def _appending(path: Path) -> Iterator[Any]:
    """`path` open for appending, a torn last line (a crash mid-write) cut off first: appended to, it would glue
    the next record onto the fragment and make a line no reader can parse."""
    with path.open("a+b") as raw:
        end = raw.seek(0, os.SEEK_END)
        if end:
            raw.seek(end - 1)
            if raw.read(1) != b"\n":
                raw.seek(max(0, end - 65536))
                tail = raw.read()
                cut = tail.rfind(b"\n")
                keep = end - len(tail) + cut + 1 if cut >= 0 else _last_newline_end(raw, end - len(tail))
                raw.truncate(keep)
        raw.seek(0, os.SEEK_END)
        with open(raw.fileno(), "a", encoding="utf-8", closefd=False) as handle:
            yield handle


def complete_size(path: Path) -> int:
    """The bytes of `path` up to its last complete line (0 for a missing file): where the next append starts."""
    if not path.exists():
        return 0
    with path.open("rb") as raw:
        return _last_newline_end(raw, raw.seek(0, os.SEEK_END))


def _last_newline_end(raw: Any, before: int) -> int:
    """Just past the last newline before byte `before` (0 where there is none): a torn line longer than the tail read."""
    block = 65536
    while before > 0:
        start = max(0, before - block)
        raw.seek(start)
        cut = raw.read(before - start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        before = start
    return 0


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the complete records of a JSON-lines file; a torn last line (a crash mid-write) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            if line.strip():
                yield json.loads(line)


WRITER_IDLE_S = 2.0  # a journal's writer thread ends after this long with nothing to write


class Journal:
    """Appends JSON lines from one writer thread, fsync'd in groups, so no caller waits on the disk.

    Records appended while the writer is busy are written together, one fsync per file, so many concurrent
    appends cost one disk flush. `rank` orders files within a group: every file of a lower rank is written and
    fsync'd before any line of a higher one is written, so what depends on a record (a batch's `done` marker
    on the samples it decided, those on the model answers they came from) never reaches the disk before it,
    even if the machine stops mid-group. Within a file, lines keep their order. `durable(ticket)` waits for
    one append; `drain()`/`flush()` for all so far. A failed write is raised by every later call.

    The records must not be changed after `append`: they are serialised in the writer thread. The thread
    ends when nothing was appended for `WRITER_IDLE_S`, and starts again with the next append.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[tuple[int, Path, list[dict[str, Any]]]] = []
        self._submitted = 0  # tickets handed out
        self._durable = 0  # tickets on disk
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def append(self, path: Path, records: Iterable[dict[str, Any]], *, rank: int = 0) -> int:
        """Queue `records` for `path`; returns the ticket `durable` waits for."""
        with self._cond:
            self._raise()
            self._submitted += 1
            self._pending.append((rank, path, list(records)))
            self._cond.notify_all()
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="journal-writer", daemon=True)
                self._writer.start()
            return self._submitted

    async def durable(self, ticket: int) -> None:
        """Return once the append with `ticket` (and every earlier one) is on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._raise()
            if self._durable >= ticket:
                return
            self._waiters.append((ticket, loop, future))
        await future

    async def drain(self) -> None:
        """Return once everything appended so far is on disk."""
        with self._cond:
            ticket = self._submitted
        await self.durable(ticket)

    def flush(self) -> None:
        """`drain`, blocking the calling thread."""
        with self._cond:
            ticket = self._submitted
            while self._durable < ticket and self._error is None:
                self._cond.wait()
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise OSError(f"A checkpoint write failed earlier: {self._error}") from self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and self._error is None:
                    self._cond.wait(WRITER_IDLE_S)  # starting a thread costs the caller milliseconds: stay a while
                group, self._pending = self._pending, []
                if not group or self._error is not None:
                    self._writer = None
                    self._cond.notify_all()
                    return
            error: BaseException | None = None
            try:
                _write_group(group)
            except BaseException as exc:  # noqa: BLE001 (handed to every waiter instead of dying silently)
                error = exc
            with self._cond:
                self._error = self._error or error
                self._durable += len(group)
                self._wake()
                self._cond.notify_all()

    def _wake(self) -> None:
        """Resolve the waiters whose ticket is on disk (or all of them, with the error); under the lock."""
        waiting = []
        for ticket, loop, future in self._waiters:
            if self._error is None and ticket > self._durable:
                waiting.append((ticket, loop, future))
                continue
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, future, self._error)
        self._waiters = waiting


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(OSError(f"A checkpoint write failed: {error}"))


def _write_group(group: list[tuple[int, Path, list[dict[str, Any]]]]) -> None:
    for rank in sorted({rank for rank, _, _ in group}):
        by_file: dict[Path, list[str]] = {}
        for r, path, records in group:
            if r == rank:
                by_file.setdefault(path, []).extend(json.dumps(x, ensure_ascii=False, default=str) + "\n" for x in records)
        for path, lines in by_file.items():
            if lines:
                path.parent.mkdir(parents=True, exist_ok=True)
                with _appending(path) as handle:
                    handle.write("".join(lines))
                    handle.flush()
                    os.fsync(handle.fileno())
