"""Which step the conversation may take next. The state decides; the model only chooses among these.

A weak model cannot derail the flow: in each phase the orchestrator is offered only the tools
that make sense there, and a message that plainly asks for one step ("go", "undo", "preview",
"drop 2", or after a short build "keep what Fractions has") narrows them to that step.
"""

from __future__ import annotations

import re

from assistant.session import Phase

ANALYZE = "analyze_request"
DESIGN = "design_plan"
BUILD = "build_benchmark"
REFINE = "refine_plan"
UNDO = "undo_plan"
PREVIEW = "preview_samples"
SHORTFALL = "settle_shortfall"

_CONFIRM = re.compile(
    r"^\s*(go|go ahead|yes|y|yep|ok|okay|sure|confirm(ed)?|looks good|lgtm|build( it)?|start|proceed|"
    r"accept( defaults)?|use (the )?defaults|do it|sounds good|perfect|great)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_UNDO = re.compile(r"^\s*(please\s+)?(undo|revert|go back|roll ?back|restore)\b", re.IGNORECASE)
_PREVIEW = re.compile(r"\b(preview|show (me )?(some |a few )?(samples|examples|items)|try (it|a few) first)\b", re.IGNORECASE)
_EDIT = re.compile(
    r"\b(drop|remove|delete|add|rename|split|merge|combine|harder|more difficult|quota|format|"
    r"multiple[- ]choice|yes/no|numeric|short answers?|\d+\s+(items?|samples?|questions?))\b",
    re.IGNORECASE,
)
# After a build that fell short: relax a short subtask (keep what it has) or drop it.
_SHORTFALL = re.compile(r"\b(relax|keep|accept|settle|drop|remove|delete|get rid of|skip|leave out)\b", re.IGNORECASE)
_REDESIGN = re.compile(r"\b(redesign|new plan|different subtasks|design (it )?again|start the plan over)\b", re.IGNORECASE)

_NEXT_STEP: dict[Phase, str | None] = {
    "gathering": None,
    "clarifying": DESIGN,
    "spec_ready": DESIGN,
    "planned": BUILD,
    "building": None,
    "built": None,
}

_ON_OTHER_MESSAGES: dict[Phase, tuple[str, ...]] = {
    "gathering": (ANALYZE,),
    "clarifying": (ANALYZE,),
    "spec_ready": (ANALYZE,),
    "planned": (REFINE, ANALYZE, DESIGN, PREVIEW, UNDO),
    "building": (),
    "built": (ANALYZE,),
}


def is_confirmation(message: str) -> bool:
    return bool(_CONFIRM.match(message))


def allowed_tools(phase: Phase, message: str, *, can_undo: bool = True, short_build: bool = False) -> tuple[str, ...]:
    """The tools on offer for `message` in `phase`; `short_build`: the finished build fell short of a quota."""
    step = _NEXT_STEP[phase]
    if step is not None and is_confirmation(message):
        return (step,)
    if phase == "planned":
        for pattern, tool in ((_UNDO, UNDO), (_PREVIEW, PREVIEW), (_REDESIGN, DESIGN), (_EDIT, REFINE)):
            if pattern.search(message) and (tool != UNDO or can_undo):
                return (tool,)
    if phase == "built" and short_build:
        return (SHORTFALL,) if _SHORTFALL.search(message) else (*_ON_OTHER_MESSAGES[phase], SHORTFALL)
    tools = _ON_OTHER_MESSAGES[phase]
    return tools if can_undo else tuple(t for t in tools if t != UNDO)


def next_step(phase: Phase) -> str | None:
    """The tool that a confirmation (or a button) runs in `phase`."""
    return _NEXT_STEP[phase]
