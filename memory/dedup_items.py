"""The items de-duplication compares, and what it says of a pair: `DedupItem`, `Verdict`, `Duplicate`.

Kept apart from memory/dedup.py (the decision) so that the item's own keys (what is embedded, the exact key,
how it is kept in Chroma metadata) read in one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from memory.compare import Features, fold
from memory.embeddings import _LRU
from memory.store import Match, SampleStore

_BOILERPLATE = re.compile(
    r"^(according to|based on|in|from|using) (the|this) (passage|text|article|paragraph|excerpt|story)( above| below)?,?\s*",
    re.IGNORECASE,
)


STORED_KEPT = 4096  # stored items kept with their features (a few kB each)
_stored: _LRU[DedupItem] = _LRU(STORED_KEPT)


@dataclass(frozen=True)
class DedupItem:
    """One benchmark item as far as de-duplication cares."""

    id: str
    question: str
    answer: str
    context: str | None = None
    choices: tuple[str, ...] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, default_id: str) -> DedupItem:
        """An item from a JSONL row with at least `question` and `answer` (`context`, `choices` optional)."""
        choices = row.get("choices")
        return cls(
            id=str(row.get("id") or default_id),
            question=str(row.get("question") or ""),
            answer=str(row.get("answer") if row.get("answer") is not None else ""),
            context=str(row["context"]) if row.get("context") else None,
            choices=tuple(str(c) for c in choices) if choices else None,
        )

    @cached_property
    def features(self) -> Features:
        return Features.of(self.question, self.answer, self.context, self.choices)

    @property
    def key_text(self) -> str:
        """What is embedded: the question, without "According to the passage," and the like."""
        return _BOILERPLATE.sub("", self.question.strip()) or self.question.strip()

    @cached_property
    def exact_key(self) -> str:
        """Equal for items that differ only in case, spacing, accents, trailing punctuation or option order."""
        parts = [self.question, self.answer, self.context or "", *sorted(self.choices or ())]
        canonical = "\x1f".join(fold(p).rstrip(" .?!") for p in parts)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def as_text(self) -> str:
        return SampleStore.sample_text(self.question, self.context, self.answer, self.choices)

    def metadata(self) -> dict[str, Any]:
        """How the item is kept in Chroma metadata, so a stored item can be compared field by field."""
        meta: dict[str, Any] = {"question": self.question, "answer": self.answer, "bucket": self.features.bucket}
        if self.context:
            meta["context"] = self.context
        if self.choices:
            meta["choices"] = json.dumps(list(self.choices), ensure_ascii=False)
        return meta

    @classmethod
    def from_match(cls, match: Match) -> DedupItem | None:
        """The stored item behind a match; None for entries stored without their fields (plain `add`).

        The same stored sample is the neighbour of many candidates of a build: its item, text features worked out
        once, is kept for the next match (the last STORED_KEPT, by id and fields)."""
        meta = match.metadata
        if "question" not in meta or "answer" not in meta:
            return None
        key = json.dumps([match.id, meta["question"], meta["answer"], meta.get("context"), meta.get("choices")])
        known = _stored.get(key)
        if known is not None:
            return known
        choices = json.loads(meta["choices"]) if meta.get("choices") else None
        item = cls(id=match.id, question=str(meta["question"]), answer=str(meta["answer"]),
                   context=meta.get("context") or None, choices=tuple(choices) if choices else None)
        _stored.put(key, item)
        return item


@dataclass(frozen=True)
class Verdict:
    """The second stage's answer for one candidate pair; `duplicate` is None in the uncertain band."""

    duplicate: bool | None
    score: float
    reason: str


@dataclass(frozen=True)
class Duplicate:
    """`b` (the later item) duplicates `a` (kept, or stored in memory by build `build_id`)."""

    a: str
    b: str
    score: float
    reason: str
    build_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"a": self.a, "b": self.b, "score": round(self.score, 4)}
        if self.build_id is not None:
            row["build_id"] = self.build_id
        return row


def items_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[DedupItem]:
    return [DedupItem.from_row(row, default_id=f"row-{n}") for n, row in enumerate(rows, 1)]
