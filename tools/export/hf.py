"""The Hugging Face dataset folder: the test split as one parquet file, with the features the card declares.

`datasets.load_dataset(DIR)` reads it through the card's `configs` entry (`data/test-*.parquet`), so the
build folder itself is the dataset repository: push it as it is. Grounded builds add two columns: `evidence`
(a list of unit, source, anchor, quote) when an item cites material, and `image` (the `datasets` Image
feature: the bytes embedded, so the parquet needs no other file, and the path) when an item shows an image;
`load_dataset` decodes that column to PIL images. A build without them has neither column.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_PATH = "data/test-00000-of-00001.parquet"

Column = tuple[pa.DataType, dict[str, Any]]  # (arrow type, the `datasets` feature the card declares for it)

_EVIDENCE_FIELDS = ("unit", "source", "anchor", "quote")
_EVIDENCE: Column = (pa.list_(pa.struct([(f, pa.string()) for f in _EVIDENCE_FIELDS])),
                     {"list": [{"name": f, "dtype": "string"} for f in _EVIDENCE_FIELDS]})
# The layout `datasets` gives its Image feature in parquet; `dtype: image` in the card makes it decode.
_IMAGE: Column = (pa.struct([("bytes", pa.binary()), ("path", pa.string())]), {"dtype": "image"})


def _columns(rows: list[dict[str, Any]]) -> dict[str, Column]:
    image = any(r.get("image") for r in rows)
    evidence = any(r.get("evidence") for r in rows)
    columns: dict[str, Column] = {
        "id": (pa.string(), {"dtype": "string"}),
        "subtask": (pa.string(), {"dtype": "string"}),
        "answer_format": (pa.string(), {"dtype": "string"}),
        "question": (pa.string(), {"dtype": "string"}),
        "context": (pa.string(), {"dtype": "string"}),
        **({"image": _IMAGE} if image else {}),
        "choices": (pa.list_(pa.string()), {"list": "string"}),
        "answer": (pa.string(), {"dtype": "string"}),
        "answer_index": (pa.int64(), {"dtype": "int64"}),
        "answer_letter": (pa.string(), {"dtype": "string"}),
        "rationale": (pa.string(), {"dtype": "string"}),
        **({"evidence": _EVIDENCE} if evidence else {}),
        "metadata": (pa.string(), {"dtype": "string"}),  # JSON: provenance, solution code, tests, entry point
    }
    return columns


def features(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The card's `dataset_info.features` for these rows, in column order."""
    return [{"name": name, **feature} for name, (_, feature) in _columns(rows).items()]


def parquet_bytes(rows: list[dict[str, Any]], images: dict[str, bytes] | None = None) -> bytes:
    """The test split as parquet; `metadata` is kept as a JSON string, so every row has the same schema.

    `images` maps each row's image path to its bytes (tools.export.images), embedded in the `image` column.
    """
    columns = _columns(rows)
    table = pa.table({name: pa.array([_cell(row, name, images or {}) for row in rows], type=arrow)
                      for name, (arrow, _) in columns.items()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _cell(row: dict[str, Any], name: str, images: dict[str, bytes]) -> Any:
    value = row.get(name)
    if name == "metadata":
        return json.dumps(value, ensure_ascii=False)
    if name in ("choices", "evidence"):
        return value or []
    if name == "image":
        return None if not value else {"bytes": images[value], "path": value}
    return value
