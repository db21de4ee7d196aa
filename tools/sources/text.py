"""Decoding text files: UTF-8 (with or without a byte-order mark), else Windows-1252; binary content refused."""

from __future__ import annotations

import codecs
from pathlib import Path

from tools.sources.limits import SourceError

_BLOCK = 1 << 20


def detect_encoding(path: Path, name: str, what: str = "a text file") -> tuple[str, list[str]]:
    """The encoding to read `path` with, and a note when it is not UTF-8. Reads in blocks (never the whole
    file at once); a file with NUL bytes or many control characters is not text."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, controls, total = True, 0, 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            if b"\x00" in block:
                raise SourceError(f"{name} is not {what}: it has binary content. Attach the text itself, "
                                  "or the document in a supported format.")
            controls += sum(block.count(bytes([c])) for c in range(1, 32) if c not in (9, 10, 12, 13))
            total += len(block)
            if is_utf8:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    is_utf8 = False
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if total and controls / total > 0.01:
        raise SourceError(f"{name} is not {what}: it has binary content. Attach the text itself, "
                          "or the document in a supported format.")
    if is_utf8:
        return "utf-8-sig", []
    try:
        with path.open(encoding="cp1252") as handle:
            while handle.read(_BLOCK):
                pass
    except UnicodeDecodeError as exc:
        raise SourceError(f"{name} is not {what}: it is neither UTF-8 nor Windows-1252 text. "
                          "Save it as UTF-8 and attach it again.") from exc
    return "cp1252", [f"{name} is not UTF-8: it was read as Windows-1252 (save it as UTF-8 if characters look wrong)"]


def read_text(path: Path, name: str) -> tuple[str, list[str]]:
    encoding, notes = detect_encoding(path, name)
    return path.read_text(encoding=encoding), notes
