"""A small material (two document chunks, a data file's records, an image) and grounded items written from it,
for the evidence, closed-book and injection tests. `View` reads what `tools.sources.MaterialView` reads, from
memory: the checks need only text, anchor, image_path and the sources."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tools.qc_fixtures import PROV
from tools.contracts import Evidence, Material, MaterialSelection, Sample, SampleDraft, SourceFile, Subtask
from tools.qc.schema import to_sample

DOC, DATA, PIC = "report-1a2b3c4d", "data-5e6f7a8b", "chart-9c0d1e2f"

CHUNKS = {
    f"{DOC}:c1": ("page 1", "The Lisbon plant opened in 1998.\nIt makes   ceramic tiles for export."),
    f"{DOC}:c2": ("page 2", "In 2021 the plant's kiln line was rebuilt; output rose to 4,200 tonnes a year."),
    f"{DOC}:c3": ("page 2", "output rose to 4,200 tonnes a year. The ﬁnal audit found no defects."),
}
RECORDS = {f"{DATA}:r1": ("row 1", {"question": "Capital of Peru?", "answer": "Lima", "topic": "geography"}),
           f"{DATA}:r2": ("row 2", {"question": "Capital of Chad?", "answer": "N'Djamena", "topic": "geography"})}


def _source(source_id: str, name: str, kind: str, media_type: str) -> SourceFile:
    return SourceFile(id=source_id, name=name, path=f"files/{name}", kind=kind, media_type=media_type,  # type: ignore[arg-type]
                      sha256=hashlib.sha256(name.encode()).hexdigest(), size_bytes=10)


@dataclass
class View:
    """Material held in memory, answering as `tools.sources.MaterialView` does (KeyError for unknown ids)."""

    folder: Path
    chunks: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(CHUNKS))
    records: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=lambda: dict(RECORDS))
    material: Material = field(init=False)

    def __post_init__(self) -> None:
        self.material = Material(sources=[_source(DOC, "report.pdf", "document", "application/pdf"),
                                          _source(DATA, "data.csv", "records", "text/csv"),
                                          _source(PIC, "chart.png", "image", "image/png")])
        (self.folder / "files").mkdir(parents=True, exist_ok=True)
        (self.folder / "files" / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n")

    def text(self, unit_id: str) -> str:
        if unit_id in self.chunks:
            return self.chunks[unit_id][1]
        if unit_id in self.records:
            return "\n".join(f"{k}: {v}" for k, v in self.records[unit_id][1].items())
        raise KeyError(unit_id)

    def anchor(self, unit_id: str) -> str:
        if unit_id == f"{PIC}:img":
            return "image"
        return (self.chunks.get(unit_id) or self.records[unit_id])[0]

    def image_path(self, unit_id: str) -> Path:
        if unit_id != f"{PIC}:img":
            raise KeyError(unit_id)
        return self.folder / "files" / "chart.png"


def cite(unit: str, quote: str | None) -> Evidence:
    source = {DOC: "report.pdf", DATA: "data.csv", PIC: "chart.png"}.get(unit.rsplit(":", 1)[0], "unknown")
    anchor = (CHUNKS.get(unit) or RECORDS.get(unit) or ("image",))[0]
    return Evidence(unit=unit, source=source, anchor=anchor, quote=quote)


GROUNDED = Subtask(id="plant", name="Plant facts", description="Facts from the plant report.", answer_format="short_answer",
                   quota=5, material=MaterialSelection(units=list(CHUNKS)))
MULTI_HOP = GROUNDED.model_copy(update={"id": "hops", "material": MaterialSelection(units=list(CHUNKS), multi_hop=True)})
PLAIN = Subtask(id="plain", name="Plain", description="No material.", answer_format="short_answer", quota=5)
PICTURES = Subtask(id="pics", name="Charts", description="Read the chart.", answer_format="multiple_choice", quota=5,
                   material=MaterialSelection(units=[f"{PIC}:img"]))


def grounded_item(subtask: Subtask = GROUNDED, *, evidence: list[Evidence] | None = None, context: str | None = None,
                  **draft: Any) -> Sample:
    fields: dict[str, Any] = {"question": "In which year did the Lisbon plant open?", "answer": "1998",
                              "rationale": "The report says so.", **draft}
    sample = to_sample(SampleDraft(**fields), subtask, PROV)
    chunk = CHUNKS[f"{DOC}:c1"][1]
    cited = [cite(f"{DOC}:c1", "The Lisbon plant opened in 1998.")] if evidence is None else evidence
    return sample.model_copy(update={"evidence": cited, "context": chunk if context is None else context})


def image_item(*, evidence: list[Evidence] | None = None) -> Sample:
    sample = to_sample(SampleDraft(question="Which month has the tallest bar in the chart?",
                                   choices=["March", "May", "July", "October"], answer="July"), PICTURES, PROV)
    cited = [cite(f"{PIC}:img", None)] if evidence is None else evidence
    return sample.model_copy(update={"evidence": cited, "image": "images/" + "ab" * 32 + ".png"})
