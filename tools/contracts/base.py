"""Shared building blocks of the contracts: closed sets as `Literal`s, the strict base model, ids."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

AnswerFormat = Literal["multiple_choice", "short_answer", "numeric", "yes_no"]


Difficulty = Literal["easy", "medium", "hard", "mixed"]


Modality = Literal["text", "image", "audio"]


Role = Literal["chat", "generator", "judge", "solver", "vision"]


CheckName = Literal["parse", "schema", "duplicate", "judge", "leakage", "executed", "constraints", "inspector", "solver",
                    "panel", "evidence", "closed_book"]


ANSWER_FORMATS: tuple[str, ...] = ("multiple_choice", "short_answer", "numeric", "yes_no")


SUPPORTED_MODALITIES: tuple[str, ...] = ("text",)
# Multiple-choice option letters, by position.
LETTERS = "ABCDEFGHIJ"


ShortText = Annotated[str, Field(min_length=1, max_length=400)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def slugify(text: str, *, max_length: int = 40) -> str:
    """A lowercase identifier made of letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "subtask"


Bounded = Annotated[str, Field(min_length=1, max_length=200)]


def _at_most(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters are allowed, this has {len(value)}: shorten it")
        return value
    return AfterValidator(check)


# A long text whose limit is checked after parsing instead of stated in the JSON schema: a grammar-constrained
# server (llama.cpp) turns `maxLength` into one grammar rule per character and refuses schemas with limits in
# the thousands ("failed to parse grammar"), so only limits up to a few hundred are sent.
LongText = Annotated[str, _at_most(2000)]


def at_most_items(limit: int) -> AfterValidator:
    """A list length checked after parsing, for the same reason as `LongText`: bounded arrays of objects
    multiply a grammar's size by their bound."""
    def check(value: list[object]) -> list[object]:
        if len(value) > limit:
            raise ValueError(f"at most {limit} items are allowed, this has {len(value)}: send fewer")
        return value
    return AfterValidator(check)
