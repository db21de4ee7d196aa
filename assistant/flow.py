"""Which step the conversation may take next. The state decides; the model only chooses among these.

A weak model cannot derail the flow: in each phase the orchestrator is offered only the tools
that make sense there, and a plain confirmation ("go", "yes") narrows them to the next step.
"""

from __future__ import annotations

import re

from assistant.session import Phase

ANALYZE = "analyze_request"
DESIGN = "design_plan"
BUILD = "build_benchmark"

_CONFIRM = re.compile(
    r"^\s*(go|go ahead|yes|y|yep|ok|okay|sure|confirm(ed)?|looks good|lgtm|build( it)?|start|proceed|"
    r"accept( defaults)?|use (the )?defaults|do it|sounds good|perfect|great)\s*[.!]*\s*$",
    re.IGNORECASE,
)

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
    "planned": (ANALYZE, DESIGN),
    "building": (),
    "built": (ANALYZE,),
}


def is_confirmation(message: str) -> bool:
    return bool(_CONFIRM.match(message))


def allowed_tools(phase: Phase, message: str) -> tuple[str, ...]:
    """The tools on offer for `message` in `phase`."""
    step = _NEXT_STEP[phase]
    if step is not None and is_confirmation(message):
        return (step,)
    return _ON_OTHER_MESSAGES[phase]


def next_step(phase: Phase) -> str | None:
    """The tool that a confirmation (or a button) runs in `phase`."""
    return _NEXT_STEP[phase]
