"""Read-only access to a material folder, for generation and checks: unit texts, records, image paths."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.contracts import Chunk, FieldUse, Material, Record, SourceFile, SourceKind
from tools.errors import InvalidRequest
from tools.sources.folder import OCR_DIR, RECORDS_FILE, load_material

_UNIT = re.compile(r"^(?P<source>.+):(?:(?P<chunk>c\d+)|r(?P<row>\d+)|(?P<image>img))$")
_ID_PREFIX = re.compile(r'^\{"id": "((?:[^"\\]|\\.)*)"')
_USE_WORDS: dict[FieldUse, str] = {"context": "context", "question": "question", "answer": "gold answer",
                                   "label": "label", "ignore": "ignored"}


class MaterialView:
    """The material of one folder, read-only. Construction reads material.json only; records are found in
    records.jsonl when first asked for (an index of line offsets, not the records, is kept)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        material = load_material(folder)
        if material is None:
            raise InvalidRequest(f"No files have been read into {folder}: attach files first.")
        self.material: Material = material
        self._chunks: dict[str, Chunk] = {c.id: c for c in material.chunks}
        self._sources: dict[str, SourceFile] = {s.id: s for s in material.sources}
        self._offsets: dict[str, int] | None = None

    # -- units ----------------------------------------------------------------------------------------

    def units(self, kind: SourceKind | None = None) -> list[str]:
        """Every unit id, in source order (chunks, records or the image of each source)."""
        by_source: dict[str, list[str]] = {}
        for chunk in self.material.chunks:
            by_source.setdefault(chunk.source_id, []).append(chunk.id)
        ids: list[str] = []
        for source in self.material.sources:
            if kind is not None and source.kind != kind:
                continue
            if source.kind == "document":
                ids += by_source.get(source.id, [])
            elif source.kind == "records":
                ids += [f"{source.id}:r{n}" for n in range(1, (source.records or 0) + 1)]
            else:
                ids.append(f"{source.id}:img")
        return ids

    def source_of(self, unit_id: str) -> SourceFile:
        match = _UNIT.match(unit_id)
        if not match or match.group("source") not in self._sources:
            raise KeyError(unit_id)
        return self._sources[match.group("source")]

    def text(self, unit_id: str) -> str:
        """A chunk's text; a record as 'field: value' lines (every field it has); an image's OCR text ('' when
        none). KeyError for an id that is not a unit of this material."""
        if unit_id in self._chunks:
            return self._chunks[unit_id].text
        source = self.source_of(unit_id)
        if source.kind == "records":
            return render_record(self.record(unit_id), source.fields)
        if source.kind == "image" and unit_id.endswith(":img"):
            ocr = self.folder / OCR_DIR / f"{source.id}.txt"
            return ocr.read_text(encoding="utf-8") if ocr.is_file() else ""
        raise KeyError(unit_id)

    def anchor(self, unit_id: str) -> str:
        """Where the unit is in its source: 'page 4', 'section Methods', 'paragraphs 3-9', 'row 17', 'image'."""
        if unit_id in self._chunks:
            return self._chunks[unit_id].anchor
        source = self.source_of(unit_id)
        match = _UNIT.match(unit_id)
        assert match is not None
        if source.kind == "records" and match.group("row") and 1 <= int(match.group("row")) <= (source.records or 0):
            return f"row {int(match.group('row'))}"
        if source.kind == "image" and match.group("image"):
            return "image"
        raise KeyError(unit_id)

    def image_path(self, unit_id: str) -> Path:
        """The stored image file of an '<source id>:img' unit."""
        source = self.source_of(unit_id)
        if source.kind != "image" or not unit_id.endswith(":img"):
            raise KeyError(unit_id)
        return self.folder / source.path

    def chunk(self, unit_id: str) -> Chunk:
        return self._chunks[unit_id]

    # -- records --------------------------------------------------------------------------------------

    def record(self, unit_id: str) -> Record:
        offsets = self._index()
        if unit_id not in offsets:
            raise KeyError(unit_id)
        with (self.folder / RECORDS_FILE).open("rb") as handle:
            handle.seek(offsets[unit_id])
            return Record.model_validate_json(handle.readline())

    def records(self, source_id: str | None = None) -> Iterator[Record]:
        """The records (of one source, when given), in file order, read one line at a time."""
        path = self.folder / RECORDS_FILE
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.endswith("\n") or not line.strip():
                    continue
                data: dict[str, Any] = json.loads(line)
                if data.get("source_id") in self._sources and (source_id is None or data["source_id"] == source_id):
                    yield Record.model_validate(data)

    def _index(self) -> dict[str, int]:
        if self._offsets is None:
            offsets: dict[str, int] = {}
            path = self.folder / RECORDS_FILE
            if path.is_file():
                with path.open("rb") as handle:
                    position = 0
                    for line in handle:
                        if line.endswith(b"\n") and line.strip():
                            offsets[_line_id(line)] = position
                        position += len(line)
            self._offsets = offsets
        return self._offsets

    # -- for people -----------------------------------------------------------------------------------

    def describe(self) -> list[str]:
        """One line per source for the chat and the CLI, with what the user should know about it."""
        by_paragraphs = {c.source_id for c in self.material.chunks if c.anchor.startswith("paragraph")}
        return [describe_source(source, by_paragraphs=source.id in by_paragraphs) for source in self.material.sources]


def _line_id(line: bytes) -> str:
    match = _ID_PREFIX.match(line.decode("utf-8", "replace"))
    return json.loads(f'"{match.group(1)}"') if match else str(json.loads(line)["id"])


def render_record(record: Record, fields: list[str]) -> str:
    ordered = [f for f in fields if f in record.values] + [f for f in record.values if f not in fields]
    return "\n".join(f"{field}: {_value(record.values[field])}" for field in ordered)


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_source(source: SourceFile, *, by_paragraphs: bool = False) -> str:
    """'report.pdf: 12 pages, 40 passages', 'data.csv: 50 records; fields question (question), ...',
    'chart.png: image', each followed by the source's notes."""
    if source.kind == "document":
        unit = "pages" if source.media_type == "application/pdf" else "paragraphs" if by_paragraphs else "sections"
        summary = f"{source.pages or 0:,} {unit}, {source.chunks:,} passages"
    elif source.kind == "records":
        uses = ", ".join(f"{f} ({_USE_WORDS[source.field_uses.get(f, 'ignore')]})" for f in source.fields)
        summary = f"{source.records or 0:,} records; fields {uses}"
    else:
        summary = "image"
    return "; ".join([f"{source.name}: {summary}", *source.notes])
