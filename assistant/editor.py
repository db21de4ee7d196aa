"""The plan editor behind the buttons: which question to ask next, until an edit is complete. No model involved.

A partial edit is a dict built one click at a time ({"op": "quota", "subtask": "fractions"}); a
value that cannot be a button (a new name, a number) is typed into the chat, and read from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from tools.contracts import ANSWER_FORMATS, PlanEdit, SubtaskPlan
from tools.errors import InvalidEdit
from tools.stages.plan_edits import MAX_PLAN_SUBTASKS

WHOLE = "*"
OPS: dict[str, str] = {
    "drop": "Drop a subtask",
    "add": "Add a subtask",
    "rename": "Rename",
    "split": "Split into easy/hard",
    "merge": "Merge two",
    "quota": "Change a quota",
    "size": "Change total size",
    "harder": "Make harder",
    "format": "Change format",
}
_NEEDS_SUBTASK = {"drop", "rename", "split", "merge", "quota", "harder", "format"}
_WHOLE_ALLOWED = {"harder", "format"}
_TYPED = {"rename", "add", "quota", "size"}
_EDIT = TypeAdapter(PlanEdit)


@dataclass
class Choice:
    label: str
    edit: dict[str, Any]


@dataclass
class Ask:
    """What to ask next: a question, the buttons that answer it, and whether a typed reply is expected."""

    text: str
    choices: list[Choice] = field(default_factory=list)
    typed: bool = False


def next_ask(plan: SubtaskPlan, partial: dict[str, Any], *, max_size: int) -> Ask | PlanEdit:
    """The next question for `partial`, or the finished edit."""
    op = partial.get("op")
    if op not in OPS:
        return Ask("What do you want to change?", [Choice(label, {"op": name}) for name, label in OPS.items()])
    if op in _NEEDS_SUBTASK and "subtask" not in partial:
        choices = [Choice(f"{i}. {s.name}", {**partial, "subtask": s.id}) for i, s in enumerate(plan.subtasks, 1)]
        if op in _WHOLE_ALLOWED:
            choices.append(Choice("The whole benchmark", {**partial, "subtask": WHOLE}))
        if op == "merge":
            return Ask("Merge which subtask…", choices)
        return Ask(f"{OPS[op]}: which subtask?", choices)
    name = _name(plan, partial.get("subtask"))
    if op == "merge" and "with" not in partial:
        others = [Choice(f"{i}. {s.name}", {**partial, "with": s.id})
                  for i, s in enumerate(plan.subtasks, 1) if s.id != partial["subtask"]]
        return Ask(f"Merge '{name}' with which subtask?", others)
    if op == "format" and "value" not in partial:
        return Ask(f"Which answer format for {name}?",
                   [Choice(f.replace("_", " "), {**partial, "value": f}) for f in ANSWER_FORMATS])
    if op in _TYPED and "value" not in partial:
        return _ask_value(plan, partial, name, max_size)
    return to_edit(partial)


def _ask_value(plan: SubtaskPlan, partial: dict[str, Any], name: str, max_size: int) -> Ask:
    op = partial["op"]
    if op == "rename":
        return Ask(f"Type the new name for '{name}' in the chat.", typed=True)
    if op == "add":
        if len(plan.subtasks) >= MAX_PLAN_SUBTASKS:
            raise InvalidEdit(f"A plan has at most {MAX_PLAN_SUBTASKS} subtasks; drop or merge one first.")
        return Ask("Type the new subtask in the chat: its name, and after a colon what it tests "
                   "(e.g. 'Unit conversions: convert between metric units in a story').", typed=True)
    if op == "quota":
        most = plan.total - (len(plan.subtasks) - 1)
        current = next(s.quota for s in plan.subtasks if s.id == partial["subtask"])
        presets = sorted({max(1, current // 2), min(most, current * 2)} - {current})
        return Ask(f"How many samples for '{name}' (now {current}, at most {most})? Click or type a number.",
                   [Choice(str(n), {**partial, "value": n}) for n in presets], typed=True)
    presets = sorted({n for n in (20, 50, 100, max_size) if len(plan.subtasks) <= n <= max_size and n != plan.total})
    return Ask(f"How many samples in total (now {plan.total}, at most {max_size})? Click or type a number.",
               [Choice(str(n), {**partial, "value": n}) for n in presets], typed=True)


def with_typed_value(partial: dict[str, Any], text: str) -> dict[str, Any] | None:
    """`partial` completed with a typed reply, or None when the reply does not fit (then it is a normal message)."""
    text = text.strip()
    if partial.get("op") in ("quota", "size"):
        number = re.fullmatch(r"(?:make it\s+)?(\d[\d,]*)(?:\s+\w+)?", text, re.IGNORECASE)
        return {**partial, "value": int(number.group(1).replace(",", ""))} if number else None
    if not text or len(text) > 400:
        return None
    return {**partial, "value": text}


def to_edit(partial: dict[str, Any]) -> PlanEdit:
    """The typed edit for a complete `partial`; `InvalidEdit` when it is not one."""
    op, subtask, value = partial.get("op"), partial.get("subtask"), partial.get("value")
    target = None if subtask == WHOLE else subtask
    data: dict[str, Any] = {"op": op}
    if op in ("drop", "split"):
        data["subtask"] = subtask
    elif op == "rename":
        data.update(subtask=subtask, name=str(value)[:80])
    elif op == "add":
        name, _, description = str(value).partition(":")
        data.update(name=name.strip()[:80] or "New subtask", description=description.strip()[:400])
    elif op == "merge":
        data["subtasks"] = [subtask, partial.get("with")]
    elif op == "quota":
        data.update(subtask=subtask, quota=value)
    elif op == "size":
        data["size"] = value
    elif op == "harder":
        data["subtask"] = target
    elif op == "format":
        data.update(subtask=target, answer_format=value)
    try:
        return _EDIT.validate_python(data)
    except ValidationError as exc:
        raise InvalidEdit(f"That edit is incomplete or out of range ({exc.errors()[0]['msg']}).") from exc


def describe(edit: PlanEdit, plan: SubtaskPlan) -> str:
    """A short note for the version list, e.g. 'quota: Fractions = 8'."""
    names = {s.id: s.name for s in plan.subtasks}
    fields = edit.model_dump(exclude={"op"}, exclude_none=True)
    parts = [f"{k}={names.get(v, v) if isinstance(v, str) else v}" for k, v in fields.items()]
    return f"{edit.op}: " + ", ".join(parts) if parts else edit.op


def _name(plan: SubtaskPlan, subtask_id: str | None) -> str:
    if subtask_id == WHOLE:
        return "the whole benchmark"
    return next((s.name for s in plan.subtasks if s.id == subtask_id), "the benchmark")
