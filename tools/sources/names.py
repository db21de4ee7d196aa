"""Names on disk and ids: safe file names inside the material folder, source ids, folders expanded to files."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from tools.errors import InvalidRequest
from tools.sources.limits import SUPPORTED, supported_list

_MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w .,()+=@#&'~-]")


def display_name(name: str) -> str:
    """The name as the user gave it, without control characters (for messages)."""
    shown = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip()
    return shown or "unnamed file"


def safe_name(name: str, taken: set[str]) -> str:
    """A file name for the stored copy: no directories ('../' dropped, separators joined by '_'), no control
    or shell-special characters, no leading dot, at most 120 characters, and not one of `taken`."""
    parts = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".", "..")]
    joined = "_".join(parts)
    cleaned = "".join(ch for ch in joined if not unicodedata.category(ch).startswith("C"))
    cleaned = _UNSAFE.sub("_", cleaned).strip(" .")
    cleaned = re.sub(r"_+", "_", cleaned) or "file"
    stem, suffix = _split(cleaned)
    stem = stem[: _MAX_NAME - len(suffix)].rstrip(" .") or "file"
    candidate, n = stem + suffix, 2
    while candidate.lower() in {t.lower() for t in taken}:
        candidate, n = f"{stem}-{n}{suffix}", n + 1
    return candidate


def _split(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > 10:
        return name, ""
    return name[:dot], name[dot:].lower()


def slug(text: str, limit: int = 32) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-") or "file"


def source_id(name: str, sha256: str) -> str:
    """The stable id of a source: a slug of the file's stem (at most 32 characters), '-', the hash's first 8."""
    return f"{slug(_split(name)[0])}-{sha256[:8]}"


def suffix_of(name: str) -> str:
    return _split(name.strip())[1]


def expand_paths(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """The files named on the command line: a file as it is, a folder as every supported file in it
    (recursively, sorted by path, named by their path inside it). A missing path, or a folder with no
    supported file, is an InvalidRequest that says which."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise InvalidRequest(f"The folder {path} has no file of a supported type ({supported_list()}).")
            found += [(p.relative_to(path).as_posix(), p) for p in inside]
        elif path.is_file():
            found.append((path.name, path))
        else:
            raise InvalidRequest(f"{path} does not exist: give the path of a file or a folder of files.")
    return found
