"""What the reader accepts: the supported file types and the limits that guard the machine."""

from __future__ import annotations

from dataclasses import dataclass

from tools.contracts import SourceKind


@dataclass(frozen=True)
class SourceLimits:
    """The limits on the material read at once. The defaults are the product's; settings override them
    (the setting of each is named in the message a user gets when a file goes over it)."""

    max_file_mb: int = 20  # BENCHMARK_AGENT_MAX_UPLOAD_MB
    max_files: int = 5  # BENCHMARK_AGENT_MAX_UPLOADS
    max_pages: int = 500  # BENCHMARK_AGENT_MAX_SOURCE_PAGES (PDF pages; docx, html and md sections)
    max_records: int = 10_000  # BENCHMARK_AGENT_MAX_RECORDS
    chunk_tokens: int = 256
    overlap_tokens: int = 48

    def __post_init__(self) -> None:
        for name in ("max_file_mb", "max_files", "max_pages", "max_records", "chunk_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"SourceLimits.{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.overlap_tokens < self.chunk_tokens:
            raise ValueError(f"SourceLimits.overlap_tokens must be between 0 and chunk_tokens ({self.chunk_tokens}), "
                             f"got {self.overlap_tokens}")


SETTING_MAX_FILE_MB = "BENCHMARK_AGENT_MAX_UPLOAD_MB"
SETTING_MAX_FILES = "BENCHMARK_AGENT_MAX_UPLOADS"
SETTING_MAX_PAGES = "BENCHMARK_AGENT_MAX_SOURCE_PAGES"
SETTING_MAX_RECORDS = "BENCHMARK_AGENT_MAX_RECORDS"


SUPPORTED: dict[str, SourceKind] = {
    ".txt": "document",
    ".md": "document",
    ".html": "document",
    ".htm": "document",
    ".pdf": "document",
    ".docx": "document",
    ".csv": "records",
    ".jsonl": "records",
    ".json": "records",
    ".parquet": "records",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
}


# The media type of each supported suffix (what an upload widget is told to accept).
MEDIA_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".csv": "text/csv",
    ".jsonl": "application/jsonl",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


def supported_list() -> str:
    """The supported suffixes, grouped by kind, for messages: 'documents .txt .md ...; data ...; images ...'."""
    groups = {"document": "documents", "records": "data", "image": "images"}
    return "; ".join(f"{label} {' '.join(s for s, k in SUPPORTED.items() if k == kind)}" for kind, label in groups.items())


class SourceError(Exception):
    """A file that cannot be used; the message names the file, what is wrong and what to do."""
