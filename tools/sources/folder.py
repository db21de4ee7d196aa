"""The material folder: material.json (the sources and chunks), records.jsonl (every record, one per line),
files/ (the stored copies of the user's files) and ocr/ (text read from images). Writes are atomic and
serialised by a lock file, so two ingests into one folder do not interleave."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from memory.files import write_json
from tools.contracts import FIELD_USES, FieldUse, Material, SourceFile
from tools.errors import InvalidRequest

MATERIAL_FILE = "material.json"
RECORDS_FILE = "records.jsonl"
FILES_DIR = "files"
OCR_DIR = "ocr"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock (one process per folder is then the caller's promise)
        yield
        return
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_material(folder: Path) -> Material | None:
    """The material read into `folder` so far, or None when nothing has been read there."""
    path = folder / MATERIAL_FILE
    if not path.is_file():
        return None
    try:
        return Material.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError, OSError) as exc:
        raise InvalidRequest(f"{path} is damaged ({str(exc).splitlines()[0]}): delete the folder {folder} and "
                             "attach the files again.") from exc


def save_material(folder: Path, material: Material) -> None:
    write_json(folder / MATERIAL_FILE, material.model_dump(mode="json"))


def append_records(folder: Path, staged: Path) -> None:
    """Append a staged JSON-lines file of records to the folder's records.jsonl, durably."""
    with staged.open("rb") as source, (folder / RECORDS_FILE).open("ab") as target:
        shutil.copyfileobj(source, target, 1 << 20)
        target.flush()
        os.fsync(target.fileno())


def find_source(material: Material, source: str) -> SourceFile:
    """A source by id or by file name (case-insensitive); InvalidRequest naming the sources otherwise."""
    for candidate in material.sources:
        if source in (candidate.id, candidate.name) or source.lower() == candidate.name.lower():
            return candidate
    names = ", ".join(s.name for s in material.sources) or "none yet"
    raise InvalidRequest(f"No attached file is called {source!r}. The files are: {names}.")


def set_field_use(folder: Path, source: str, field: str, use: FieldUse) -> Material:
    """Set what one field of a data file is used for and store it. Setting a field to 'answer' turns the
    previous answer field (there is at most one) into a 'label'."""
    if use not in FIELD_USES:
        raise InvalidRequest(f"{use!r} is not a field use; use one of {', '.join(FIELD_USES)}.")
    with locked(folder):
        material = load_material(folder)
        if material is None:
            raise InvalidRequest(f"No files have been read into {folder} yet: attach a data file first.")
        found = find_source(material, source)
        if found.kind != "records":
            raise InvalidRequest(f"{found.name} is {'an image' if found.kind == 'image' else 'a document'}; only data "
                                 "files (.csv, .jsonl, .json, .parquet) have fields.")
        if field not in found.fields:
            raise InvalidRequest(f"{found.name} has no field {field!r}; its fields are {', '.join(found.fields)}.")
        uses = dict(found.field_uses)
        if use == "answer":
            uses = {f: ("label" if u == "answer" else u) for f, u in uses.items()}
        uses[field] = use
        updated = found.model_copy(update={"field_uses": uses})
        material = material.model_copy(update={"sources": [updated if s.id == found.id else s
                                                           for s in material.sources]})
        save_material(folder, material)
    return material
