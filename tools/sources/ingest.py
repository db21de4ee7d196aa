"""Reading the user's files into the material folder: each file checked, copied under a safe name, read
(documents chunked, records streamed to records.jsonl, images verified) and recorded in material.json."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tools.contracts import Chunk, Material, SourceFile, SourceProblem
from tools.sources.chunking import Section, chunk_sections
from tools.sources.documents import read_docx, read_html, read_markdown, read_txt
from tools.sources.fields import propose_field_uses
from tools.sources.folder import (
    FILES_DIR,
    OCR_DIR,
    append_records,
    load_material,
    locked,
    save_material,
)
from tools.sources.images import read_image
from tools.sources.limits import (
    MEDIA_TYPES,
    SETTING_MAX_FILE_MB,
    SETTING_MAX_FILES,
    SETTING_MAX_PAGES,
    SETTING_MAX_RECORDS,
    SUPPORTED,
    SourceError,
    SourceLimits,
    supported_list,
)
from tools.sources.names import display_name, safe_name, source_id, suffix_of
from tools.sources.pdf import read_pdf
from tools.sources.records import iter_rows, known_total

Progress = Callable[[str], None]
_SAMPLE_ROWS = 500  # rows the field uses are proposed from
_RECORD_PROGRESS = 10_000
DEFAULT_LIMITS = SourceLimits()


def ingest(files: Sequence[tuple[str, Path]], folder: Path, limits: SourceLimits = DEFAULT_LIMITS, *,
           on_progress: Progress | None = None) -> Material:
    """Read `files` ((name as the user gave it, path of the file)) into the material already in `folder` and
    return all of it. A file that cannot be used becomes one SourceProblem saying why and what to do; the
    rest are kept. The same content given twice is read once."""
    progress = on_progress or (lambda _line: None)
    with locked(folder):
        material = load_material(folder) or Material()
        problems: list[SourceProblem] = []
        read_names: set[str] = set()
        for index, (given, path) in enumerate(files):
            name = display_name(given)
            if index >= limits.max_files:
                problems.append(SourceProblem(name=name, message=(
                    f"{name} was not read: at most {limits.max_files} files are read at a time "
                    f"({SETTING_MAX_FILES}). Attach it again on its own, or raise the limit.")))
                continue
            try:
                added = _read_one(name, Path(path), folder, limits, material, progress)
            except SourceError as exc:
                problems.append(SourceProblem(name=name, message=str(exc)))
                continue
            except Exception as exc:  # a reader library failing in a way we did not foresee: still the file's fault
                problems.append(SourceProblem(name=name, message=(
                    f"{name} could not be read ({type(exc).__name__}: {exc}). Check that it opens in its usual "
                    "program, save it again and attach it.")))
                continue
            read_names.add(name)
            if added is not None:
                source, chunks = added
                read_names.add(source.name)
                material = material.model_copy(update={"sources": [*material.sources, source],
                                                       "chunks": [*material.chunks, *chunks]})
                save_material(folder, material)
        replaced = read_names | {problem.name for problem in problems}
        kept = [p for p in material.problems if p.name not in replaced]
        material = material.model_copy(update={"problems": kept + problems})
        save_material(folder, material)
    return material


def _read_one(name: str, path: Path, folder: Path, limits: SourceLimits, material: Material,
              progress: Progress) -> tuple[SourceFile, list[Chunk]] | None:
    suffix = suffix_of(name) or path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SourceError(f"{name} is not a supported type ({suffix or 'no extension'}); the supported types are "
                          f"{supported_list()}.")
    if not path.is_file():
        raise SourceError(f"{name} was not found ({path}): attach it again.")
    size = path.stat().st_size
    if size == 0:
        raise SourceError(f"{name} is empty: attach a file with content.")
    if size > limits.max_file_mb * 1024 * 1024:
        raise SourceError(f"{name} is {size / 1024 / 1024:.1f} MB, over the {limits.max_file_mb} MB limit "
                          f"({SETTING_MAX_FILE_MB}): split it into smaller files, or raise the limit.")
    digest = _sha256(path)
    for known in material.sources:
        if known.sha256 == digest:
            progress(f"{name}: already read (as {known.name})")
            return None
    files = folder / FILES_DIR
    files.mkdir(parents=True, exist_ok=True)
    stored = safe_name(name, {s.name for s in material.sources} | {p.name for p in files.iterdir()})
    target = files / stored
    shutil.copyfile(path, target)
    base = SourceFile(id=source_id(stored, digest), name=stored, path=f"{FILES_DIR}/{stored}", kind=SUPPORTED[suffix],
                      media_type=MEDIA_TYPES[suffix], sha256=digest, size_bytes=size)
    try:  # the readers' messages name the file as the user gave it, not as it is stored
        if base.kind == "document":
            return _document(base, target, suffix, limits, progress, name)
        if base.kind == "records":
            return _records(base, target, suffix, folder, limits, progress, name), []
        return _image(base, target, suffix, folder, name), []
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _document(source: SourceFile, path: Path, suffix: str, limits: SourceLimits,
              progress: Progress, name: str) -> tuple[SourceFile, list[Chunk]]:
    notes: list[str] = []
    if suffix == ".pdf":
        sections, pages, notes = read_pdf(path, name, limits.max_pages, progress)
    else:
        reader = {".txt": read_txt, ".md": read_markdown, ".html": read_html, ".htm": read_html,
                  ".docx": read_docx}[suffix]
        sections, notes = reader(path, name)
        sections, pages = _section_limit(sections, name, limits.max_pages, notes)
    chunks = [Chunk(id=f"{source.id}:c{n}", source_id=source.id, anchor=anchor, text=text)
              for n, (anchor, text) in enumerate(chunk_sections(sections, limits.chunk_tokens, limits.overlap_tokens),
                                                 start=1)]
    if not chunks:
        why = "; ".join(notes) if notes else "it has no text"
        raise SourceError(f"Nothing could be read from {name}: {why}.")
    progress(f"{name}: {len(chunks):,} passages")
    return source.model_copy(update={"pages": pages, "chunks": len(chunks), "notes": notes}), chunks


def _section_limit(sections: list[Section], name: str, max_pages: int, notes: list[str]) -> tuple[list[Section], int]:
    if len(sections) == 1 and sections[0].paragraph_starts is not None:
        return sections, len(sections[0].paragraph_starts)  # a document without headings: its paragraphs
    if len(sections) > max_pages:
        notes.append(f"{name} has {len(sections):,} sections; the first {max_pages:,} were read "
                     f"(set {SETTING_MAX_PAGES} to read more)")
        sections = sections[:max_pages]
    return sections, len(sections)


def _records(source: SourceFile, path: Path, suffix: str, folder: Path, limits: SourceLimits,
             progress: Progress, name: str) -> SourceFile:
    notes: list[str] = []
    total = known_total(path, name, suffix)
    staged = folder / f".records-{source.id}.tmp"
    fields: dict[str, None] = {}
    sample: list[dict[str, Any]] = []
    count = seen = 0
    try:
        with staged.open("w", encoding="utf-8") as out:
            for row in _limited(iter_rows(path, name, suffix, notes), limits.max_records, total):
                seen += 1
                if count >= limits.max_records:
                    continue  # counted, not kept
                count += 1
                fields.update(dict.fromkeys(row))
                if len(sample) < _SAMPLE_ROWS:
                    sample.append(row)
                out.write(json.dumps({"id": f"{source.id}:r{count}", "source_id": source.id, "row": count,
                                      "values": row}, ensure_ascii=False) + "\n")
                if count % _RECORD_PROGRESS == 0:
                    progress(f"{name}: {count:,} records")
        if count == 0:
            raise SourceError(f"{name} has no records: it needs a header (or keys) and at least one row of values.")
        append_records(folder, staged)
    finally:
        staged.unlink(missing_ok=True)
    total = total if total is not None else seen
    if total > count:
        notes.append(f"{name} has {total:,} records; the first {count:,} were read "
                     f"(set {SETTING_MAX_RECORDS} to read more)")
    progress(f"{name}: {count:,} records")
    uses = propose_field_uses(list(fields), sample)
    return source.model_copy(update={"records": count, "total_records": total, "fields": list(fields),
                                     "field_uses": uses, "notes": notes})


def _limited(rows: Iterator[dict[str, Any]], limit: int, total: int | None) -> Iterator[dict[str, Any]]:
    """The rows; past the limit, only when the total is unknown (so they can be counted)."""
    for n, row in enumerate(rows, start=1):
        if n > limit and total is not None:
            return
        yield row


def _image(source: SourceFile, path: Path, suffix: str, folder: Path, name: str) -> SourceFile:
    info = read_image(path, name, suffix)
    if info.ocr_text:
        ocr = folder / OCR_DIR
        ocr.mkdir(parents=True, exist_ok=True)
        (ocr / f"{source.id}.txt").write_text(info.ocr_text, encoding="utf-8")
    return source.model_copy(update={"media_type": info.media_type, "pages": None, "notes": info.notes})
