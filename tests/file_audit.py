"""Which files a piece of code opens, writes, renames or removes, seen through Python's audit hooks (PEP 578).

    with FileAudit() as audit:
        ... run the code ...
    audit.written, audit.read     # resolved paths

A hook cannot be removed once added, so one hook is added the first time and records only while an audit is open.
It sees every thread of the process (Chroma's and the journal's writers too); files opened by C libraries without
Python's `open` (a native reader's own fopen) are not seen.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

_OPEN: list[FileAudit] = []
_LOCK = threading.Lock()
_HOOKED = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# Where each event's dir_fd arguments are: a path relative to a directory descriptor (shutil.rmtree removing what a
# folder holds) is not resolved here; the event naming the folder itself is recorded instead.
_DIR_FDS = {"os.remove": (1,), "os.rmdir": (1,), "os.mkdir": (2,), "os.rename": (2, 3), "os.replace": (2, 3)}


def _path(value: Any) -> Path | None:
    if isinstance(value, int):  # a file descriptor
        return None
    try:
        return Path(os.fsdecode(value)).resolve()
    except (TypeError, ValueError, OSError):
        return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _OPEN or any(len(args) > i and args[i] not in (None, -1) for i in _DIR_FDS.get(event, ())):
        return
    written: list[Path | None] = []
    read: list[Path | None] = []
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and bool(flags & _WRITE_FLAGS))
        (written if writes else read).append(_path(path))
    elif event in ("os.rename", "os.replace", "shutil.copyfile", "shutil.move"):
        read.append(_path(args[0]))
        written.append(_path(args[1]))
    elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.truncate", "shutil.rmtree", "os.symlink", "os.link"):
        written.append(_path(args[0]))
    if not written and not read:
        return
    with _LOCK:
        for audit in _OPEN:
            audit.written.update(p for p in written if p is not None)
            audit.read.update(p for p in read if p is not None)


class FileAudit:
    def __init__(self) -> None:
        self.written: set[Path] = set()
        self.read: set[Path] = set()

    def __enter__(self) -> FileAudit:
        global _HOOKED
        if not _HOOKED:
            sys.addaudithook(_hook)
            _HOOKED = True
        with _LOCK:
            _OPEN.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _LOCK:
            _OPEN.remove(self)

    def outside(self, *allowed: Path, writes: bool = True) -> list[Path]:
        """The paths written (or read, with writes=False) that are under none of `allowed`, nor in a scratch folder
        of `tempfile` (a `tmp...` folder of the system's temporary directory, removed once used)."""
        roots = [a.resolve() for a in allowed]
        scratch = Path(tempfile.gettempdir()).resolve()
        seen = self.written if writes else self.read
        return sorted(p for p in seen if not any(p == r or p.is_relative_to(r) for r in roots)
                      and not (p.parent == scratch and p.name.startswith("tmp"))
                      and not (p.is_relative_to(scratch) and p.relative_to(scratch).parts[0].startswith("tmp")))
