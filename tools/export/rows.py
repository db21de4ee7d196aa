"""One row per sample, and the plain formats built from it: JSONL and CSV.

Every other export (Hugging Face, lm-evaluation-harness, Inspect, pydantic_evals) starts from `sample_row`,
and `samples_from_rows` reads a build's benchmark.jsonl back, so a finished build can be exported again.
A grounded row keeps its `evidence` (unit, source file, anchor, verbatim quote) and its `image`: a path relative
to the file that holds the row (`images/<sha256>.png` at the build folder's top, `../images/...` one folder down).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tools.contracts import Evidence, Provenance, Sample
from tools.errors import InvalidRequest

# Every field a consumer needs, flat; what has no column of its own stays in `metadata` (JSON).
# Grounded items: `image` is the image's path relative to the CSV file, `sources` names each cited place
# ("file: anchor; ..."), `evidence` is the full list (JSON), quotes included.
CSV_COLUMNS = [
    "id", "subtask", "answer_format", "question", "context", "image", "choices", "answer", "answer_index",
    "answer_letter", "rationale", "sources", "evidence", "entry_point", "tests", "solution_code", "generator_model",
    "judge_model", "metadata",
]


def sample_row(sample: Sample) -> dict[str, Any]:
    """One benchmark row: flat fields an eval harness reads, provenance kept under metadata."""
    return {
        "id": sample.id,
        "subtask": sample.subtask_id,
        "answer_format": sample.answer_format,
        "question": sample.question,
        "context": sample.context,
        "choices": sample.choices,
        "answer": sample.answer,
        "answer_index": sample.answer_index,
        "answer_letter": sample.answer_letter,
        "rationale": sample.rationale,
        "evidence": [e.model_dump(mode="json") for e in sample.evidence],
        "image": sample.image,
        "metadata": {"provenance": sample.provenance.model_dump(mode="json"), **sample.metadata},
    }


def is_code(row: dict[str, Any]) -> bool:
    return row["metadata"].get("kind") == "code"


def from_folder(row: dict[str, Any], folder: str) -> dict[str, Any]:
    """The row as a file one folder below the build's reads it: its image path made relative to that folder."""
    if not row.get("image"):
        return row
    return {**row, "image": "../" * len(Path(folder).parts) + row["image"]}


def sources_text(evidence: list[dict[str, Any]]) -> str:
    """Where an item's evidence comes from, for one CSV cell: 'report.pdf: page 4; prices.csv: row 17'."""
    places = [f"{e['source']}: {e['anchor']}" for e in evidence]
    return "; ".join(dict.fromkeys(places))


def jsonl_text(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        metadata = dict(row["metadata"])
        provenance = metadata.pop("provenance")
        flat = {key: row[key] for key in CSV_COLUMNS if key in row}
        flat["choices"] = json.dumps(row["choices"], ensure_ascii=False) if row["choices"] else ""
        evidence = row.get("evidence") or []
        flat.update(image=row.get("image") or "", sources=sources_text(evidence),
                    evidence=json.dumps(evidence, ensure_ascii=False) if evidence else "")
        for key in ("entry_point", "tests", "solution_code"):
            flat[key] = metadata.pop(key, "")
        metadata.pop("kind", None)
        flat.update(generator_model=provenance["generator_model"], judge_model=provenance.get("judge_model") or "",
                    metadata=json.dumps(metadata, ensure_ascii=False) if metadata else "")
        writer.writerow(flat)
    return buffer.getvalue()


def samples_from_rows(text: str, *, source: str) -> list[Sample]:
    """The samples of a benchmark.jsonl this tool wrote; a row it cannot read names its line."""
    samples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            metadata = dict(row["metadata"])
            provenance = Provenance.model_validate(metadata.pop("provenance"))
            samples.append(Sample(
                id=row["id"], subtask_id=row["subtask"], answer_format=row["answer_format"], question=row["question"],
                context=row.get("context"), choices=row.get("choices"), answer=row["answer"],
                answer_index=row.get("answer_index"), rationale=row.get("rationale", ""),
                evidence=[Evidence.model_validate(e) for e in row.get("evidence") or []], image=row.get("image"),
                provenance=provenance, metadata=metadata,
            ))
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise InvalidRequest(f"{source} line {number} is not a benchmark row written by this tool ({exc}); "
                                 "re-export reads the benchmark.jsonl of a finished build.") from exc
    return samples
