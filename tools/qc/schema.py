"""Deterministic checks: a generated draft becomes a valid `Sample`, or is dropped with a reason.

No model is involved, so these checks are exact and free; they run before any judge call.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import datetime

from pydantic import ValidationError

from tools.contracts import Provenance, Sample, SampleDraft, Subtask

MIN_QUESTION_CHARS = 10
MIN_CHOICES, MAX_CHOICES = 3, 6
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[-+]?\.\d+$|^[-+]?\d+/\d+$")


class CheckFailed(ValueError):
    """A draft fails a deterministic check; the message is the drop reason."""


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold().rstrip(".")


def sample_id(subtask_id: str, question: str, answer: str) -> str:
    digest = hashlib.sha256(f"{normalize(question)}\x1f{normalize(answer)}".encode()).hexdigest()[:12]
    return f"{subtask_id}-{digest}"


def stable_shuffle(options: list[str], seed: str) -> list[str]:
    """The same options in an order fixed by `seed`, so a rebuild gives the same file."""
    shuffled = list(options)
    random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16)).shuffle(shuffled)
    return shuffled


def to_sample(draft: SampleDraft, subtask: Subtask, provenance: Provenance) -> Sample:
    """Check `draft` against `subtask`'s format and return the sample; raise `CheckFailed` with the reason."""
    question = draft.question.strip()
    if len(question) < MIN_QUESTION_CHARS:
        raise CheckFailed("question too short")
    answer = draft.answer.strip()
    if not answer:
        raise CheckFailed("empty answer")
    if (draft.tests or "").strip() and subtask.answer_format != "short_answer":
        raise CheckFailed(f"unit tests given for a {subtask.answer_format} item")
    fields: dict[str, object] = {}
    if subtask.answer_format == "multiple_choice":
        fields = _multiple_choice(draft, answer, question)
        answer = str(fields.pop("answer"))
    elif draft.choices:
        raise CheckFailed(f"choices given for a {subtask.answer_format} item")
    elif subtask.answer_format == "numeric":
        answer = _numeric(answer)
    elif subtask.answer_format == "yes_no":
        answer = _yes_no(answer)
    metadata: dict[str, object] = {}
    if (draft.tests or "").strip():
        answer, metadata = _code_item(draft, answer)
    elif (draft.solution_code or "").strip():
        metadata = {"solution_code": (draft.solution_code or "").strip()}
    sid = sample_id(subtask.id, question, answer)
    try:
        return Sample(
            id=sid, subtask_id=subtask.id, answer_format=subtask.answer_format, question=question,
            context=(draft.context or "").strip() or None, answer=answer, rationale=draft.rationale.strip(),
            provenance=provenance, metadata=metadata, **fields,  # type: ignore[arg-type]
        )
    except ValidationError as exc:  # a contract the checks above missed is still a drop, never a crash
        raise CheckFailed(f"schema: {exc.errors()[0]['msg']}") from exc


def _multiple_choice(draft: SampleDraft, answer: str, question: str) -> dict[str, object]:
    choices = [c.strip() for c in draft.choices or []]
    if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise CheckFailed(f"multiple choice needs {MIN_CHOICES}-{MAX_CHOICES} options, got {len(choices)}")
    if any(not c for c in choices):
        raise CheckFailed("empty option")
    keys = [normalize(c) for c in choices]
    if len(set(keys)) != len(keys):
        raise CheckFailed("duplicate options")
    matches = [i for i, key in enumerate(keys) if key == normalize(answer)]
    if not matches:
        raise CheckFailed("answer is not one of the options")
    gold = choices[matches[0]]
    ordered = stable_shuffle(choices, seed=question)
    return {"choices": ordered, "answer": gold, "answer_index": ordered.index(gold)}


def _code_item(draft: SampleDraft, name: str) -> tuple[str, dict[str, object]]:
    """A code item: the answer is the reference solution; the function name and unit tests go to metadata."""
    code = (draft.solution_code or "").strip()
    if not code:
        raise CheckFailed("code item without a reference solution")
    if not _IDENTIFIER.match(name):
        raise CheckFailed(f"a code item's answer must be the function name, got {name[:40]!r}")
    if not re.search(rf"^\s*def {name}\s*\(", code, re.MULTILINE):
        raise CheckFailed(f"the reference solution does not define {name}()")
    return code, {"kind": "code", "entry_point": name, "tests": (draft.tests or "").strip()}


def to_draft(sample: Sample) -> SampleDraft:
    """The draft `to_sample` would turn back into `sample`: what a repair edits before it is checked again."""
    code_item = sample.metadata.get("kind") == "code"
    return SampleDraft.model_construct(  # validated once already: no length limit may fail it now
        question=sample.question, context=sample.context, choices=list(sample.choices) if sample.choices else None,
        answer=str(sample.metadata["entry_point"]) if code_item else sample.answer, rationale=sample.rationale,
        solution_code=sample.answer if code_item else sample.metadata.get("solution_code"),
        tests=sample.metadata.get("tests") if code_item else None,
    )


def _numeric(answer: str) -> str:
    candidate = answer.replace(" ", "").rstrip(".")
    if not _NUMBER.match(candidate):
        raise CheckFailed(f"numeric answer is not a number: {answer[:40]!r}")
    return candidate.replace(",", "")


def _yes_no(answer: str) -> str:
    key = normalize(answer)
    if key in ("yes", "true"):
        return "Yes"
    if key in ("no", "false"):
        return "No"
    raise CheckFailed(f"yes/no answer is neither: {answer[:40]!r}")


def make_provenance(build_id: str, generator: str, judge: str, attempt: int, now: datetime) -> Provenance:
    return Provenance(build_id=build_id, generator_model=generator, judge_model=judge, attempt=attempt, created_at=now)
