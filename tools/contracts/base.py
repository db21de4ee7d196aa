"""Shared building blocks of the contracts: closed sets as `Literal`s, the strict base model, ids."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

AnswerFormat = Literal["multiple_choice", "short_answer", "numeric", "yes_no"]


Difficulty = Literal["easy", "medium", "hard", "mixed"]


Modality = Literal["text", "image", "audio"]


Role = Literal["chat", "generator", "judge", "solver"]


CheckName = Literal["parse", "schema", "duplicate", "judge", "leakage", "executed", "inspector", "solver", "panel"]


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
