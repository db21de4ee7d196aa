"""Stage 2b: plan refinement. A change asked for in plain words becomes typed edits, applied deterministically.

A message may hold several instructions ("drop 2, split 1 and double the last one"). Each is carried
out, or named as not understood, not possible (and why) or not asked for ("don't drop Fractions"); the
ones that can be made are applied together as one new plan. A single plain command ("drop 2", "make
it 60 samples") is read without a model. Anything else is read by the refinement agent when the chat
model is a real one; the embedded toy model's edits would be noise, so with it the plain-command
reader reads every instruction it can and names the rest; so it does when a real model's answer says nothing
at all (no edit, nothing it did not understand), and for each instruction it reads that a real model's answer
leaves out. Every subtask an edit names is pinned to
the plan as the user saw it before anything changes, and every quota must fit.
"""

from __future__ import annotations

import re

from pydantic_ai import Agent, ToolOutput

from tools.contracts import (
    BenchmarkSpec,
    EditRequest,
    PlanEdit,
    PlanRevision,
    RequestPart,
    SelectMaterial,
    SetFieldUse,
    SubtaskPlan,
)
from tools.errors import InvalidEdit, InvalidRequest
from tools.llm.stage import StageModels, run_stage
from tools.sources import MaterialView
from tools.stages.edit_reader import read_request
from tools.stages.material_edits import apply_material_edit
from tools.stages.plan_edits import apply_edit, pin_levels, plan_diff, resolve_subtask, sync_spec

MAX_EDIT_CHARS = 2000

_INSTRUCTIONS = """\
You turn a researcher's request to change a benchmark plan into edits of that plan.
Operations: drop a subtask; add one (name, description, optional quota); rename one; split one into
easy and hard; merge two or more; set one subtask's quota; set the total size; scale one subtask's
size, or the whole benchmark's (subtask null), by a factor (double 2, halve 0.5, 20% more 1.2) or by
a number of samples (add 10: change 10); make one subtask or the whole benchmark (subtask null)
harder or easier, or set its difficulty; change the answer format of one or all (subtask null);
use only, or skip, a part of the user's material (a file, pages, rows, a chapter or section) for one
subtask or all; say what a field of the user's data records is used for (context, question, answer,
label, ignore).
A request may hold several instructions: return one edit for each, in the order asked. Name
subtasks by their number or id in the plan below (numbers are positions in this plan, before any
edit). An instruction the user negates ("don't drop 2", "keep Geometry as it is") is not an edit: quote it in
not_asked. Quote in not_understood every other instruction that no edit expresses. If the request asks for no
change, return no edits.
Call submit_edit exactly once."""

refine_agent: Agent[None, EditRequest] = Agent(
    output_type=ToolOutput(EditRequest, name="submit_edit"), instructions=_INSTRUCTIONS, retries=2, name="refine"
)

_HOW = ("Say e.g. 'drop 2', 'rename 1 to Ratios', 'split 1', 'merge 1 and 2', 'give 1 10 samples', "
        "'add 10 to Geometry', 'double the last one', 'make it 60 samples', 'make 2 harder', 'use numeric answers', "
        "'use only chapter 3' or 'the gold answer is in label', or use the 'Edit the plan' button.")


def parse_edit(text: str, plan: SubtaskPlan) -> list[PlanEdit] | None:
    """The edits a message of plain commands asks for, or None when any instruction in it is not one."""
    parts = read_request(text, plan)
    if not parts or any(p.outcome != "done" or not _resolves(p, plan) for p in parts):
        return None
    return [edit for part in parts for edit in part.edits]


def _resolves(part: RequestPart, plan: SubtaskPlan) -> bool:
    """Whether every subtask the part names is one of `plan`'s ("the options" is none)."""
    try:
        for edit in part.edits:
            pin_edit(edit, plan, plan)
    except InvalidEdit:
        return False
    return True


def reads_free_text(models: StageModels) -> bool:
    """Whether the chat model can be trusted to turn free text into edits (the embedded toy model cannot)."""
    return not models.names.get("chat", "").startswith("embedded")


def _prompt(request: str, plan: SubtaskPlan, spec: BenchmarkSpec) -> str:
    lines = [f"Request: {request}", f"Benchmark: {spec.capability} ({spec.domain}), {plan.total} samples, "
             f"{spec.difficulty} difficulty", "Plan:"]
    lines += [f"{i}. id={s.id} name={s.name!r} quota={s.quota} format={s.answer_format} "
              f"difficulty={s.difficulty or spec.difficulty}" for i, s in enumerate(plan.subtasks, 1)]
    return "\n".join(lines)


