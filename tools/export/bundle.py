"""Stage 5: export. Accepted samples become files a researcher and an eval harness can use directly."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory.files import write_atomic, write_json
from tools.contracts import BuildReport, ExportedFile, ExportManifest, QualityReport, Sample
from tools.errors import StageFailed
from tools.export.card import dataset_card

CSV_COLUMNS = [
    "id", "subtask", "answer_format", "question", "context", "choices", "answer", "answer_index",
    "answer_letter", "rationale", "generator_model", "judge_model",
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
        "metadata": {"provenance": sample.provenance.model_dump(mode="json"), **sample.metadata},
    }


def _jsonl(samples: list[Sample]) -> str:
    return "".join(json.dumps(sample_row(s), ensure_ascii=False) + "\n" for s in samples)


def _csv(samples: list[Sample]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for sample in samples:
        row = sample_row(sample)
        provenance = row.pop("metadata")["provenance"]
        row["choices"] = json.dumps(row["choices"], ensure_ascii=False) if row["choices"] else ""
        writer.writerow({**row, "generator_model": provenance["generator_model"], "judge_model": provenance["judge_model"]})
    return buffer.getvalue()


def export_benchmark(samples: list[Sample], report: BuildReport, directory: Path,
                     quality: QualityReport | None = None) -> ExportManifest:
    """Write benchmark.jsonl, benchmark.csv, report.json, README.md (and quality.json) and manifest.json into `directory`."""
    if not samples:
        # An empty dataset is never written as if it were a result; the report still is, to say why.
        write_json(directory / "report.json", report.model_dump(mode="json"))
        raise StageFailed(f"No sample was accepted, so there is nothing to export; {directory / 'report.json'} lists why.")
    files = {
        "benchmark.jsonl": ("jsonl", _jsonl(samples), len(samples)),
        "benchmark.csv": ("csv", _csv(samples), len(samples)),
        "report.json": ("report", report.model_dump_json(indent=2) + "\n", None),
        "README.md": ("card", dataset_card(report, samples, quality), None),
    }
    if quality is not None:
        files["quality.json"] = ("report", quality.model_dump_json(indent=2) + "\n", None)
    exported = []
    for name, (kind, text, rows) in files.items():
        write_atomic(directory / name, text)
        exported.append(ExportedFile(path=name, format=kind, sha256=hashlib.sha256(text.encode()).hexdigest(), rows=rows))  # type: ignore[arg-type]
    manifest = ExportManifest(build_id=report.build_id, directory=str(directory.resolve()), files=exported,
                              created_at=datetime.now(UTC))
    write_json(directory / "manifest.json", manifest.model_dump(mode="json"))
    return manifest
