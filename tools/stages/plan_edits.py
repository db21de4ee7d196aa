"""Deterministic plan edits: each operation makes a new plan whose quotas still sum to the size.

No model is involved: the refinement stage (or a button) decides *which* edit, these functions
decide *how*, so a plan can never end up with a quota of zero, a duplicate id or a wrong total.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import partial

from tools.contracts import (
    AddSubtask,
    BenchmarkSpec,
    ChangeFormat,
    Difficulty,
    DropSubtask,
    MakeEasier,
    MakeHarder,
    MergeSubtasks,
    PlanEdit,
    RenameSubtask,
    ScaleAmount,
    SelectMaterial,
    SetDifficulty,
    SetFieldUse,
    SetQuota,
    SetSize,
    SplitSubtask,
    Subtask,
    SubtaskPlan,
    slugify,
)
from tools.errors import InvalidEdit
from tools.stages.design import allocate

MAX_PLAN_SUBTASKS = 8
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5,
             "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8, "one": 1, "two": 2,
             "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_FROM_END = {"last": 1, "final": 1, "penultimate": 2, "second to last": 2, "second-to-last": 2, "second last": 2,
             "second-last": 2, "next to last": 2, "next-to-last": 2, "third to last": 3, "third-to-last": 3,
             "third last": 3}
_HARDER: dict[str, Difficulty] = {"easy": "medium", "medium": "hard", "mixed": "hard", "hard": "hard"}
_EASIER: dict[str, Difficulty] = {"hard": "medium", "medium": "easy", "mixed": "easy", "easy": "easy"}
HARDER_GUIDANCE = ("Make the items harder than a typical hard item: more reasoning steps, less familiar settings, "
                   "wrong options that only careful work rules out.")
EASIER_GUIDANCE = ("Make the items easier than a typical easy item: one step, familiar settings, "
                   "wrong options that are clearly wrong.")
_FILLER = {"the", "a", "an", "one", "subtask", "subtasks", "part", "on", "about", "questions", "items", "task", "of",
           "section", "category", "topic", "bit", "that", "those", "samples", "problems", "with", "and"}


def _position(lowered: str, count: int) -> int | None:
    """The 1-based position a reference names: "2", "#2", "subtask 2", "the second (one)", "the last", "penultimate"."""
    text = re.sub(r"^(?:the\s+)?(?:subtask|part|number|no\.?|#)?\s*", "", lowered).strip()
    text = re.sub(r"\s+(?:one|subtask|part|item|entry|on the list|in the list|in the plan)$", "", text).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if text in _FROM_END:
        return count + 1 - _FROM_END[text]
    if text in _ORDINALS and (lowered.startswith(("the ", "subtask ", "#")) or text not in
                              ("one", "two", "three", "four", "five", "six", "seven", "eight") or lowered == text):
        return _ORDINALS[text]
    return None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - _FILLER


def resolve_subtask(plan: SubtaskPlan, ref: str) -> Subtask:
    """The subtask `ref` names: its number or position ("the second", "the last one"), id, name, the one whose
    name shares the most words with it, or the one whose name is closest to it in spelling ("Fractoins")."""
    text = ref.strip().strip("'\"").strip()
    lowered = re.sub(r"\s+", " ", text.lower())
    position = _position(lowered, len(plan.subtasks))
    if position is not None and 1 <= position <= len(plan.subtasks):
        return plan.subtasks[position - 1]
    for subtask in plan.subtasks:
        if lowered in (subtask.id, subtask.name.lower()) or slugify(text) == subtask.id:
            return subtask
    # By words: the most of them shared with one name, and at least half of them ("everything except fractions"
    # names no subtask, though it shares a word with one).
    words = _words(lowered)
    for score in (lambda s: len(words & (_words(s.name) | {s.id})), lambda s: _spelling(words, _words(s.name) | {s.id})):
        best = _best(plan, score) if words else None
        if best is not None and 2 * score(best) >= len(words):
            return best
    names = ", ".join(f"{i}. {s.name}" for i, s in enumerate(plan.subtasks, 1))
    raise InvalidEdit(f"There is no single subtask matching '{text}'. The subtasks are: {names}.")


def _best(plan: SubtaskPlan, score: Callable[[Subtask], int]) -> Subtask | None:
    """The one subtask scoring highest (above zero, and above every other)."""
    scored = sorted(((score(s), i) for i, s in enumerate(plan.subtasks)), reverse=True)
    if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return plan.subtasks[scored[0][1]]
    return None


def _spelling(words: set[str], names: set[str]) -> int:
    """How many of `words` are a near spelling of a word of the name (typos: 'fractoins', 'geomtry')."""
    return sum(1 for w in words if len(w) >= 4 and difflib.get_close_matches(w, list(names), n=1, cutoff=0.75))


def apply_edit(plan: SubtaskPlan, edit: PlanEdit, spec: BenchmarkSpec, *, max_size: int | None = None) -> SubtaskPlan:
    """The plan after `edit`; raises `InvalidEdit` (leaving `plan` as it was) when the edit cannot be made."""
    subtasks = [s.model_copy(deep=True) for s in plan.subtasks]
    total = plan.total
    if isinstance(edit, DropSubtask):
        gone = resolve_subtask(plan, edit.subtask)
        if len(subtasks) == 1:
            raise InvalidEdit(f"'{gone.name}' is the only subtask; add another before dropping it.")
        subtasks = _rescaled([s for s in subtasks if s.id != gone.id], total)
    elif isinstance(edit, AddSubtask):
        subtasks = _added(subtasks, edit, spec, total)
    elif isinstance(edit, RenameSubtask):
        target = resolve_subtask(plan, edit.subtask)
        update = {"name": edit.name.strip(), "overlaps": []}
        if edit.description:
            update["description"] = edit.description.strip()
        subtasks = [s.model_copy(update=update) if s.id == target.id else s for s in subtasks]
    elif isinstance(edit, SplitSubtask):
        subtasks = _split(subtasks, resolve_subtask(plan, edit.subtask), spec)
    elif isinstance(edit, MergeSubtasks):
        subtasks = _merged(plan, subtasks, edit)
    elif isinstance(edit, SetQuota):
        target = resolve_subtask(plan, edit.subtask)
        if len(subtasks) == 1:
            return apply_edit(plan, SetSize(op="size", size=edit.quota), spec, max_size=max_size)
        most = total - (len(subtasks) - 1)
        if edit.quota > most:
            raise InvalidEdit(f"'{target.name}' can have at most {most} of the {total} samples (every other subtask "
                              "keeps at least one); raise the total size first.")
        others = _rescaled([s for s in subtasks if s.id != target.id], total - edit.quota)
        by_id = {s.id: s for s in others}
        subtasks = [s.model_copy(update={"quota": edit.quota}) if s.id == target.id else by_id[s.id] for s in subtasks]
    elif isinstance(edit, SetSize):
        subtasks = _resized(subtasks, edit.size, max_size)
    elif isinstance(edit, MakeHarder):
        ids = {resolve_subtask(plan, edit.subtask).id} if edit.subtask else {s.id for s in subtasks}
        subtasks = [_step(s, spec, harder=True) if s.id in ids else s for s in subtasks]
    elif isinstance(edit, ScaleAmount):
        subtasks = _scaled(plan, subtasks, edit, max_size)
    elif isinstance(edit, MakeEasier | SetDifficulty):
        ids = {resolve_subtask(plan, edit.subtask).id} if edit.subtask else {s.id for s in subtasks}
        change = partial(_step, harder=False) if isinstance(edit, MakeEasier) else lambda s, _spec: s.model_copy(
            update={"difficulty": edit.difficulty})  # type: ignore[union-attr]
        subtasks = [change(s, spec) if s.id in ids else s for s in subtasks]
    elif isinstance(edit, ChangeFormat):
        ids = {resolve_subtask(plan, edit.subtask).id} if edit.subtask else {s.id for s in subtasks}
        subtasks = [s.model_copy(update={"answer_format": edit.answer_format}) if s.id in ids else s for s in subtasks]
    elif isinstance(edit, SelectMaterial | SetFieldUse):  # they need the material: refine.revise applies them
        raise InvalidEdit("A change to the material is made with the thread's material at hand (refine.revise).")
    return SubtaskPlan(subtasks=subtasks, rationale=plan.rationale)


def sync_spec(spec: BenchmarkSpec, plan: SubtaskPlan) -> BenchmarkSpec:
    """The spec agreeing with the plan: its size, and its format and difficulty where all subtasks share one."""
    formats = {s.answer_format for s in plan.subtasks}
    levels = {s.difficulty or spec.difficulty for s in plan.subtasks}
    update: dict[str, object] = {
        "size": plan.total,
        "answer_format": formats.pop() if len(formats) == 1 else spec.answer_format,
        "difficulty": levels.pop() if len(levels) == 1 else "mixed",
    }
    # An assumption about a field the user has now set by editing the plan no longer holds.
    labels = {"size": "Size", "answer_format": "Answer format", "difficulty": "Difficulty"}
    settled = {labels[k] for k, v in update.items() if v != getattr(spec, k)}
    update["assumptions"] = [a for a in spec.assumptions if a.split(":")[0] not in settled]
    return spec.model_copy(update=update)


def pin_levels(plan: SubtaskPlan, spec: BenchmarkSpec) -> SubtaskPlan:
    """Once subtasks differ in difficulty (the spec's becomes 'mixed'), each states its own, so that none
    silently changes with the spec."""
    if len({s.difficulty or spec.difficulty for s in plan.subtasks}) == 1:
        return plan
    return plan.model_copy(update={"subtasks": [
        s if s.difficulty else s.model_copy(update={"difficulty": spec.difficulty}) for s in plan.subtasks
    ]})


def plan_diff(old: SubtaskPlan, new: SubtaskPlan, spec: BenchmarkSpec | None = None, *,
              material: bool = True) -> list[str]:
    """What changed from `old` to `new`, one short line per change; with `material`, also which subtasks now
    use other material (a material edit says that in its own words instead)."""
    before, after = {s.id: s for s in old.subtasks}, {s.id: s for s in new.subtasks}
    gone = [s for i, s in before.items() if i not in after]
    came = [s for i, s in after.items() if i not in before]
    lines = _splits_and_merges(gone, came)
    lines += [f"dropped '{s.name}' ({s.quota})" for s in gone]
    lines += [f"added '{s.name}' ({s.quota}{_level(s, spec)})" for s in came]
    default = spec.difficulty if spec else None
    for i, s in after.items():
        if (o := before.get(i)) is None:
            continue
        if o.name != s.name:
            lines.append(f"renamed '{o.name}' to '{s.name}'")
        if o.description != s.description:
            lines.append(f"'{s.name}': new description")
        if o.quota != s.quota:
            lines.append(f"'{s.name}': {o.quota} → {s.quota} samples")
        if o.answer_format != s.answer_format:
            lines.append(f"'{s.name}': {o.answer_format.replace('_', ' ')} → {s.answer_format.replace('_', ' ')}")
        if (o.difficulty or default) != (s.difficulty or default):
            lines.append(f"'{s.name}': {o.difficulty or default or 'spec'} → {s.difficulty or default or 'spec'} difficulty")
        if [g for g in s.guidance if g not in o.guidance]:
            lines.append(f"'{s.name}': new instructions for its generator")
        if material and _units(o) != _units(s):
            lines.append(f"'{s.name}': other material ({len(_units(o))} → {len(_units(s))} parts)")
    if old.total != new.total:
        lines.append(f"total: {old.total} → {new.total} samples")
    return lines


def _units(subtask: Subtask) -> list[str]:
    return subtask.material.units if subtask.material else []


def _splits_and_merges(gone: list[Subtask], came: list[Subtask]) -> list[str]:
    """Describe splits and merges as such (removing what they explain from `gone` and `came`)."""
    lines = []
    for old in list(gone):
        names = {f"{old.name} ({level})"[:120] for level in ("easy", "hard")}  # ids may be cut short: names are not
        halves = [s for s in came if s.name in names and s.id.startswith(old.id[:30])]
        if len(halves) == 2:
            lines.append(f"split '{old.name}' into " + " and ".join(f"'{h.name}' ({h.quota})" for h in halves))
            gone.remove(old)
            for half in halves:
                came.remove(half)
    if len(came) == 1 and len(gone) >= 2 and came[0].quota == sum(s.quota for s in gone):
        lines.append("merged " + " and ".join(f"'{s.name}'" for s in gone) + f" into '{came[0].name}' ({came[0].quota})")
        gone.clear()
        came.clear()
    return lines


def _level(subtask: Subtask, spec: BenchmarkSpec | None) -> str:
    return f", {subtask.difficulty}" if subtask.difficulty and (spec is None or subtask.difficulty != spec.difficulty) else ""


def _rescaled(subtasks: list[Subtask], total: int) -> list[Subtask]:
    """`subtasks` with quotas scaled to sum to `total`, in proportion to their current quotas, each at least one."""
    if total < len(subtasks):
        raise InvalidEdit(f"{total} samples cannot cover {len(subtasks)} subtasks (each needs at least one).")
    quotas = allocate(total, [s.quota for s in subtasks])
    return [s.model_copy(update={"quota": q}) for s, q in zip(subtasks, quotas, strict=True)]


def _resized(subtasks: list[Subtask], size: int, max_size: int | None) -> list[Subtask]:
    if max_size is not None and size > max_size:
        raise InvalidEdit(f"{size:,} samples is above this installation's limit of {max_size:,}. "
                          f"Say 'make it {max_size} samples' to use the maximum.")
    if size < len(subtasks):
        raise InvalidEdit(f"{size} samples cannot cover {len(subtasks)} subtasks; drop or merge subtasks first.")
    return _rescaled(subtasks, size)


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base[:40].strip("-"), 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate, n = base[: 40 - len(suffix)].strip("-") + suffix, n + 1
    return candidate


def _added(subtasks: list[Subtask], edit: AddSubtask, spec: BenchmarkSpec, total: int) -> list[Subtask]:
    if len(subtasks) >= MAX_PLAN_SUBTASKS:
        raise InvalidEdit(f"A plan has at most {MAX_PLAN_SUBTASKS} subtasks; drop or merge one first.")
    quota = edit.quota or max(1, round(total / (len(subtasks) + 1)))
    if quota > total - len(subtasks):
        raise InvalidEdit(f"A new subtask can have at most {total - len(subtasks)} of the {total} samples "
                          "(every other subtask keeps at least one); raise the total size first.")
    name = edit.name.strip()
    new = Subtask(id=_unique_id(slugify(name), {s.id for s in subtasks}), name=name,
                  description=(edit.description or name).strip(), answer_format=spec.answer_format, quota=quota)
    return [*_rescaled(subtasks, total - quota), new]


def _split(subtasks: list[Subtask], target: Subtask, spec: BenchmarkSpec) -> list[Subtask]:
    if target.quota < 2:
        raise InvalidEdit(f"'{target.name}' has one sample; give it at least two before splitting it.")
    if len(subtasks) >= MAX_PLAN_SUBTASKS:
        raise InvalidEdit(f"A plan has at most {MAX_PLAN_SUBTASKS} subtasks; drop or merge one first.")
    taken = {s.id for s in subtasks} - {target.id}
    halves = []
    for level, quota in (("easy", target.quota - target.quota // 2), ("hard", target.quota // 2)):
        suffix = f"-{level}"
        sid = _unique_id(target.id[: 40 - len(suffix)].strip("-") + suffix, taken)
        taken.add(sid)
        halves.append(target.model_copy(update={"id": sid, "name": f"{target.name} ({level})"[:120], "quota": quota,
                                                "difficulty": level, "overlaps": []}))
    at = next(i for i, s in enumerate(subtasks) if s.id == target.id)
    return [*subtasks[:at], *halves, *subtasks[at + 1:]]


def _merged(plan: SubtaskPlan, subtasks: list[Subtask], edit: MergeSubtasks) -> list[Subtask]:
    chosen = list(dict.fromkeys(resolve_subtask(plan, ref).id for ref in edit.subtasks))
    if len(chosen) < 2:
        raise InvalidEdit("Name two different subtasks to merge.")
    parts = [s for s in subtasks if s.id in chosen]
    name = (edit.name or " + ".join(s.name for s in parts)).strip()[:120]
    levels = {s.difficulty for s in parts}
    merged = parts[0].model_copy(update={
        "id": _unique_id(slugify(name), {s.id for s in subtasks if s.id not in chosen}),
        "name": name, "description": " ".join(s.description for s in parts)[:600],
        "quota": sum(s.quota for s in parts), "difficulty": levels.pop() if len(levels) == 1 else None,
        "guidance": list(dict.fromkeys(g for s in parts for g in s.guidance)), "overlaps": [],
    })
    first = subtasks.index(parts[0])
    rest = [s for s in subtasks if s.id not in chosen]
    return [*rest[:first], merged, *rest[first:]]


def _step(subtask: Subtask, spec: BenchmarkSpec, *, harder: bool) -> Subtask:
    """One difficulty level up (or down); past the last level, an instruction to the generator instead."""
    steps, last, guidance = (_HARDER, "hard", HARDER_GUIDANCE) if harder else (_EASIER, "easy", EASIER_GUIDANCE)
    level = subtask.difficulty or spec.difficulty
    if level == last:
        return subtask.model_copy(update={"difficulty": last,
                                          "guidance": list(dict.fromkeys([*subtask.guidance, guidance]))})
    return subtask.model_copy(update={"difficulty": steps[level]})


def _scaled(plan: SubtaskPlan, subtasks: list[Subtask], edit: ScaleAmount, max_size: int | None) -> list[Subtask]:
    """One subtask's quota (the total moving with it) or the whole size, changed by a factor or a number."""
    def amount(current: int) -> int:
        return round(current * edit.factor) if edit.factor is not None else current + (edit.change or 0)

    if edit.subtask is None:
        return _resized(subtasks, amount(plan.total), max_size)
    target = resolve_subtask(plan, edit.subtask)
    quota = amount(target.quota)
    if quota < 1:
        raise InvalidEdit(f"'{target.name}' has {target.quota} samples; that would leave it none. Drop it instead.")
    total = plan.total - target.quota + quota
    if max_size is not None and total > max_size:
        raise InvalidEdit(f"That makes {total:,} samples in all, above this installation's limit of {max_size:,}.")
    return [s.model_copy(update={"quota": quota}) if s.id == target.id else s for s in subtasks]
