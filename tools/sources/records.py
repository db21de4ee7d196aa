"""Data files streamed as records: CSV (delimiter sniffed), JSON lines, JSON (a list of objects, or an object
holding one such list) and Parquet (read in batches). Values become JSON scalars; nested objects are
flattened to dotted field names and lists kept as JSON text."""

from __future__ import annotations

import csv
import datetime
import decimal
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.sources.limits import SourceError
from tools.sources.text import detect_encoding

Row = dict[str, Any]
_SNIFF_CHARS = 64 * 1024
_BAD_LINES_SHOWN = 5
_LIST_KEYS = ("data", "rows", "records", "examples", "items", "samples", "instances", "entries", "results")


def scalar(value: Any) -> Any:
    """A JSON scalar for any value a data file holds."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value)):,} bytes>"
    if isinstance(value, (list, tuple)):
        return json.dumps([_plain(v) for v in value], ensure_ascii=False)
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    result = scalar(value)
    return result


def flatten(row: dict[Any, Any], prefix: str = "") -> Row:
    flat: Row = {}
    for key, value in row.items():
        name = f"{prefix}{key}" if key is not None and str(key) != "" else f"{prefix}field"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = scalar(value)
    return flat


def iter_rows(path: Path, name: str, suffix: str, notes: list[str]) -> Iterator[Row]:
    """The file's records, one at a time; notes about skipped lines are added to `notes` when done."""
    if suffix == ".csv":
        return _csv_rows(path, name, notes)
    if suffix == ".jsonl":
        return _jsonl_rows(path, name, notes)
    if suffix == ".json":
        return _json_rows(path, name)
    if suffix == ".parquet":
        return _parquet_rows(path, name)
    raise SourceError(f"{name}: {suffix} is not a data file type")


def known_total(path: Path, name: str, suffix: str) -> int | None:
    """The number of records, where the file says so without reading it all (Parquet)."""
    if suffix != ".parquet":
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(str(path)) as parquet:
            return int(parquet.metadata.num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{name} is not a readable Parquet file ({exc}).") from exc


def _header(names: list[str]) -> list[str]:
    fields: list[str] = []
    for number, raw in enumerate(names, start=1):
        field = (raw or "").strip() or f"column {number}"
        base, copy = field, 2
        while field in fields:
            field, copy = f"{base} ({copy})", copy + 1
        fields.append(field)
    return fields


def _csv_rows(path: Path, name: str, notes: list[str]) -> Iterator[Row]:
    encoding, encoding_notes = detect_encoding(path, name, "a CSV file")
    notes += encoding_notes
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # long text cells are normal in datasets
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(_SNIFF_CHARS)
        handle.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(handle, dialect)
        try:
            fields = _header(next(reader))
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError(f"{name} is not a readable CSV file ({exc}).") from exc
        long_rows: list[int] = []
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(fields):
                long_rows.append(number)
            values: Row = dict(zip(fields, cells, strict=False))
            for field in fields[len(cells):]:
                values[field] = None
            yield values
        if long_rows:
            shown = ", ".join(str(n) for n in long_rows[:_BAD_LINES_SHOWN])
            notes.append(f"{len(long_rows):,} rows of {name} have more values than its header (rows {shown}"
                         f"{', ...' if len(long_rows) > _BAD_LINES_SHOWN else ''}): the extra values were left out")


def _jsonl_rows(path: Path, name: str, notes: list[str]) -> Iterator[Row]:
    encoding, encoding_notes = detect_encoding(path, name, "a JSON lines file")
    notes += encoding_notes
    bad: list[int] = []
    good = 0
    with path.open(encoding=encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = None
            if not isinstance(value, dict):
                bad.append(number)
                if not good and len(bad) >= 10:
                    break
                continue
            good += 1
            yield flatten(value)
    if bad and not good:
        raise SourceError(f"{name} is not JSON lines: line {bad[0]} is not a JSON object. Each line must be "
                          'one object, like {"question": "...", "answer": "..."}.')
    if bad:
        shown = ", ".join(str(n) for n in bad[:_BAD_LINES_SHOWN])
        notes.append(f"{len(bad):,} lines of {name} are not JSON objects and were skipped (lines {shown}"
                     f"{', ...' if len(bad) > _BAD_LINES_SHOWN else ''})")


def _json_rows(path: Path, name: str) -> Iterator[Row]:
    encoding, _ = detect_encoding(path, name, "a JSON file")
    try:
        with path.open(encoding=encoding) as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from exc
    rows = _record_list(data, name)
    for row in rows:
        yield flatten(row)


def _record_list(data: Any, name: str) -> list[dict[str, Any]]:
    expected = ('It should be a list of objects, like [{"question": "...", "answer": "..."}], or an object '
                'holding one such list, like {"data": [...]}.')
    if isinstance(data, list):
        if data and all(isinstance(item, dict) for item in data):
            return data
        raise SourceError(f"{name} is a JSON list but not of objects. {expected}")
    if not isinstance(data, dict):
        raise SourceError(f"{name} holds a single JSON value. {expected}")
    lists = {k: v for k, v in data.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
    if len(lists) == 1:
        return next(iter(lists.values()))
    for key in _LIST_KEYS:
        if key in lists:
            return lists[key]
    if lists:
        raise SourceError(f"{name} holds several lists of objects ({', '.join(lists)}): keep the one with the "
                          "records and attach it again.")
    if data and all(isinstance(v, dict) for v in data.values()):
        return [{"key": key, **value} for key, value in data.items()]
    raise SourceError(f"{name} has no list of records. {expected}")


def _parquet_rows(path: Path, name: str) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(str(path)) as parquet:
            for batch in parquet.iter_batches(batch_size=1000):
                for row in batch.to_pylist():
                    yield flatten(row)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{name} is not a readable Parquet file ({exc}).") from exc
