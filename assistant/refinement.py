"""Plan refinement steps: an edit (in words or from buttons) makes a new plan version; undo goes back one.

Each version keeps its spec, its parent and what changed, so the user always sees the difference
and can return to any earlier plan. A message with several instructions makes one version of those
that can be made; the reply lists every instruction and what became of it, done or not. Edits
chosen with buttons are applied all or none.
"""

from __future__ import annotations

import re

from assistant import material
from assistant.deps import AssistantDeps
from tools.contracts import BenchmarkSpec, PlanEdit, RequestPart, SubtaskPlan
from tools.stages.plan_edits import plan_diff
from tools.stages.refine import refine_plan, revise

_NEXT = "Next: build it (say 'go'), preview samples, or keep editing."


def _describe(plan: SubtaskPlan) -> str:
    return "; ".join(f"{i}. {s.name} ({s.quota})" for i, s in enumerate(plan.subtasks, 1))


async def refine_step(deps: AssistantDeps) -> str:
    """The user's latest message read as an edit of the current plan."""
    state = deps.state
    if state.plan is None or state.spec is None:
        return "There is no plan to change yet: confirm the spec first."
    revision = await refine_plan(state.last_message, state.plan, state.spec, models=deps.models,
                                 max_size=deps.settings.max_size, material=material.view_of(deps))
    reply = _commit(deps, material.regrounded(deps, state.plan, revision.plan), revision.spec, revision.changes,
                    note=state.last_message[:120], parts=revision.parts)
    return f"{revision.note}\n{reply}" if revision.note else reply


def edit_step(deps: AssistantDeps, edits: list[PlanEdit], note: str) -> str:
    """Edits chosen with buttons: applied without any model."""
    state = deps.state
    if state.plan is None or state.spec is None:
        return "There is no plan to change yet: confirm the spec first."
    revision = revise(state.plan, state.spec, edits, max_size=deps.settings.max_size, material=material.view_of(deps))
    return _commit(deps, material.regrounded(deps, state.plan, revision.plan), revision.spec, revision.changes,
                   note=note)


_OUTCOMES = {"done": "done", "not_understood": "not understood, nothing changed for it",
             "not_possible": "not possible", "not_asked": "left as it is"}


def describe_parts(parts: list[RequestPart]) -> str:
    """Every instruction of a message and what became of it, one line each."""
    lines = []
    for i, part in enumerate(parts, 1):
        # The user's words in quotes; a model's edit, described with its subtasks' names quoted, as it is.
        said = part.text if re.search(r"'[^']+'", part.text) else f"'{part.text}'"
        if part.outcome == "done":
            what = "; ".join(part.changes) or "no difference to the plan"
            lines.append(f"{i}. {said}: {what}" + (f" ({part.note})" if part.note else ""))
        else:
            lines.append(f"{i}. {said}: {_OUTCOMES[part.outcome]}" + (f": {part.note}" if part.note else ""))
    return "\n".join(lines)


def _commit(deps: AssistantDeps, plan: SubtaskPlan, spec: BenchmarkSpec, changes: list[str], note: str,
            parts: list[RequestPart] | None = None) -> str:
    state = deps.state
    several = parts is not None and (len(parts) > 1 or any(p.outcome != "done" or p.note for p in parts))
    if not changes:
        listed = f"\n{describe_parts(parts)}\n" if parts and several else " "
        return f"That leaves the plan as it is (v{state.version.number if state.version else 1}).{listed}{_NEXT}"
    version = state.commit(plan, spec, note, changes)
    state.build, state.pending = None, None
    if parts and several:
        done = sum(p.outcome == "done" for p in parts)
        return (f"Plan v{version.number}, {done} of the {len(parts)} instructions in your message carried out:\n"
                f"{describe_parts(parts)}\nNow: {_describe(plan)}. {_NEXT}")
    return f"Plan v{version.number}: " + "; ".join(changes) + f". Now: {_describe(plan)}. {_NEXT}"


def version_in(text: str) -> int | None:
    """The plan version a message names ("back to v2", "restore version 3"), if any."""
    match = re.search(r"\bv(?:ersion)?\s*(\d+)\b", text, re.IGNORECASE)
    return int(match.group(1)) if match else None


async def undo_step(deps: AssistantDeps, to_version: int | None = None) -> str:
    """Go back to the version the current one was made from (or to `to_version`), as a new version."""
    state = deps.state
    current = state.version
    target_number = to_version if to_version is not None else current.parent if current else None
    target = next((v for v in state.versions if v.number == target_number), None)
    if current is None or target is None or state.phase != "planned":
        return "There is no earlier plan version to go back to."
    # The user's preview reviews are not undone: commit puts them back on the subtasks that still exist.
    plan = state.with_review_notes(target.plan)
    changes = plan_diff(current.plan, plan, target.spec)
    version = state.commit(plan, target.spec, f"undo: back to v{target.number}", changes, restores=target)
    state.build, state.pending = None, None
    return (f"Plan v{version.number} restores v{target.number}: " + ("; ".join(changes) or "no difference")
            + f". Now: {_describe(plan)}. {_NEXT}")
