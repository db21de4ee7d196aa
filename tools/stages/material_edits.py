"""The two edits about the user's material: which part of it the plan uses, and what a data field is for.

`SelectMaterial` gives the plan (or one subtask) a new selection of the material (tools.stages.ground);
`SetFieldUse` rewrites the material's record of what one field of a data file is used for
(tools.sources.set_field_use), so the plan itself does not change. Both need the thread's material: without
it, or when the part or the field is not in it, the edit is not possible and says what the material has.
"""

from __future__ import annotations

from tools.contracts import SelectMaterial, SetFieldUse, SourceFile, SubtaskPlan
from tools.errors import InvalidEdit, InvalidRequest
from tools.sources import MaterialView, set_field_use
from tools.stages.ground import select_material
from tools.stages.plan_edits import resolve_subtask

USE_WORDS = {"context": "the context shown with the question", "question": "what the questions are written from",
             "answer": "the gold answer", "label": "a label kept with each item", "ignore": "not used"}
NO_MATERIAL = ("No material is attached to this conversation: attach documents, data records or images to a "
               "message first, then say which part to use.")


def apply_material_edit(plan: SubtaskPlan, edit: SelectMaterial | SetFieldUse,
                        view: MaterialView | None) -> tuple[SubtaskPlan, list[str]]:
    """The plan after `edit`, and what changed in words; `InvalidEdit` (nothing changed) when it cannot be made."""
    if view is None or view.material.empty:
        raise InvalidEdit(NO_MATERIAL)
    if isinstance(edit, SetFieldUse):
        return plan, set_use(view, edit)
    subtask = resolve_subtask(plan, edit.subtask).id if edit.subtask else None
    try:
        return select_material(plan, view, edit.action, edit.target, subtask)
    except InvalidRequest as exc:
        if edit.action == "skip" and _sources_with(view, edit.target):  # "ignore id" names a field, not a part
            return plan, set_use(view, SetFieldUse(op="field", field=edit.target, use="ignore"))
        raise InvalidEdit(str(exc)) from exc


def _records(view: MaterialView) -> list[SourceFile]:
    return view.material.of_kind("records")


def _sources_with(view: MaterialView, field: str) -> list[SourceFile]:
    key = field.strip().casefold()
    return [s for s in _records(view) if any(f.casefold() == key for f in s.fields)]


def _source_for(view: MaterialView, edit: SetFieldUse) -> tuple[SourceFile, str]:
    """The data file the edit is about (named, else the one with that field) and the field as the file spells it."""
    records = _records(view)
    if not records:
        raise InvalidEdit("None of the attached files holds data records, so there are no fields to set; "
                          f"the material is: {'; '.join(view.describe())}.")
    if edit.source:
        key = edit.source.strip().casefold()
        named = [s for s in records if key in (s.name.casefold(), s.id, s.name.casefold().rsplit(".", 1)[0])]
        if not named:
            raise InvalidEdit(f"No data file is named '{edit.source}'; the data files are "
                              f"{', '.join(s.name for s in records)}.")
        candidates = named
    else:
        candidates = _sources_with(view, edit.field) or records
    having = [s for s in candidates if any(f.casefold() == edit.field.strip().casefold() for f in s.fields)]
    if not having:
        listed = "; ".join(f"{s.name}: {', '.join(s.fields) or 'no fields'}" for s in candidates)
        raise InvalidEdit(f"No data file has a field '{edit.field}'. The fields are: {listed}.")
    if len(having) > 1:
        raise InvalidEdit(f"'{edit.field}' is a field of {', '.join(s.name for s in having)}: say which file, e.g. "
                          f"'{edit.field} in {having[0].name} is the gold answer'.")
    source = having[0]
    return source, next(f for f in source.fields if f.casefold() == edit.field.strip().casefold())


def set_use(view: MaterialView, edit: SetFieldUse) -> list[str]:
    """Apply a field's use to the material folder; one line per field whose use changed (a new gold answer field
    makes the old one a label)."""
    source, field = _source_for(view, edit)
    before = dict(source.field_uses)
    try:
        material = set_field_use(view.folder, source.id, field, edit.use)
    except InvalidRequest as exc:
        raise InvalidEdit(str(exc)) from exc
    after = material.source(source.id).field_uses
    changed = [name for name in source.fields if after.get(name) != before.get(name)]
    if not changed:
        return [f"{source.name}: '{field}' was already {USE_WORDS[edit.use]}"]
    return [f"{source.name}: '{name}' is now {USE_WORDS[after[name]]}" for name in changed if name in after]
