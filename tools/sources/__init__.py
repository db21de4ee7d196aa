"""Reading the user's material: documents (.txt .md .html .pdf .docx), data records (.csv .jsonl .json
.parquet) and images (.png .jpg .webp) turned into a `tools.contracts.Material` in a material folder.

Owns: the supported types and limits, safe names and source ids, the readers (PDF with OCR for pages
without a text layer), token-bounded chunking with verbatim chunk text, record streaming, the proposed
use of each data field, and `MaterialView`, the read-only access that generation and checks use. It
imports `tools.contracts`, `tools.errors` and `memory` (atomic file writes) only; the vector index of
a material's chunks is `memory.material.MaterialIndex`.
"""

from __future__ import annotations

from tools.sources.fields import propose_field_uses
from tools.sources.folder import load_material, set_field_use
from tools.sources.ingest import ingest
from tools.sources.limits import MEDIA_TYPES, SUPPORTED, SourceLimits, supported_list
from tools.sources.names import expand_paths
from tools.sources.view import MaterialView, describe_source, render_record

__all__ = [
    "MEDIA_TYPES", "SUPPORTED", "MaterialView", "SourceLimits", "describe_source", "expand_paths", "ingest",
    "load_material", "propose_field_uses", "render_record", "set_field_use", "supported_list",
]
