"""The Hugging Face dataset folder: the test split as one parquet file, with the features the card declares.

`datasets.load_dataset(DIR)` reads it through the card's `configs` entry (`data/test-*.parquet`), so the
build folder itself is the dataset repository: push it as it is.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_PATH = "data/test-00000-of-00001.parquet"

# Column -> (arrow type, the `datasets` feature the card declares for it).
_COLUMNS: dict[str, tuple[pa.DataType, dict[str, Any]]] = {
    "id": (pa.string(), {"dtype": "string"}),
    "subtask": (pa.string(), {"dtype": "string"}),
    "answer_format": (pa.string(), {"dtype": "string"}),
    "question": (pa.string(), {"dtype": "string"}),
    "context": (pa.string(), {"dtype": "string"}),
    "choices": (pa.list_(pa.string()), {"list": "string"}),
    "answer": (pa.string(), {"dtype": "string"}),
    "answer_index": (pa.int64(), {"dtype": "int64"}),
    "answer_letter": (pa.string(), {"dtype": "string"}),
    "rationale": (pa.string(), {"dtype": "string"}),
    "metadata": (pa.string(), {"dtype": "string"}),  # JSON: provenance, solution code, tests, entry point
}


def features() -> list[dict[str, Any]]:
    """The card's `dataset_info.features`, in column order."""
    return [{"name": name, **feature} for name, (_, feature) in _COLUMNS.items()]


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The test split as parquet; `metadata` is kept as a JSON string, so every row has the same schema."""
    columns = {name: [_cell(row, name) for row in rows] for name in _COLUMNS}
    table = pa.table({name: pa.array(values, type=_COLUMNS[name][0]) for name, values in columns.items()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _cell(row: dict[str, Any], name: str) -> Any:
    value = row.get(name)
    if name == "metadata":
        return json.dumps(value, ensure_ascii=False)
    if name == "choices":
        return value or []
    return value
