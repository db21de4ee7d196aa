"""One row of a foreign benchmark as the quality gate's `Sample`, through the same format rules a draft meets.

A row's format follows from what it holds: options make it multiple choice, unit tests a code item, a yes/no
or true/false answer yes/no, a number numeric, anything else a short answer. The answer is read the way the
mapping says (an option's text, letter or index); a worked answer ending in `#### 42` or `\\boxed{42}` gives
its final value. The format rules are the generator's (tools/qc/schema.py) with one difference: an existing
benchmark may offer 2 to 10 options (the generator writes 3 to 6). A row the rules refuse is still checked
by the other checks when it can be held as a sample at all; a row with no question or no answer cannot.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tools.contracts import LETTERS, AnswerFormat, Sample, SampleDraft, Subtask, slugify
from tools.contracts.audit import FieldMapping
from tools.qc.audit_table import Row, options_of
from tools.qc.schema import CheckFailed, make_provenance, normalize, to_sample

MAX_OPTIONS = len(LETTERS)
PROVENANCE = make_provenance("audit", "unknown (an existing file)", None, 0, datetime(2000, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
_FINAL = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)
_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[-+]?\.\d+$|^[-+]?\d+/\d+$")
_LETTER = re.compile(r"^\(?([A-Ja-j])\)?[.):]?$")


class Unmappable(ValueError):
    """The row cannot be held as an item; the message says which field is missing or unreadable."""


@dataclass
class Converted:
    sample: Sample | None  # None: the format rules refused it and it cannot be held as a sample either
    schema_problem: str | None  # why the format rules refused it, or None


def convert(row: Row, mapping: FieldMapping, number: int, seen: set[str]) -> Converted:
    """The row as a sample with an `audit-<hash>` id unique in `seen`; `Unmappable` when it cannot be one."""
    draft, fmt = _draft(row, mapping)
    subtask = Subtask(id=_subtask_id(row, mapping), name="audited items", description="Items of an existing benchmark.",
                      answer_format=fmt, quota=1)
    sample: Sample | None
    try:
        sample, problem = to_sample(draft, subtask, PROVENANCE), None
    except CheckFailed as exc:
        problem = str(exc)
        sample = _lenient(draft, subtask, problem)
        if sample is not None and _options_only_counted(problem, draft):
            problem = None  # 2 or 7-10 options: fine for an existing benchmark
    if sample is not None:
        sample = sample.model_copy(update={"id": _unique_id(sample, number, seen), "metadata": {
            **sample.metadata, "row": number, **({"source_id": str(row[mapping.id])} if mapping.id and row.get(mapping.id)
                                                 not in (None, "") else {})}})
    return Converted(sample, problem)


def _options_only_counted(problem: str, draft: SampleDraft) -> bool:
    return problem.startswith("multiple choice needs") and 2 <= len(draft.choices or []) <= MAX_OPTIONS


def _unique_id(sample: Sample, number: int, seen: set[str]) -> str:
    text = f"{normalize(sample.question)}\x1f{normalize(sample.answer)}\x1f{'|'.join(sample.choices or [])}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    if f"audit-{digest}" in seen:  # the same item twice: the duplicate check says so, the ids stay apart
        digest = hashlib.sha256(f"{text}\x1f{number}".encode()).hexdigest()[:12]
    seen.add(f"audit-{digest}")
    return f"audit-{digest}"


def _subtask_id(row: Row, mapping: FieldMapping) -> str:
    value = row.get(mapping.subtask) if mapping.subtask else None
    return slugify(str(value)) if value not in (None, "") else "audit"


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(_text(v) for v in value)
    return "" if value is None else str(value).strip()


def _code(value: Any) -> str:
    """Code as written: indentation kept (a HumanEval solution is an indented body), blank edges removed."""
    text = "\n".join(map(str, value)) if isinstance(value, list | tuple) else "" if value is None else str(value)
    return text.strip("\n").rstrip()


def _draft(row: Row, mapping: FieldMapping) -> tuple[SampleDraft, AnswerFormat]:
    question = _text(row.get(mapping.question))
    if not question:
        raise Unmappable(f"no question (column {mapping.question!r} is empty)")
    context = _text(row.get(mapping.context)) if mapping.context else ""
    rationale = _text(row.get(mapping.rationale)) if mapping.rationale else ""
    tests = _tests(row, mapping)
    if tests:
        return _code_draft(row, mapping, question, tests, rationale), "short_answer"
    raw = row.get(mapping.answer) if mapping.answer else None
    options = options_of(row, mapping)
    if options:
        answer = _option_answer(raw, options, mapping)
        fmt: AnswerFormat = "multiple_choice"
    else:
        answer, worked = _final_answer(raw)
        rationale = rationale or worked
        fmt = _plain_format(answer)
    solution = _code(row.get(mapping.solution_code)) if mapping.solution_code else ""
    return SampleDraft.model_construct(  # the generator's length limits are not rules for an existing file
        question=question, context=context or None, choices=options, answer=answer, rationale=rationale,
        solution_code=solution or None, tests=None), fmt


def _answer_text(raw: Any) -> str:
    if isinstance(raw, dict):  # {"text": [...]} (SQuAD), {"value": ..., "aliases": [...]}
        raw = raw.get("value") or raw.get("text") or raw.get("answer")
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None
    if isinstance(raw, bool):
        return "Yes" if raw else "No"
    return _text(raw)


def _final_answer(raw: Any) -> tuple[str, str]:
    """The answer, and the worked solution it came with (`... #### 42`, `... \\boxed{42}`)."""
    text = _answer_text(raw)
    if not text:
        raise Unmappable("no answer" + ("" if raw is None else " (the answer cell is empty)"))
    if (final := _FINAL.search(text)) and final.group(1).strip():
        return final.group(1).strip(), text[: final.start()].strip()
    boxed = _BOXED.findall(text)
    if boxed and len(text) > len(boxed[-1]) + 8:
        return boxed[-1].strip(), text
    return text, ""


def _plain_format(answer: str) -> AnswerFormat:
    if normalize(answer) in ("yes", "no", "true", "false"):
        return "yes_no"
    return "numeric" if _NUMBER.match(answer.replace(" ", "").rstrip(".")) else "short_answer"


def _option_answer(raw: Any, options: list[str], mapping: FieldMapping) -> str:
    """The text of the option the answer names, as the mapping reads answers."""
    text = _answer_text(raw)
    if not text:
        raise Unmappable("no answer (the answer cell is empty)")
    how = mapping.answer_as or "text"
    index: int | None = None
    if how == "letter" and (letter := _LETTER.match(text)):
        index = LETTERS.index(letter.group(1).upper())
    elif how in ("index", "index1") and re.fullmatch(r"\d+", text):
        index = int(text) - (how == "index1")
    elif how == "text":
        return text  # the format rules say whether it is one of the options
    if index is None or not 0 <= index < len(options):
        raise Unmappable(f"the answer {text[:40]!r} names no option (read as {how}; {len(options)} options)")
    return options[index]


def _tests(row: Row, mapping: FieldMapping) -> str:
    if not mapping.tests:
        return ""
    value = row.get(mapping.tests)
    tests = _code(value)
    entry = _text(row.get(mapping.entry_point)) if mapping.entry_point else ""
    if re.search(r"^def check\(", tests, re.MULTILINE) and entry and not re.search(r"^check\(", tests, re.MULTILINE):
        tests += f"\n\ncheck({entry})\n"  # HumanEval style: the tests define check(candidate) and leave the call out
    return tests


def _code_draft(row: Row, mapping: FieldMapping, question: str, tests: str, rationale: str) -> SampleDraft:
    code = _code(row.get(mapping.solution_code)) if mapping.solution_code else ""
    answer_cell = _answer_text(row.get(mapping.answer)) if mapping.answer else ""
    if not code and "def " in answer_cell:
        code = answer_cell  # this tool's own files: the reference solution is the answer
    entry = _text(row.get(mapping.entry_point)) if mapping.entry_point else _entry_point(code, tests)
    if code and entry and not re.search(rf"^\s*def {re.escape(entry)}\s*\(", code, re.MULTILINE) \
            and re.search(rf"^\s*def {re.escape(entry)}\s*\(", question, re.MULTILINE):
        code = question.rstrip() + "\n" + code  # the prompt holds the signature, the solution only the body
    if not entry:
        raise Unmappable("a code item whose function name cannot be told (name it with --fields entry_point=COLUMN)")
    return SampleDraft.model_construct(question=question, context=None, choices=None, answer=entry,
                                       rationale=rationale, solution_code=code or None, tests=tests)


def _entry_point(code: str, tests: str) -> str:
    """The function the solution defines that the tests call."""
    try:
        defined = [n.name for n in ast.walk(ast.parse(code)) if isinstance(n, ast.FunctionDef)]
    except SyntaxError:
        defined = re.findall(r"^\s*def (\w+)\s*\(", code, re.MULTILINE)
    called = [name for name in defined if re.search(rf"\b{re.escape(name)}\s*\(", tests)]
    return (called or defined or [""])[0]


def _lenient(draft: SampleDraft, subtask: Subtask, problem: str) -> Sample | None:
    """The row held as a sample despite the format rules, so the other checks can still run; None if impossible."""
    fmt: AnswerFormat = subtask.answer_format
    fields: dict[str, Any] = {}
    if fmt == "multiple_choice":
        options = draft.choices or []
        matches = [i for i, o in enumerate(options) if normalize(o) == normalize(draft.answer)]
        if not matches or len(options) > MAX_OPTIONS:
            return None
        fields = {"choices": options, "answer_index": matches[0]}
        answer = options[matches[0]]
    else:
        fmt, answer = "short_answer", draft.answer  # a number or yes/no the rules refused is held as text
    metadata: dict[str, Any] = {"solution_code": draft.solution_code} if draft.solution_code and not draft.tests else {}
    try:
        return Sample(id="audit-000000000000", subtask_id=subtask.id, answer_format=fmt, question=draft.question,
                      context=draft.context, answer=answer, rationale=draft.rationale, provenance=PROVENANCE,
                      metadata=metadata, **fields)
    except ValidationError:
        return None
