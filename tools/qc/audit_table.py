"""Reading a benchmark file someone else wrote: its rows (JSONL, JSON, CSV, Parquet) and which column is which field.

The mapping is inferred from column names first (`question`, `prompt`, `input`; `answer`, `target`, `label`;
`choices`, `options` or one column per option such as A/B/C/D or option_a...), then checked against the values
(a question column holds text, a choices column lists, a solution column code). `--fields question=q,answer=a`
overrides any of it; `answer_as=letter|index|index1|text` says how a multiple-choice answer names its option.
Nested objects are read one level deep (`metadata.tests`), so this tool's own benchmark.jsonl reads back too.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from tools.contracts.audit import MAPPED_FIELDS, AnswerAs, FieldMapping
from tools.errors import InvalidRequest

TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")
Row = dict[str, Any]

# Column names per field, most specific first; compared after lower-casing and turning separators into "_".
NAMES: dict[str, tuple[str, ...]] = {
    "question": ("question", "prompt", "input", "query", "problem", "instruction", "stem", "question_text", "text",
                 "sentence", "goal"),
    "answer": ("answer", "answers", "target", "targets", "label", "gold", "gold_answer", "correct_answer", "correct",
               "answer_key", "answerkey", "answer_idx", "answer_index", "correct_option", "cop", "expected",
               "expected_output", "ground_truth", "final_answer", "output", "reference"),
    "choices": ("choices", "options", "candidates", "endings", "answer_choices", "mc_options", "alternatives"),
    "context": ("context", "passage", "paragraph", "document", "article", "story", "support", "background", "table"),
    "solution_code": ("solution_code", "canonical_solution", "reference_solution", "solution", "program", "code"),
    "tests": ("tests", "test", "test_list", "test_cases", "unit_tests", "assertions"),
    "entry_point": ("entry_point", "function_name", "func_name", "entrypoint"),
    "rationale": ("rationale", "explanation", "reasoning", "solution", "worked_solution"),
    "id": ("id", "task_id", "qid", "uid", "question_id", "example_id", "idx", "_id"),
    "subtask": ("subtask", "subject", "category", "topic", "domain", "task_type"),
}
# One column per option: A, B, C, D; option_a, choice1, ending0, opa, sol1 ...
_OPTION_COLUMN = re.compile(r"^(option|choice|opt|op|ending|sol|candidate|answer)?_?([a-j]|[0-9])$")
_LETTER = re.compile(r"^\(?([A-Ja-j])\)?[.):]?$")
_CODE = re.compile(r"^\s*(def |import |from \w+ import |print\()|\bprint\(|\breturn\b", re.MULTILINE)


def key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")


# -- reading --------------------------------------------------------------------------------------

def read_table(path: Path) -> list[tuple[int, Row | None]]:
    """The file's rows with their numbers (the line, for JSONL); None for a row that could not be read, whose
    reason is in `unreadable`. Raises `InvalidRequest` for a file that is missing, not a table, or holds no rows."""
    if not path.is_file():
        raise InvalidRequest(f"No such file: {path}. Give the path of a .jsonl, .csv or .parquet benchmark file.")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidRequest(f"{path.name} is not a table this tool reads: give a .jsonl, .json, .csv, .tsv or .parquet file.")
    if suffix == ".parquet":
        rows = _parquet(path)
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidRequest(f"{path.name} is not UTF-8 text (byte {exc.start}): save it as UTF-8, or as Parquet.") from exc
        if not text.strip():
            raise InvalidRequest(f"{path.name} holds no rows.")
        rows = _csv(text, "\t" if suffix == ".tsv" else ",") if suffix in (".csv", ".tsv") else \
            _json(text) if suffix == ".json" else _jsonl(text)
    if not rows:
        raise InvalidRequest(f"{path.name} holds no rows.")
    if not any(row is not None for _, row in rows):
        number, _ = rows[0]
        raise InvalidRequest(f"{path.name} is not a table: no row is an object with named fields "
                             f"(row {number}: {unreadable(rows)[0][1]}).")
    return [(n, _flat(row) if row is not None else None) for n, row in rows]


def unreadable(rows: list[tuple[int, Row | None]]) -> list[tuple[int, str]]:
    return [(n, "not a JSON object with named fields (each row must be one {...} object)") for n, row in rows if row is None]


def _jsonl(text: str) -> list[tuple[int, Row | None]]:
    rows: list[tuple[int, Row | None]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        rows.append((number, row if isinstance(row, dict) else None))
    return rows


def _json(text: str) -> list[tuple[int, Row | None]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{"):
            return _jsonl(text)  # JSON lines saved as .json
        raise InvalidRequest(f"not JSON ({exc.msg} at line {exc.lineno}); give a list of objects or JSON lines") from exc
    if isinstance(data, dict):  # {"data": [...]} or {"train": [...]}: the one list of objects in it
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        raise InvalidRequest("a .json benchmark must be a list of objects (one per item)")
    return [(n, row if isinstance(row, dict) else None) for n, row in enumerate(data, 1)]


def _csv(text: str, delimiter: str) -> list[tuple[int, Row | None]]:
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    if not reader.fieldnames or len([f for f in reader.fieldnames if f]) < 2:
        raise InvalidRequest("the file has no header row with at least two named columns; the first line must name them")
    return [(n, {k: _cell(v) for k, v in row.items() if k}) for n, row in enumerate(reader, 1)]


def _cell(value: str | None) -> Any:
    """A CSV cell; a JSON list or object written in a cell (choices, tests) is read as one."""
    text = (value or "").strip()
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def _parquet(path: Path) -> list[tuple[int, Row | None]]:
    import pyarrow.parquet as pq  # only for Parquet files

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged or foreign file
        raise InvalidRequest(f"{path.name} is not a readable Parquet file ({str(exc)[:120]})") from exc
    return list(enumerate(table.to_pylist(), 1))


def _flat(row: Row) -> Row:
    """Nested objects one level deep as `parent.child` columns; the object itself is kept too."""
    flat = dict(row)
    for name, value in row.items():
        if isinstance(value, dict):
            for child, inner in value.items():
                flat.setdefault(f"{name}.{child}", inner)
    return flat


# -- the mapping ------------------------------------------------------------------------------------

def parse_fields(text: str | None) -> dict[str, str]:
    """`question=q,answer=a,choices=opts` (choices may list several columns: `choices=A|B|C|D`)."""
    fields: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise InvalidRequest(f"--fields: {part.strip()!r} is not field=column (e.g. question=prompt,answer=target)")
        if name not in (*MAPPED_FIELDS, "answer_as"):
            raise InvalidRequest(f"--fields: unknown field {name!r}; known: {', '.join((*MAPPED_FIELDS, 'answer_as'))}")
        fields[name] = column
    if "answer_as" in fields and fields["answer_as"] not in ("text", "letter", "index", "index1"):
        raise InvalidRequest(f"--fields: answer_as must be text, letter, index (0-based) or index1, not {fields['answer_as']!r}")
    return fields


def infer_mapping(rows: list[Row], overrides: dict[str, str] | None = None) -> FieldMapping:
    """Which column is which field; `InvalidRequest` when no column can be the question."""
    overrides = dict(overrides or {})
    columns = _columns(rows)
    for name, column in overrides.items():
        for wanted in column.split("|") if name == "choices" else [column]:
            if name != "answer_as" and wanted not in columns:
                raise InvalidRequest(f"--fields {name}={wanted}: the file has no column {wanted!r}; "
                                     f"its columns are {', '.join(columns[:30])}")
    found: dict[str, Any] = {}
    how: dict[str, str] = {}
    taken: set[str] = set()
    for name in ("question", "choices", "answer", "tests", "entry_point", "solution_code", "context", "rationale", "id",
                 "subtask"):
        if name in overrides:
            found[name] = overrides[name].split("|") if name == "choices" else overrides[name]
            how[name] = "--fields"
        else:
            pick: str | list[str] | None = None
            if name == "choices":
                pick = _option_columns(columns, taken) or ([c] if (c := _list_column(rows, columns, taken)) else None)
            else:
                pick = _named(rows, columns, name, taken)
            if not pick:
                continue
            found[name], how[name] = pick, _why(name, pick)
        taken.update(found[name] if isinstance(found[name], list) else [found[name]])
    if "question" not in found:
        raise InvalidRequest(f"no column holds the questions (looked for {', '.join(NAMES['question'][:6])}...; the file "
                             f"has {', '.join(columns[:30])}). Name it with --fields question=COLUMN.")
    mapping = FieldMapping(question=found["question"], choices=found.get("choices", []), how=how,
                           **{k: found.get(k) for k in ("answer", "context", "solution_code", "tests", "entry_point",
                                                        "rationale", "id", "subtask")})
    if mapping.choices:
        answer_as = overrides.get("answer_as") or _answer_as(rows, mapping)
        mapping.answer_as = answer_as  # type: ignore[assignment]
        mapping.how["answer_as"] = "--fields" if "answer_as" in overrides else "from the answers' values"
    return mapping


def _columns(rows: list[Row]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows[:200]:
        for column in row:
            seen.setdefault(column, None)
    return list(seen)


def _why(name: str, pick: str | list[str]) -> str:
    if isinstance(pick, list) and len(pick) > 1:
        return f"one column per option ({', '.join(pick)})"
    if isinstance(pick, list):
        return f"column named {pick[0]!r}, holding a list per row"
    return f"column named {pick!r}" if key(pick.rpartition(".")[2]) in NAMES.get(name, ()) else f"values of {pick!r}"


def _filled(rows: list[Row], column: str) -> list[Any]:
    return [row[column] for row in rows[:200] if row.get(column) not in (None, "", [])]


def _named(rows: list[Row], columns: list[str], name: str, taken: set[str]) -> str | None:
    """The first column whose name (or last dotted part) is one of `name`'s, and whose values fit it."""
    for wanted in NAMES[name]:
        for column in columns:
            if column in taken or column.partition(".")[0] in taken or key(column.rpartition(".")[2]) != wanted:
                continue  # a part of a field already read (choices.label) is not another field
            values = _filled(rows, column)
            if values and _fits(name, values):
                return column
    return None


