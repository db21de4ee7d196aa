"""The user's material: files read into units (document chunks, data records, images) that items are grounded in.

A unit id names its source and its place in it: `<source id>:c<n>` for a document chunk, `<source id>:r<n>`
for a record (n = its row, counting from 1), `<source id>:img` for an image. Every grounded item cites the
units it rests on and, for text, the verbatim spans in them (`Evidence`), which a deterministic check
finds again in the unit's text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from tools.contracts.base import Strict

SourceKind = Literal["document", "records", "image"]


# What one field of a data record becomes in an item: the passage shown with the question, material the
# question is written from, the gold answer, a label kept with the item, or nothing.
FieldUse = Literal["context", "question", "answer", "label", "ignore"]


FIELD_USES: tuple[str, ...] = ("context", "question", "answer", "label", "ignore")


class SourceFile(Strict):
    """One file the user gave, as read."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$", description="Stable id: a slug of the name + hash prefix.")
    name: str = Field(min_length=1, description="The file's safe name, as shown to the user.")
    path: str = Field(description="Where the stored copy lies, relative to the material folder.")
    kind: SourceKind
    media_type: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    pages: int | None = Field(default=None, description="Documents: pages (PDF) or sections read.")
    chunks: int = Field(default=0, ge=0)
    records: int | None = Field(default=None, description="Data files: records read (after the record limit).")
    total_records: int | None = Field(default=None, description="Data files: records in the file.")
    fields: list[str] = Field(default_factory=list, description="Data files: the fields found, in file order.")
    field_uses: dict[str, FieldUse] = Field(default_factory=dict, description="Data files: what each field is used for.")
    notes: list[str] = Field(default_factory=list, description="What the user should know: OCR used, pages unread.")


class Chunk(Strict):
    """A passage of a document: token-bounded, overlapping its neighbours, with its page or section."""

    id: str
    source_id: str
    anchor: str = Field(description="Where it is in the source: 'page 4', 'section Methods', 'paragraphs 3-9'.")
    text: str = Field(min_length=1)


class Record(Strict):
    """One row of a data file."""

    id: str
    source_id: str
    row: int = Field(ge=1)
    values: dict[str, Any]


class SourceProblem(Strict):
    """A file that could not be used, and what the user can do about it."""

    name: str
    message: str


class Material(Strict):
    """Everything read from the user's files. Records may be many: they are kept in the material folder's
    records.jsonl and loaded by `tools.sources`, not held here."""

    sources: list[SourceFile] = Field(default_factory=list)
    chunks: list[Chunk] = Field(default_factory=list)
    problems: list[SourceProblem] = Field(default_factory=list)

    def source(self, source_id: str) -> SourceFile:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)

    def of_kind(self, kind: SourceKind) -> list[SourceFile]:
        return [s for s in self.sources if s.kind == kind]

    @property
    def empty(self) -> bool:
        return not self.sources


class Evidence(Strict):
    """What a grounded item rests on: a unit of the material and, for text, the verbatim span quoted from it."""

    unit: str = Field(description="The unit id: a chunk, record or image of the material.")
    source: str = Field(description="The source file's name.")
    anchor: str = Field(description="Page, section, row or 'image'.")
    quote: str | None = Field(default=None, description="The verbatim span; None for an image.")


class EvidenceQuote(Strict):
    """A span copied word for word from one material passage."""

    material: Annotated[str, Field(min_length=1, max_length=60)] = Field(
        description="The id of the material passage the span is copied from, e.g. 'M2'.")
    quote: Annotated[str, Field(min_length=1, max_length=400)] = Field(
        description="The exact words of the passage that the answer rests on, copied without any change.")


class MaterialSelection(Strict):
    """Which material a subtask's items are written from, by unit id, in the order they are used."""

    units: list[str] = Field(default_factory=list)
    multi_hop: bool = Field(default=False, description="Each item cites spans from at least two different chunks.")