async def refine_plan(
    request: str, plan: SubtaskPlan, spec: BenchmarkSpec, *, models: StageModels, max_size: int,
    material: MaterialView | None = None,
) -> PlanRevision:
    """Carry out every instruction in `request` that can be carried out, as one new plan; each part says
    what became of it. Raise `InvalidEdit` (nothing changed) when none can be. Instructions about the user's
    material are applied with `material` (the thread's, or none)."""
    request = request.strip()
    if not re.search(r"\w", request) or len(request) > MAX_EDIT_CHARS:
        raise InvalidRequest(f"Describe the change to the plan in a sentence (under {MAX_EDIT_CHARS:,} characters), "
                             "e.g. 'drop 2', 'split Fractions into easy and hard' or 'make it 60 samples'.")
    parts, note = read_request(request, plan), ""
    plain = len(parts) == 1 and parts[0].outcome == "done" and _resolves(parts[0], plan)
    if not plain and reads_free_text(models):
        proposal = await run_stage(refine_agent, _prompt(request, plan, spec), models=models, role="chat",
                                   stage="plan refinement")
        read, parts = parts, _model_parts(proposal, plan)
        note = "" if parts else "The chat model returned no edit for this message; it was read as plain commands."
        parts = [*parts, *_left_out(read, proposal, plan)] if parts else read
    if all(p.outcome == "not_understood" for p in parts):
        asked = "; ".join(f"'{p.text}' ({_outcome_words(p)})" for p in parts)
        raise InvalidEdit(f"I could not tell which change to the plan you want{f' ({asked})' if asked else ''}. {_HOW}")
    revision = revise_parts(plan, spec, parts, max_size=max_size, material=material)
    return revision.model_copy(update={"note": note}) if note else revision


def _model_parts(proposal: EditRequest, plan: SubtaskPlan) -> list[RequestPart]:
    parts = [RequestPart(text=describe_edit(edit, plan), outcome="done", edits=[edit]) for edit in proposal.edits]
    parts += [RequestPart(text=text, outcome="not_understood") for text in proposal.not_understood]
    parts += [RequestPart(text=text, outcome="not_asked", note="you asked for this not to be done")
              for text in proposal.not_asked]
    return parts


_FAMILY = {"quota": "amount", "size": "amount", "scale": "amount", "harder": "level", "easier": "level",
           "difficulty": "level"}


def _about(edit: PlanEdit, plan: SubtaskPlan) -> tuple[str, frozenset[str] | None]:
    """What `edit` changes: its kind (sizes, levels, or its op) and the plan's subtasks it is about (empty for the
    whole benchmark or a new subtask; None when it names one the plan does not have, e.g. made by this message)."""
    refs = [r for r in [*getattr(edit, "subtasks", []), getattr(edit, "subtask", None)] if r]
    try:
        ids = frozenset(resolve_subtask(plan, ref).id for ref in refs)
    except InvalidEdit:
        return _FAMILY.get(edit.op, edit.op), None
    return _FAMILY.get(edit.op, edit.op), ids


def _left_out(read: list[RequestPart], proposal: EditRequest, plan: SubtaskPlan) -> list[RequestPart]:
    """The instructions the plain-command reader read that the model's answer does not account for: no edit of the
    model's is of the same kind about the same subtasks (or about any, when the instruction names one this message
    makes), and the model did not quote them as not understood or negated. A weak model often returns the first of
    several instructions only: so only when its answer accounts for fewer instructions than the reader found is
    any read here (the reader may misread what a model read right: 'cut Fractions in two' is no drop)."""
    if len(proposal.edits) + len(proposal.not_understood) + len(proposal.not_asked) >= len(read):
        return []
    answered = [_about(e, plan) for e in proposal.edits]
    quoted = " ".join([*proposal.not_understood, *proposal.not_asked]).lower()
    missed = []
    for part in read:
        if part.outcome != "done" or part.text.lower() in quoted:
            continue
        asked = [_about(e, plan) for e in part.edits]
        if all(any(kind == k and (ids is None or i is None or ids == i or ids & i) for k, i in answered)
               for kind, ids in asked):
            continue
        missed.append(part.model_copy(update={"note": "read as a plain command: the chat model's answer left it out"}))
    return missed


def _apply(plan: SubtaskPlan, edit: PlanEdit, spec: BenchmarkSpec, max_size: int,
           material: MaterialView | None) -> tuple[SubtaskPlan, list[str]]:
    """The plan after one edit, and the words a material edit says about itself (none for the others)."""
    if isinstance(edit, SelectMaterial | SetFieldUse):
        return apply_material_edit(plan, edit, material)
    return apply_edit(plan, edit, spec, max_size=max_size), []


