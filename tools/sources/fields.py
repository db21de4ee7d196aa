"""What each field of a data file is proposed to be used for, from its name and from its values.

Names are read as words ('questionText', 'question_text' and 'Question text' are the same); values are
measured (how long, how many distinct, numbers, links, dates, ids). A name says more than values do,
except that values identify ids, links and timestamps whatever the name. At most one field is the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tools.contracts import FieldUse

_QUESTION = {"question", "questions", "prompt", "prompts", "input", "inputs", "query", "queries", "instruction",
             "instructions", "problem", "ask", "request", "task", "q", "choices", "options", "candidates",
             "alternatives", "stem", "hypothesis", "claim", "statement"}
# Ordered: when several fields are named like an answer, the first word here wins.
_ANSWER = ("answer", "answers", "gold", "target", "targets", "label", "labels", "solution", "output", "outputs",
           "expected", "correct", "reference", "completion", "response", "ans", "truth", "result", "y")
_CONTEXT = {"context", "contexts", "passage", "passages", "document", "documents", "doc", "text", "article", "body",
            "content", "paragraph", "paragraphs", "abstract", "story", "background", "evidence", "description",
            "summary", "transcript", "premise", "excerpt", "snippet", "source", "review", "comment", "message"}
_LABEL = {"category", "categories", "topic", "topics", "subject", "domain", "type", "tag", "tags", "genre",
          "difficulty", "level", "split", "language", "lang", "class", "kind", "group", "area", "field", "grade",
          "sentiment", "title", "author", "section", "chapter"}
# A name ending in one of these is an identifier, a link or a time; one of _ALONE is when it is the whole name.
_IGNORE = {"id", "ids", "uuid", "guid", "idx", "url", "urls", "uri", "link", "links", "href", "path", "filename",
           "hash", "sha", "md5", "checksum", "timestamp", "timestamps", "datetime", "date", "at"}
_ALONE = {"key", "index", "file", "created", "updated", "modified", "time", "no", "num", "number", "row"}
_POSITION = {"start", "end", "offset", "offsets", "position", "pos", "span", "char", "begin", "length", "len", "count"}

_URL = re.compile(r"^(https?|ftp|s3|gs)://\S+$", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_HEXID = re.compile(r"^(?=.*\d)[0-9a-fA-F-]{16,}$")


def words_of(field: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", field)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


@dataclass(frozen=True)
class FieldStats:
    present: int  # values that are not empty
    distinct: int
    mean_words: float
    mean_chars: float
    numeric: float  # share of present values that are numbers (or numeric text)
    urls: float
    timestamps: float
    id_like: bool  # every value distinct and shaped like an identifier

    @property
    def long_text(self) -> bool:
        return self.mean_words >= 25 or self.mean_chars >= 160

    @property
    def short(self) -> bool:
        return self.mean_words <= 6

    def categorical(self, rows: int) -> bool:
        return self.present >= 4 and self.distinct <= max(2, min(30, rows // 4)) and self.mean_words <= 4


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*", value))


def field_stats(values: list[Any]) -> FieldStats:
    present = [v for v in values if v is not None and str(v).strip() != ""]
    texts = [str(v) for v in present]
    n = len(present) or 1
    distinct = len(set(texts))
    integers = [int(float(t)) for t in texts if _is_number(t) and float(t).is_integer()] if texts else []
    sequential = len(integers) == len(texts) > 2 and sorted(integers) == list(range(min(integers), min(integers) + len(integers)))
    id_like = len(texts) > 2 and distinct == len(texts) and (
        sequential or all(_HEXID.match(t) for t in texts)
        or all(" " not in t and re.search(r"\d", t) and re.search(r"[A-Za-z]", t) and len(t) <= 40 for t in texts))
    return FieldStats(
        present=len(present),
        distinct=distinct,
        mean_words=sum(len(t.split()) for t in texts) / n,
        mean_chars=sum(len(t) for t in texts) / n,
        numeric=sum(_is_number(v) for v in present) / n,
        urls=sum(bool(_URL.match(t.strip())) for t in texts) / n,
        timestamps=sum(bool(_TIMESTAMP.match(t.strip())) for t in texts) / n,
        id_like=id_like,
    )


def _by_name(words: list[str]) -> FieldUse | None:
    if not words:
        return None
    if words[-1] in _IGNORE or (words[-1] in _POSITION and len(words) > 1) or (len(words) == 1 and words[0] in _ALONE):
        return "ignore"
    found = set(words)
    if found & _QUESTION:
        return "question"
    if found & set(_ANSWER):
        return "answer"
    if found & _CONTEXT:
        return "context"
    if found & _LABEL:
        return "label"
    return None


def _answer_rank(words: list[str]) -> tuple[int, int]:
    """Lower is a better answer: the answer word's place in _ANSWER, then how many other words the name has."""
    places = [_ANSWER.index(w) for w in words if w in _ANSWER]
    return (min(places) if places else len(_ANSWER), len(words))


def propose_field_uses(fields: list[str], rows: list[dict[str, Any]]) -> dict[str, FieldUse]:
    """A use for every field, deterministic from the field names and the values in `rows` (a sample)."""
    stats = {f: field_stats([row.get(f) for row in rows]) for f in fields}
    uses: dict[str, FieldUse] = {}
    for field in fields:
        uses[field] = _one_field(field, stats[field], len(rows))
    answers = [f for f in fields if uses[f] == "answer"]
    if len(answers) > 1:
        best = min(answers, key=lambda f: (_answer_rank(words_of(f)), -stats[f].present))
        for field in answers:
            if field != best:
                uses[field] = "label" if stats[field].categorical(len(rows)) else "context"
    elif not answers:
        _choose_answer(fields, uses, stats, len(rows))
    return uses


def _one_field(field: str, stat: FieldStats, rows: int) -> FieldUse:
    named = _by_name(words_of(field))
    if stat.present == 0:
        return "ignore"
    if stat.urls >= 0.8 or stat.timestamps >= 0.8:
        return "ignore"
    if named is not None:
        if named == "label" and stat.long_text:
            return "context"
        return named
    if stat.id_like:
        return "ignore"
    if stat.long_text:
        return "context"
    if stat.categorical(rows):
        return "label"
    return "context" if stat.numeric < 0.5 else "label"


def _choose_answer(fields: list[str], uses: dict[str, FieldUse], stats: dict[str, FieldStats], rows: int) -> None:
    """No field is named like an answer: a short, varied field that is not named otherwise becomes it; else
    the one label, when there is exactly one, is what items are asked about (a classification dataset)."""
    unnamed = [f for f in fields if _by_name(words_of(f)) is None and uses[f] != "ignore"]
    short = [f for f in unnamed if stats[f].short and not stats[f].categorical(rows)]
    if short and any(uses[f] in ("question", "context") for f in fields if f not in short):
        uses[short[-1]] = "answer"
        return
    labels = [f for f in fields if uses[f] == "label"]
    if len(labels) == 1 and any(uses[f] in ("question", "context") for f in fields):
        uses[labels[0]] = "answer"
