"""Deterministic checks: a generated draft becomes a valid `Sample`, or is dropped with a reason.

No model is involved, so these checks are exact and free; they run before any judge call. A multiple-choice
draft whose options say the same answer twice (tools/qc/options.py: "0.5" and "1/2", "1 km" and "1000 m", "Hà Nội"
and "Hanoi") is dropped here: a second correct option, or two distractors that are one.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from tools.contracts import Evidence, Provenance, Sample, SampleDraft, SourceKind, Subtask
from tools.qc.options import equivalent_options

if TYPE_CHECKING:
    from tools.sources import MaterialView

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
    if same := equivalent_options(choices, gold, question):
        raise CheckFailed(same)
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


# -- grounded items: the material a draft was written from, and the sample it becomes ------------------

_IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/webp": "webp"}
FIELD_LABELS = {"context": "passage shown with the question", "question": "question material",
                "answer": "gold answer", "label": "label"}


@dataclass(frozen=True)
class Block:
    """One unit of the user's material as a generation prompt shows it, under its id in that prompt ('M2')."""

    mid: str
    unit: str
    kind: SourceKind
    source: str  # the file's name
    anchor: str
    text: str  # what the prompt quotes: a chunk's text, a record's fields by use, an image's file name
    answer: str | None = None  # records: the value of the field used as the gold answer
    answer_field: str | None = None
    context: str | None = None  # records: the values of the fields shown with the question
    evidence: tuple[str, ...] = ()  # records: the record's lines (as the material renders it) that the item uses
    image: Path | None = None
    media_type: str = ""
    sha256: str = ""


def material_blocks(view: MaterialView, groups: list[list[str]]) -> list[list[Block]]:
    """Per item, the blocks of its units, numbered M1, M2, ... across the batch in order."""
    numbered: list[list[Block]] = []
    n = 0
    for group in groups:
        blocks: list[Block] = []
        for unit in group:
            n += 1
            blocks.append(_block(view, unit, f"M{n}"))
        numbered.append(blocks)
    return numbered


def _block(view: MaterialView, unit: str, mid: str) -> Block:
    source = view.material.source(unit.rsplit(":", 1)[0])
    anchor = view.anchor(unit)
    if source.kind == "image":
        return Block(mid, unit, "image", source.name, anchor, source.name, image=view.image_path(unit),
                     media_type=source.media_type, sha256=source.sha256)
    if source.kind == "document":
        return Block(mid, unit, "document", source.name, anchor, view.text(unit))
    record = view.record(unit)
    uses = source.field_uses
    fields = [f for f in (source.fields or list(record.values)) if uses.get(f, "context") != "ignore"]
    shown = [f"{f}{f' [{FIELD_LABELS[uses[f]]}]' if f in uses else ''}: {_shown(record.values.get(f))}" for f in fields]
    rendered = [line for line in view.text(unit).splitlines() if line.strip()]
    used = [line for line in rendered if any(line.startswith(f"{f}:") for f in fields)] or rendered
    answer_field = next((f for f in fields if uses.get(f) == "answer"), None)
    answer = record.values.get(answer_field) if answer_field else None
    context = "\n".join(str(record.values[f]) for f in fields if uses.get(f) == "context" and record.values.get(f))
    return Block(mid, unit, "records", source.name, anchor, "\n".join(shown),
                 answer=None if answer in (None, "") else str(answer), answer_field=answer_field,
                 context=context or None, evidence=tuple(used))