def revise(plan: SubtaskPlan, spec: BenchmarkSpec, edits: list[PlanEdit], *, max_size: int,
           material: MaterialView | None = None) -> PlanRevision:
    """Apply `edits` in order (all or none) and keep the spec consistent with the new plan."""
    new, said = plan, []
    for edit in edits:
        new, lines = _apply(new, edit, spec, max_size, material)
        said += lines
    new = pin_levels(new, spec)
    return PlanRevision(plan=new, spec=sync_spec(spec, new), edits=edits, changes=_changes(plan, new, spec, said))


def _changes(old: SubtaskPlan, new: SubtaskPlan, spec: BenchmarkSpec, said: list[str]) -> list[str]:
    """The plan's differences, with the material edits' own words in place of 'other material' lines."""
    return list(dict.fromkeys([*plan_diff(old, new, spec, material=not said), *said]))


def revise_parts(plan: SubtaskPlan, spec: BenchmarkSpec, parts: list[RequestPart], *, max_size: int,
                 material: MaterialView | None = None) -> PlanRevision:
    """Apply each part's edits in order, as one new plan: a part that cannot be made is skipped and says why
    (its own edits all or none). Raise `InvalidEdit` (nothing changed) when no part can be made."""
    new, done, applied, said = plan, [], [], []
    for part in parts:
        if part.outcome != "done":
            done.append(part)
            continue
        try:
            after, lines = new, []
            for edit in part.edits:
                after, more = _apply(after, pin_edit(edit, plan, after), spec, max_size, material)
                lines += more
                if isinstance(edit, SetFieldUse) and material is not None:
                    material = MaterialView(material.folder)  # the field's new use, for the edits after it
        except InvalidEdit as exc:
            done.append(part.model_copy(update={"outcome": "not_possible", "note": str(exc)[:600]}))
            continue
        done.append(part.model_copy(update={"changes": _changes(new, after, spec, lines)}))
        applied += part.edits
        said += lines
        new = after
    if not applied:
        impossible = " ".join(f"'{p.text}': {p.note}" for p in done if p.outcome == "not_possible")
        listed = "; ".join(f"'{p.text}': {_outcome_words(p)}" for p in done)
        raise InvalidEdit(impossible or f"Nothing in that message changes the plan ({listed}). {_HOW}")
    new = pin_levels(new, spec)
    return PlanRevision(plan=new, spec=sync_spec(spec, new), edits=applied, changes=_changes(plan, new, spec, said),
                        parts=done)


def pin_edit(edit: PlanEdit, seen: SubtaskPlan, current: SubtaskPlan) -> PlanEdit:
    """`edit` with every subtask it names resolved in `seen` (the plan the user saw), or else in `current` (one
    added by an earlier part), to an id that must still be in `current`: "the last one" means the same subtask
    after an earlier part dropped or split another."""
    def pin(ref: str) -> str:
        lowered = ref.strip().lower()
        made = [s for s in current.subtasks if lowered in (s.id, s.name.lower()) and s.id not in {t.id for t in seen.subtasks}]
        if made:
            return made[0].id  # one an earlier part of the message added or made, named exactly
        try:
            target = resolve_subtask(seen, ref)
        except InvalidEdit:
            target = resolve_subtask(current, ref)
        if target.id not in {s.id for s in current.subtasks}:
            raise InvalidEdit(f"'{target.name}' was already changed by an earlier part of this message "
                              "(dropped, split or merged); name one of the subtasks now in the plan.")
        return target.id

    if hasattr(edit, "subtasks"):
        return edit.model_copy(update={"subtasks": [pin(r) for r in edit.subtasks]})
    if getattr(edit, "subtask", None):
        return edit.model_copy(update={"subtask": pin(edit.subtask)})  # type: ignore[union-attr,arg-type]
    return edit


def describe_edit(edit: PlanEdit, plan: SubtaskPlan) -> str:
    """An edit in a few words, naming subtasks as the plan does ("split 'Fractions'")."""
    def name(ref: str | None) -> str:
        if ref is None:
            return "the whole benchmark"
        try:
            return f"'{resolve_subtask(plan, ref).name}'"
        except InvalidEdit:
            return f"'{ref}'"

    fields = edit.model_dump(exclude={"op"}, exclude_none=True)
    target = name(fields.pop("subtask", None)) if edit.op not in ("add", "merge", "size") else ""
    if "subtasks" in fields:
        target = " and ".join(name(r) for r in fields.pop("subtasks"))
    rest = ", ".join(f"{k.replace('_', ' ')} {str(v).replace('_', ' ')}" for k, v in fields.items() if v != "")
    return " ".join(w for w in (edit.op, target, rest) if w)


def _outcome_words(part: RequestPart) -> str:
    return {"not_understood": "not understood", "not_possible": "not possible", "not_asked": "you asked for it not to be done",
            "done": "done"}[part.outcome]
