"""After a build that fell short: keep what a short subtask has, or drop it, and finish the same build.

A build falls short when a subtask used up its attempts before its quota. Relaxing makes the
subtask's quota the number it has (the benchmark shrinks by the rest); dropping removes it and gives
its quota to the other subtasks (the benchmark keeps its size). Either choice is a new plan version,
and the build then continues in its own directory: every accepted sample is kept and no answered
model call is made again, so relaxing generates nothing and dropping generates only what the other
subtasks now miss. The card's buttons and the orchestrator's tool both end in `shortfall_step`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant import steps
from assistant.deps import AssistantDeps
from assistant.session import ThreadState
from tools.contracts import DropSubtask, SubtaskPlan
from tools.errors import InvalidEdit
from tools.stages.plan_edits import plan_diff, resolve_subtask, sync_spec
from tools.stages.refine import revise

Choice = Literal["relax", "drop"]

_DROP = re.compile(r"\b(drop|remove|delete|cut|get rid of|skip|leave out|give up on)\b", re.IGNORECASE)
_RELAX = re.compile(r"\b(relax|keep|accept|settle|shrink|lower|reduce|fine with|good enough|enough)\b", re.IGNORECASE)
# What is left of a message once the choice's words are gone names the subtask ("drop the fractions subtask").
_COUNTS = re.compile(r"\b\d+\s+(?=(?:it|they|samples?|items?|questions?|accepted|of)\b)", re.IGNORECASE)
_NOISE = re.compile(
    r"\b(please|ok|okay|then|just|only|so|and|let'?s|we|i|you|can|could|would|will|to|for|with|what|which|that|this|"
    r"those|them|it|its|they|has|have|had|got|gets|the|of|as|is|are|be|samples?|items?|questions?|accepted|subtask|"
    r"quota|instead|build|benchmark|finish|rest|others?|one|there|now|already|do|quota|at|in|on|up|out|rid|get|"
    r"give|leave|fine|good|enough|drop|remove|delete|cut|skip|relax|keep|accept|settle|shrink|lower|reduce)\b",
    re.IGNORECASE,
)


# "don't drop it", "not drop", "never remove": the word after it is not what the user asks for.
_NEGATION = re.compile(r"\b(?:don'?t|do not|never|not|no need to|rather not|without)\s+(?:\w+\s+)?$", re.IGNORECASE)
_NEGATED_WORDS = re.compile(r"\b(?:don'?t|do not|never|not|no need to|rather not|without)\b", re.IGNORECASE)


def _asked(pattern: re.Pattern[str], message: str) -> re.Match[str] | None:
    """The first of `pattern`'s words in `message` that is not negated."""
    return next((m for m in pattern.finditer(message) if not _NEGATION.search(message[: m.start()])), None)


@dataclass(frozen=True)
class ShortSubtask:
    """A subtask the last build left below its quota, and what can be done about it."""

    subtask_id: str
    name: str
    accepted: int
    quota: int
    reasons: list[str]
    can_relax: bool  # it has at least one sample to keep
    can_drop: bool  # another subtask remains to take its quota


def short_subtasks(state: ThreadState) -> list[ShortSubtask]:
    """The short subtasks of the thread's finished build, in plan order; none unless that build fell short."""
    build, plan = state.build, state.plan
    if state.phase != "built" or build is None or build.status != "short" or plan is None:
        return []
    outcomes = {o.subtask_id: o for o in build.shortfalls}
    return [ShortSubtask(subtask_id=s.id, name=s.name, accepted=outcomes[s.id].accepted, quota=outcomes[s.id].quota,
                         reasons=outcomes[s.id].top_drop_reasons, can_relax=outcomes[s.id].accepted >= 1,
                         can_drop=len(plan.subtasks) > 1)
            for s in plan.subtasks if s.id in outcomes]


def describe_options(short: list[ShortSubtask]) -> str:
    return "; ".join(f"{s.name} ({s.accepted}/{s.quota}: " + " or ".join(
        ([f"'keep what {s.name} has'"] if s.can_relax else []) + ([f"'drop {s.name}'"] if s.can_drop else [])) + ")"
        for s in short)


async def shortfall_step(deps: AssistantDeps, subtask_id: str, choice: Choice) -> str:
    """Relax or drop one short subtask as a new plan version, then continue the short build in its directory."""
    state = deps.state
    short = short_subtasks(state)
    target = next((s for s in short if s.subtask_id == subtask_id), None)
    if not short:
        return "The last build did not fall short: there is no subtask to relax or drop."
    if target is None or choice not in ("relax", "drop"):
        return f"Only a short subtask can be relaxed or dropped here: {describe_options(short)}."
    assert state.plan is not None and state.spec is not None
    if choice == "relax" and not target.can_relax:
        return f"{target.name} has no accepted sample to keep; it can only be dropped ('drop {target.name}')."
    if choice == "drop" and not target.can_drop:
        return (f"{target.name} is the only subtask, so it cannot be dropped"
                + (f"; keep the {target.accepted} it has instead." if target.can_relax else "."))
    if choice == "relax":
        plan = _relaxed(state.plan, target)
        spec = sync_spec(state.spec, plan)
    else:
        revision = revise(state.plan, state.spec, [DropSubtask(op="drop", subtask=target.subtask_id)],
                          max_size=deps.settings.max_size)
        plan, spec = revision.plan, revision.spec
    changes = plan_diff(state.plan, plan, spec)
    note = "relaxed after a short build" if choice == "relax" else "dropped after a short build"
    version = state.commit(plan, spec, f"{note}: {target.name}", changes)
    state.pending = None
    result = await steps.build_step(deps, continue_short=True)
    return f"Plan v{version.number}: {'; '.join(changes)}. {result}"


def _relaxed(plan: SubtaskPlan, target: ShortSubtask) -> SubtaskPlan:
    """`plan` with the short subtask's quota lowered to what it has; the other quotas (and samples) unchanged."""
    return plan.model_copy(update={"subtasks": [
        s.model_copy(update={"quota": target.accepted}) if s.id == target.subtask_id else s for s in plan.subtasks
    ]})


def read_choice(message: str, state: ThreadState) -> tuple[str, Choice] | str:
    """Which short subtask and which choice `message` asks for, or what to ask the user when it is unclear."""
    short = short_subtasks(state)
    if not short or state.plan is None:
        return "The last build did not fall short: there is no subtask to relax or drop."
    drop, relax = _asked(_DROP, message), _asked(_RELAX, message)
    if drop is None and relax is None:
        return f"Say which to do with each short subtask: {describe_options(short)}."
    choice: Choice = "drop" if relax is None or (drop is not None and drop.start() < relax.start()) else "relax"
    message = _NEGATED_WORDS.sub(" ", message)
    named = re.sub(r"[^\w\s-]", " ", _NOISE.sub(" ", _COUNTS.sub(" ", message)))
    named = re.sub(r"\s+", " ", named).strip()
    if not named:
        if len(short) == 1:
            return short[0].subtask_id, choice
        return f"Which subtask? {describe_options(short)}."
    try:
        subtask = resolve_subtask(state.plan, named)
    except InvalidEdit:
        return f"I could not tell which subtask you mean by '{named}'. The short ones: {describe_options(short)}."
    return subtask.id, choice


async def shortfall_from_words(deps: AssistantDeps) -> str:
    """The orchestrator's way in: the user's latest message read as a choice, then the same step as the buttons."""
    read = read_choice(deps.state.last_message, deps.state)
    if isinstance(read, str):
        return read
    return await shortfall_step(deps, *read)
