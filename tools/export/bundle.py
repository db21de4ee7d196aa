"""Export: a finished build's accepted samples become the files every harness loads as they are, and one zip.

    benchmark.jsonl, benchmark.csv                 one sample per row (rows.py)
    data/test-00000-of-00001.parquet, README.md    the Hugging Face dataset and its card (hf.py, card.py)
    lm_eval/  inspect/  pydantic_evals/            the harness exports (lm_eval.py, inspect_task.py, ...)
    report.json, quality.json                      what the build and the quality checks found
    images/<sha256>.<ext>                          the images image items show (put there by the build)
    benchmark.zip                                  every file above; manifest.json: each file's checksum

Every file is written atomically and after it is complete; `formats` limits a re-export to some of them.
Every image an item shows is read before anything is written: a missing one fails the export, naming it.
The files of the samples alone (rows and harness files) can be written first (`write_data`), while the judge
still scores the quality; `export_benchmark(..., written=...)` then adds the reports, the card and the zip.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory.files import write_atomic, write_json
from tools.contracts import BuildReport, ExportedFile, ExportManifest, QualityReport, Sample
from tools.errors import InvalidRequest, StageFailed
from tools.export.card import dataset_card
from tools.export.hf import PARQUET_PATH, parquet_bytes
from tools.export.images import item_images
from tools.export.inspect_task import inspect_files
from tools.export.lm_eval import lm_eval_files, task_name
from tools.export.pydantic_evals_dataset import pydantic_evals_files
from tools.export.rows import csv_text, jsonl_text, sample_row

FORMATS: tuple[str, ...] = ("jsonl", "csv", "hf", "lm-eval", "inspect", "pydantic-evals")
ZIP_FILE = "benchmark.zip"
MANIFEST = "manifest.json"
# Harness exports live in their own folder; re-exporting a format replaces its folder's files.
_FOLDERS = {"lm-eval": "lm_eval", "inspect": "inspect", "pydantic-evals": "pydantic_evals"}

Files = dict[str, tuple[str, str | bytes, int | None]]  # path -> (format, content, rows)


@dataclass(frozen=True)
class Written:
    """The files of `samples` alone, already written to a directory (`write_data`)."""

    samples: tuple[Sample, ...]
    formats: tuple[str, ...]
    files: list[ExportedFile]
    images: dict[str, bytes]

    def serves(self, samples: list[Sample], formats: tuple[str, ...]) -> bool:
        """Whether these files are those of exactly `samples` (the same objects, in order) in `formats`."""
        return self.formats == formats and len(self.samples) == len(samples) and all(
            a is b for a, b in zip(self.samples, samples, strict=True))


def write_data(samples: list[Sample], capability: str, directory: Path, *, formats: Iterable[str] = FORMATS) -> Written:
    """Write the files that depend on the samples alone (rows, parquet, harness files) to `directory`: what a
    build can write while the quality is still being scored."""
    chosen = _chosen(formats)
    images = item_images(samples, directory)
    files = _data_files([sample_row(s) for s in samples], task_name(capability), chosen, images)
    return Written(samples=tuple(samples), formats=chosen, images=images,
                   files=[_write(directory, path, kind, content, rows) for path, (kind, content, rows) in files.items()])


def _chosen(formats: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(formats)
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown:
        raise InvalidRequest(f"Unknown export format {', '.join(unknown)}; choose from all, {', '.join(FORMATS)}.")
    return chosen


def export_benchmark(samples: list[Sample], report: BuildReport, directory: Path,
                     quality: QualityReport | None = None, *, formats: Iterable[str] = FORMATS,
                     written: Written | None = None) -> ExportManifest:
    """Write the chosen formats (all by default, with the zip), the card, the reports and manifest.json. The
    data files `written` holds are listed, not written again, when they are these samples' in these formats."""
    chosen = _chosen(formats)
    if not samples:
        # An empty dataset is never written as if it were a result; the report still is, to say why.
        write_json(directory / "report.json", report.model_dump(mode="json"))
        raise StageFailed(f"No sample was accepted, so there is nothing to export; {directory / 'report.json'} lists why.")
    if written is not None and written.serves(samples, chosen):
        images, exported = written.images, list(written.files)
    else:
        images = item_images(samples, directory)
        data = _data_files([sample_row(s) for s in samples], task_name(report.spec.capability), chosen, images)
        exported = [_write(directory, path, kind, content, rows) for path, (kind, content, rows) in data.items()]
    previous = _previous(directory)
    exported += [_write(directory, path, kind, content, rows)
                 for path, (kind, content, rows) in _report_files(samples, report, quality).items()]
    # The images are the build's own files, listed (with their checksums) but not rewritten.
    exported += [_listed(path, data) for path, data in images.items()]
    written_paths = {f.path for f in exported}
    kept = [f for f in previous if f.path not in written_paths and (directory / f.path).exists()
            and f.format not in ("zip", "image")
            and not any(f.path.startswith(_FOLDERS[fmt] + "/") for fmt in chosen if fmt in _FOLDERS)]
    everything = sorted([*kept, *exported], key=lambda f: f.path)
    if set(chosen) == set(FORMATS):
        everything.append(_write(directory, ZIP_FILE, "zip", _zip(directory, [f.path for f in everything]), None))
    manifest = ExportManifest(build_id=report.build_id, directory=str(directory.resolve()), files=everything,
                              created_at=datetime.now(UTC))
    write_json(directory / MANIFEST, manifest.model_dump(mode="json"))
    return manifest


def _report_files(samples: list[Sample], report: BuildReport, quality: QualityReport | None) -> Files:
    files: Files = {
        "report.json": ("report", report.model_dump_json(indent=2) + "\n", None),
        "README.md": ("card", dataset_card(report, samples, quality), None),
    }
    if quality is not None:
        files["quality.json"] = ("report", quality.model_dump_json(indent=2) + "\n", None)
    return files


def _data_files(rows: list[dict[str, Any]], name: str, chosen: tuple[str, ...], images: dict[str, bytes]) -> Files:
    files: Files = {}
    if "jsonl" in chosen:
        files["benchmark.jsonl"] = ("jsonl", jsonl_text(rows), len(rows))
    if "csv" in chosen:
        files["benchmark.csv"] = ("csv", csv_text(rows), len(rows))
    if "hf" in chosen:
        files[PARQUET_PATH] = ("hf", parquet_bytes(rows, images), len(rows))
    harnesses = {"lm-eval": lm_eval_files, "inspect": inspect_files, "pydantic-evals": pydantic_evals_files}
    for fmt, make in harnesses.items():
        if fmt in chosen:
            for path, text in make(rows, name).items():
                counted = text.count("\n") if path.endswith(".jsonl") else None
                files[f"{_FOLDERS[fmt]}/{path}"] = (fmt, text, counted)
    return files


def _write(directory: Path, path: str, kind: str, content: str | bytes, rows: int | None) -> ExportedFile:
    write_atomic(directory / path, content)
    data = content.encode("utf-8") if isinstance(content, str) else content
    return ExportedFile(path=path, format=kind, sha256=hashlib.sha256(data).hexdigest(), rows=rows)  # type: ignore[arg-type]


def _listed(path: str, data: bytes) -> ExportedFile:
    return ExportedFile(path=path, format="image", sha256=hashlib.sha256(data).hexdigest())


def _previous(directory: Path) -> list[ExportedFile]:
    try:
        return ExportManifest.model_validate_json((directory / MANIFEST).read_text(encoding="utf-8")).files
    except (OSError, ValueError):
        return []


def _zip(directory: Path, paths: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(directory / path, arcname=path)
    return buffer.getvalue()