def to_grounded_sample(draft: SampleDraft, subtask: Subtask, provenance: Provenance, own: list[Block],
                       batch: dict[str, Block]) -> Sample:
    """`to_sample` for an item written from `own` (its blocks; `batch`: every block of its prompt, by id).

    A record's gold-answer field decides the answer. A draft whose answer differs keeps the record's value, and its
    rationale says so (the record is the ground truth; the checks after this one judge the item as it now is); for
    multiple choice the record's value must be one of the options, or the draft is dropped."""
    draft = _with_record_answer(draft, subtask, own)
    sample = to_sample(draft, subtask, provenance)
    evidence = _evidence(draft, own, batch)
    updates: dict[str, object] = {"evidence": evidence, "metadata": {**sample.metadata, "units": [b.unit for b in own]}}
    cited = [batch[e.unit_mid] for e in _quotes(draft) if e.unit_mid in batch and batch[e.unit_mid].kind == "document"]
    chunks = list(dict.fromkeys(b.unit for b in cited)) or [b.unit for b in own if b.kind == "document"]
    texts = {b.unit: b.text for b in [*own, *batch.values()]}
    if chunks:
        updates["context"] = "\n\n".join(texts[u] for u in chunks)
    elif (record_context := "\n".join(b.context for b in own if b.context)):
        updates["context"] = record_context
    image = next((b for b in own if b.kind == "image"), None)
    if image is not None:
        ext = _IMAGE_EXTENSIONS.get(image.media_type, image.image.suffix.lstrip(".").lower() if image.image else "png")
        updates["image"] = f"images/{image.sha256}.{'jpg' if ext == 'jpeg' else ext}"
    try:
        return Sample.model_validate({**sample.model_dump(), **updates})
    except ValidationError as exc:
        raise CheckFailed(f"schema: {exc.errors()[0]['msg']}") from exc


@dataclass(frozen=True)
class _Quote:
    unit_mid: str
    quote: str


def _quotes(draft: SampleDraft) -> list[_Quote]:
    return [_Quote(q.material.strip(), q.quote) for q in getattr(draft, "evidence", None) or []]


def _evidence(draft: SampleDraft, own: list[Block], batch: dict[str, Block]) -> list[Evidence]:
    """The draft's quotes mapped to units (a quote citing an id the prompt never showed is kept as 'unknown:<id>',
    so the evidence check drops it with a reason), then each record and image of the item as its own evidence."""
    found: list[Evidence] = []
    for quote in _quotes(draft):
        block = batch.get(quote.unit_mid)
        if block is None:
            found.append(Evidence(unit=f"unknown:{quote.unit_mid}", source="unknown", anchor="unknown", quote=quote.quote))
        elif block.kind == "document":
            found.append(Evidence(unit=block.unit, source=block.source, anchor=block.anchor, quote=quote.quote))
    for block in own:
        if block.kind == "records":
            found += [Evidence(unit=block.unit, source=block.source, anchor=block.anchor, quote=line)
                      for line in block.evidence]
        elif block.kind == "image":
            found.append(Evidence(unit=block.unit, source=block.source, anchor=block.anchor, quote=None))
    return found


def _with_record_answer(draft: SampleDraft, subtask: Subtask, own: list[Block]) -> SampleDraft:
    record = next((b for b in own if b.kind == "records" and b.answer is not None), None)
    if record is None or record.answer is None:
        return draft
    gold = record.answer.strip()
    if subtask.answer_format == "multiple_choice":
        option = next((c for c in draft.choices or [] if normalize(c) == normalize(gold)), None)
        if option is None:
            raise CheckFailed(f"the record's {record.answer_field} {gold[:60]!r} ({record.source} {record.anchor}) "
                              "is not among the options")
        return draft.model_copy(update={"answer": option})
    fits = {"numeric": bool(_NUMBER.match(gold.replace(" ", ""))), "yes_no": normalize(gold) in ("yes", "no", "true", "false")}
    if normalize(draft.answer) == normalize(gold) or not fits.get(subtask.answer_format, True):
        return draft  # a value that is no answer of this format (a yes/no item about it): the item's own answer stands
    note = (f"The answer is the record's {record.answer_field} value ({record.source} {record.anchor}); "
            f"the draft had {draft.answer[:60]!r}.")
    return draft.model_copy(update={"answer": gold, "rationale": f"{draft.rationale} {note}".strip()})


def _shown(value: object) -> str:
    return "" if value is None else str(value)