def _fits(name: str, values: list[Any]) -> bool:
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    if name in ("question", "context", "rationale", "entry_point"):
        return len(texts) >= len(values) / 2
    if name == "solution_code":
        return sum(bool(_CODE.search(t)) for t in texts) >= len(values) / 2
    if name == "tests":
        joined = [t if isinstance(t, str) else "\n".join(map(str, t)) if isinstance(t, list) else "" for t in values]
        return sum("assert" in t or "check(" in t for t in joined) >= len(values) / 2
    return True


def _option_columns(columns: list[str], taken: set[str]) -> list[str] | None:
    groups: dict[str, list[tuple[str, str]]] = {}
    for column in columns:
        match = _OPTION_COLUMN.match(key(column))
        if match and column not in taken and (match.group(1) or len(column) == 1):
            groups.setdefault(match.group(1) or "", []).append((match.group(2), column))
    for members in groups.values():
        suffixes = [s for s, _ in members]
        first = suffixes[0]
        if len(members) >= 2 and first in ("a", "0", "1"):
            return [column for _, column in members]
    return None


def _list_column(rows: list[Row], columns: list[str], taken: set[str]) -> str | None:
    """A column named like choices whose values are lists of options (or {"text": [...]} objects)."""
    for wanted in NAMES["choices"]:
        for column in columns:
            if column not in taken and key(column.rpartition(".")[2]) == wanted:
                values = _filled(rows, column)
                if values and all(isinstance(v, list | dict) for v in values):
                    return column
    return None


def options_of(row: Row, mapping: FieldMapping) -> list[str] | None:
    """The row's options as text, or None when the file has no choices."""
    if not mapping.choices:
        return None
    if len(mapping.choices) > 1:
        return [str(row[c]).strip() for c in mapping.choices if row.get(c) not in (None, "")]
    value = row.get(mapping.choices[0])
    if isinstance(value, dict):  # {"text": [...], "label": [...]}
        value = value.get("text") or value.get("choices") or list(value.values())
    if isinstance(value, str):
        value = [part.strip() for part in re.split(r"\s*[|\n]\s*", value) if part.strip()]
    return [str(v).strip() for v in value] if isinstance(value, list | tuple) else None


def _answer_as(rows: list[Row], mapping: FieldMapping) -> AnswerAs:
    """The reading of the answers that names an option in the most rows (ties: text, letter, index, index1)."""
    score: Counter[str] = Counter()
    typed_int = 0
    for row in rows[:500]:
        options, answer = options_of(row, mapping), row.get(mapping.answer or "")
        if not options or answer is None or isinstance(answer, bool):
            continue
        text = str(answer).strip()
        typed_int += isinstance(answer, int)
        score["text"] += text.casefold() in [o.casefold() for o in options]
        letter = _LETTER.match(text)
        score["letter"] += bool(letter) and "ABCDEFGHIJ".index(letter.group(1).upper()) < len(options)  # type: ignore[union-attr]
        if re.fullmatch(r"\d+", text):
            score["index"] += int(text) < len(options)
            score["index1"] += 1 <= int(text) <= len(options)
    order = ("index", "index1", "text", "letter") if typed_int else ("text", "letter", "index", "index1")
    best = max(order, key=lambda kind: (score[kind], -order.index(kind)))
    return best  # type: ignore[return-value]
