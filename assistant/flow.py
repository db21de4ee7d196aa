"""The conversation table: which step each phase offers for a typed message, a button or the model's choice.

Every way in reads this one table: `conversation.respond` (typed messages), `conversation.press`
(buttons), the orchestrator's `FlowControl` (the tools the model may choose among) and the tools
themselves (agent.py registers one tool per step listed here with a `doc`). A weak model cannot
derail the flow: in each phase it is offered only the row's steps, and a message that plainly asks
for one step ("go", "undo", "preview", "drop 2", or after a short build "keep what Fractions has")
narrows its choice to that step. Buttons, and the typed messages a row reads itself (a value the
assistant asked for, "accept all", a request about files not attached yet), never reach the model.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from assistant import (
    audit_chat,
    evaluation,
    file_requests,
    material,
    previews,
    publishing,
    refinement,
    shortfall,
    steps,
)
from assistant.deps import AssistantDeps
from assistant.editor import Ask, describe, next_ask, to_edit, with_typed_value
from assistant.session import PendingInput, Phase, ThreadState
from tools.errors import BenchmarkAgentError
from tools.stages.amounts import NUMBER

# The steps the model may choose (their names are the tool names it sees).
ANALYZE = "analyze_request"
DESIGN = "design_plan"
BUILD = "build_benchmark"
REFINE = "refine_plan"
UNDO = "undo_plan"
PREVIEW = "preview_samples"
SHORTFALL = "settle_shortfall"
EVALUATE = "evaluate_models"
REFRESH = "refresh_benchmark"
CHECK = "check_benchmark_file"
STOP = "stop_build"
PUBLISH = "publish_benchmark"
# The steps only a button runs.
ANSWER = "answer_question"
EDIT = "edit_plan"
REVIEW = "review_preview"

STALE = "That button is out of date: the conversation has moved on."

Condition = Literal["can_undo", "short_build", "benchmark_file"]
View = Literal["turn", "editor", "previews", "note"]  # what the chat shows after a step: see screen.show


@dataclass(frozen=True)
class Given:
    """What a step runs on: the user's latest message (typed, or passed on by the model) or a button's payload."""

    message: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A step's result when the chat should show more, or less, than a whole turn."""

    text: str
    view: View = "turn"
    ask: Ask | None = None  # the plan editor's next question


Run = Callable[[AssistantDeps, Given], Awaitable[str | Outcome] | str | Outcome]


@dataclass(frozen=True)
class Step:
    name: str
    run: Run
    doc: str = ""  # what the model reads when the step is offered as a tool; empty: a button's step only
    needs: Condition | None = None  # offered only while this holds
    # What the step says is shown as it is, not as the chat model passes it on: a plan edit's reply lists every
    # instruction of the message with what became of it, which a paraphrase may shorten.
    verbatim: bool = False


# A typed message one of these reads is answered without the model; `pending` is what the assistant asked for.
Reader = Callable[[AssistantDeps, str, PendingInput | None], str | None]


@dataclass(frozen=True)
class Row:
    """What one phase offers. A typed message goes, in this order, to a reader, to `confirm` when it is a
    confirmation, to the step of the first command whose words it contains, or to the model's choice of `tools`."""

    confirm: str | None = None
    readers: tuple[Reader, ...] = ()
    commands: tuple[tuple[re.Pattern[str], str], ...] = ()
    tools: tuple[str, ...] = ()
    buttons: Mapping[str, str] = field(default_factory=dict)  # action callback name -> step


# --- the steps ---------------------------------------------------------------------------------


async def _undo(deps: AssistantDeps, given: Given) -> str:
    # A button goes back one version; words may name one ("back to v2").
    return await refinement.undo_step(deps, refinement.version_in(given.message) if given.message else None)


async def _shortfall(deps: AssistantDeps, given: Given) -> str:
    if "subtask" in given.payload:  # a button names the subtask and the choice
        return await shortfall.shortfall_step(deps, str(given.payload["subtask"]), given.payload["choice"])
    return await shortfall.shortfall_from_words(deps)


def _edit(deps: AssistantDeps, given: Given) -> str | Outcome:
    """One click of the plan editor: its next question, or the finished edit applied without any model."""
    state = deps.state
    if state.plan is None:
        return "There is no plan to change yet: confirm the spec first."
    if given.payload.get("cancel"):
        state.pending = None
        return Outcome("", view="editor")
    partial = dict(given.payload.get("edit") or {})
    try:
        ask = next_ask(state.plan, partial, max_size=deps.settings.max_size)
    except BenchmarkAgentError as exc:
        return Outcome(str(exc), view="note")
    if isinstance(ask, Ask):
        state.pending = PendingInput(kind="edit", edit=partial, prompt=ask.text) if ask.typed else None
        return Outcome("", view="editor", ask=ask)
    return refinement.edit_step(deps, [ask], describe(ask, state.plan))


def _review(deps: AssistantDeps, given: Given) -> Outcome:
    """A verdict on one preview: the previews and the card change in place; only a refusal is said."""
    item = str(given.payload["item"])
    known = deps.state.plan is not None and any(p.id == item for p in deps.state.previews)
    text = previews.review_step(deps, item, given.payload["verdict"], given.payload.get("reason"))
    return Outcome("" if known else text, view="previews")


def _doc(text: str) -> str:
    return inspect.cleandoc(text)


STEPS: Mapping[str, Step] = MappingProxyType({step.name: step for step in (
    Step(ANALYZE, lambda deps, given: steps.analyze_step(deps), doc=_doc("""
        Read the user's latest message and create or update the benchmark spec from it. Use it for a new
        request, for answers to your questions, and for any change to size, format, difficulty or topic.""")),
    Step(DESIGN, lambda deps, given: steps.design_step(deps), doc=_doc("""
        Design the subtasks of the confirmed spec, with a quota for each. Use it when the user confirms the spec
        or asks for a different split into subtasks.""")),
    Step(BUILD, lambda deps, given: steps.build_step(deps), doc=_doc("""
        Generate, verify and export the benchmark for the confirmed plan. Use it when the user confirms the plan.""")),
    Step(REFINE, lambda deps, given: refinement.refine_step(deps), doc=_doc("""
        Change the current plan as the user's latest message asks: drop, add, rename, split into easy and hard,
        merge, change a quota or the total size, make harder, or change the answer format. Makes a new plan version."""),
        verbatim=True),
    Step(UNDO, _undo, needs="can_undo", doc=_doc("""
        Undo the last change to the plan, going back to the previous plan version (or to the version the user names).""")),
    Step(PREVIEW, lambda deps, given: previews.preview_step(deps), doc=_doc("""
        Generate a few preview samples per subtask for the user to accept, reject or edit before the build.""")),
    Step(SHORTFALL, _shortfall, needs="short_build", doc=_doc("""
        The last build fell short of a subtask's quota. As the user's latest message says, either keep the samples
        that subtask has (its quota becomes that number, the benchmark gets smaller) or drop the subtask (the other
        subtasks get its samples), then finish the same build without redoing anything. Use it for messages like
        'keep what Fractions has', 'relax Fractions' or 'drop Fractions'.""")),
    Step(EVALUATE, lambda deps, given: evaluation.evaluate_step(deps, given.message), doc=_doc("""
        Evaluate models on the finished benchmark: each model the user's latest message names (provider:name, or
        'the panel') answers every item; shows a leaderboard with 95% intervals. Use it for messages like
        'evaluate openai:gpt-4o-mini and openai:llama3.1:8b'.""")),
    Step(REFRESH, lambda deps, given: steps.build_step(deps, fresh=True), doc=_doc("""
        Build a fresh version of the finished benchmark: the same spec and plan, de-duplicated against every item of
        it and of its earlier versions, so a benchmark models have saturated or seen can be renewed. Use it for
        messages like 'make a fresh version' or 'refresh the benchmark'.""")),
    Step(CHECK, lambda deps, given: audit_chat.check_step(deps, given.message), needs="benchmark_file", doc=_doc("""
        Run the quality checks over a benchmark file the user attached (.jsonl, .csv, .parquet), theirs or anyone's:
        schema, answer leakage, duplicates, executed answers, and with a real model an inspector and a re-solve.
        Use it for messages like 'check this benchmark' or 'audit data.csv'.""")),
    Step(PUBLISH, lambda deps, given: publishing.publish_step(deps, given.message, given.payload), verbatim=True,
         doc=_doc("""
        Publish the finished benchmark to the shared catalog, so its samples take part in every user's
        de-duplication and every user's catalog lists it; or, when the user's latest message asks to unpublish it
        or make it private, take it back. Use it for messages like 'publish it' or 'unpublish the benchmark'.""")),
    Step(STOP, lambda deps, given: steps.stop_build(deps)),
    Step(ANSWER, lambda deps, given: steps.answer_step(deps, int(given.payload["index"]))),
    Step(EDIT, _edit),
    Step(REVIEW, _review),
)})

TOOLS = tuple(name for name, step in STEPS.items() if step.doc)

_CONDITIONS: Mapping[Condition, Callable[[ThreadState], bool]] = MappingProxyType({
    "benchmark_file": lambda state: bool(audit_chat.auditable_files(state.material_dir)),
    "can_undo": lambda state: state.version is not None and state.version.parent is not None,
    "short_build": lambda state: bool(shortfall.short_subtasks(state)),
})


# --- typed messages read without the model -----------------------------------------------------


def typed_value(deps: AssistantDeps, message: str, pending: PendingInput | None) -> str | None:
    """The value the plan editor or a preview review asked for (a number, a name, a reason, a correction)."""
    state = deps.state
    if pending is not None and pending.kind == "edit" and state.plan is not None:
        partial = with_typed_value(pending.edit, message)
        if partial is not None:
            edit = to_edit(partial)
            return refinement.edit_step(deps, [edit], describe(edit, state.plan))
    elif pending is not None and pending.item_id is not None:
        verdict: previews.Verdict = "reject" if pending.kind == "reject_reason" else "edit"
        return previews.review_step(deps, pending.item_id, verdict, message)
    return None


def review_words(deps: AssistantDeps, message: str, pending: PendingInput | None) -> str | None:
    """'accept all', 'reject 2 because it is too easy', 'edit 3: Q => A'."""
    return previews.review_command(deps, message)


def files_wanted(deps: AssistantDeps, message: str, pending: PendingInput | None) -> str | None:
    """A request about files none of which is attached yet: ask for them and keep the request."""
    return file_requests.ask_for_files(deps, message)


def material_words(deps: AssistantDeps, message: str, pending: PendingInput | None) -> str | None:
    """Before there is a plan to edit: 'the gold answer is in label', 'use only chapter 3' (with the plan, these
    are plan edits: refine_plan reads them)."""
    return material.read_words(deps, message)


# --- plain commands: words that narrow the model's choice to one step ---------------------------

_CONFIRM = re.compile(
    r"^\s*(go|go ahead|yes|y|yep|ok|okay|sure|confirm(ed)?|looks good|lgtm|build( it)?|start|proceed|"
    r"accept( defaults)?|use (the )?defaults|do it|sounds good|perfect|great)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_UNDO = re.compile(r"^\s*(please\s+)?(undo|revert|go back|roll ?back|restore)\b", re.IGNORECASE)
_PREVIEW = re.compile(r"\b(preview|show (me )?(some |a few )?(samples|examples|items)|try (it|a few) first)\b", re.IGNORECASE)
_EDIT = re.compile(
    r"\b(drop|remove|delete|add|rename|split|merge|combine|harder|easier|simpler|more difficult|quota|format|"
    r"double|halve|half|triple|twice|bigger|smaller|fewer|percent|"
    r"multiple[- ]choice|yes/no|numeric|short answers?)\b|\d\s?%|"
    rf"(?:{NUMBER})\s*(-\s*)?(items?|samples?|questions?)\b",
    re.IGNORECASE,
)
# After a build that fell short: relax a short subtask (keep what it has) or drop it.
_SHORTFALL = re.compile(r"\b(relax|keep|accept|settle|drop|remove|delete|get rid of|skip|leave out)\b", re.IGNORECASE)
# Words about the user's material ('use only chapter 3', 'skip the appendix', "use 'summary' as context").
_MATERIAL = re.compile(
    r"^\s*(?:please\s+)?(?:(?:use|keep|take|read|cover) only|only|skip|ignore|exclude|omit|stick to|focus on|treat)\b|"
    r"\bas (?:the |a |an )?(?:context|passages?|gold answers?|answers?|questions?|labels?)\s*[.!]?\s*$|"
    r"\b(?:gold |correct )?answers? (?:is|are|comes?) (?:in|from)\b|\b(?:field|column)s?\b",
    re.IGNORECASE)
_EVALUATE = re.compile(r"\b(evaluate|leaderboard|score (the |some |these )?models?|run (it|the benchmark) on)\b",
                       re.IGNORECASE)
_REFRESH = re.compile(r"\b((a |another )?(fresh|new) version|refresh|renew)\b", re.IGNORECASE)
_REDESIGN = re.compile(r"\b(redesign|new plan|different subtasks|design (it )?again|start the plan over)\b", re.IGNORECASE)


# --- the table ---------------------------------------------------------------------------------

TABLE: Mapping[Phase, Row] = MappingProxyType({
    "gathering": Row(readers=(files_wanted, material_words), commands=((audit_chat.WORDS, CHECK),), tools=(ANALYZE, CHECK)),
    "clarifying": Row(confirm=DESIGN, readers=(files_wanted, material_words), commands=((audit_chat.WORDS, CHECK),),
                      tools=(ANALYZE, CHECK), buttons={"answer": ANSWER, "confirm": DESIGN}),
    "spec_ready": Row(confirm=DESIGN, readers=(files_wanted, material_words), commands=((audit_chat.WORDS, CHECK),),
                      tools=(ANALYZE, CHECK), buttons={"confirm": DESIGN}),
    "planned": Row(
        confirm=BUILD,
        readers=(typed_value, review_words),
        commands=((_UNDO, UNDO), (_PREVIEW, PREVIEW), (_REDESIGN, DESIGN), (_MATERIAL, REFINE), (_EDIT, REFINE)),
        tools=(REFINE, ANALYZE, DESIGN, PREVIEW, UNDO),
        buttons={"confirm": BUILD, "preview": PREVIEW, "edit": EDIT, "undo": UNDO, "review": REVIEW},
    ),
    # The running build owns the thread: conversation.respond answers with its progress, or stops it.
    "building": Row(buttons={"stop": STOP}),
    "built": Row(readers=(files_wanted, material_words),
                 commands=((publishing.WORDS, PUBLISH), (_EVALUATE, EVALUATE), (_REFRESH, REFRESH),
                           (audit_chat.WORDS, CHECK), (_SHORTFALL, SHORTFALL)),
                 tools=(ANALYZE, SHORTFALL, EVALUATE, REFRESH, CHECK, PUBLISH),
                 buttons={"shortfall": SHORTFALL, "publish": PUBLISH}),
})

BUTTONS = frozenset(name for row in TABLE.values() for name in row.buttons)


def is_confirmation(message: str) -> bool:
    return bool(_CONFIRM.match(message))


def conditions(state: ThreadState) -> frozenset[Condition]:
    return frozenset(name for name, holds in _CONDITIONS.items() if holds(state))


def _offered(name: str, met: frozenset[Condition]) -> bool:
    needs = STEPS[name].needs
    return needs is None or needs in met


def tools_for(phase: Phase, message: str, met: frozenset[Condition]) -> tuple[str, ...]:
    """The tools the model may choose among for `message` in `phase`, when the conditions `met` hold."""
    row = TABLE[phase]
    if row.confirm is not None and is_confirmation(message):
        return (row.confirm,)
    for pattern, name in row.commands:
        if _offered(name, met) and pattern.search(message):
            return (name,)
    return tuple(name for name in row.tools if _offered(name, met))


def allowed_tools(phase: Phase, message: str, *, can_undo: bool = True, short_build: bool = False) -> tuple[str, ...]:
    """`tools_for` with the conditions as flags; `short_build`: the finished build fell short of a quota."""
    met: set[Condition] = {"can_undo"} if can_undo else set()
    if short_build:
        met.add("short_build")
    return tools_for(phase, message, frozenset(met))


def offered_tools(state: ThreadState) -> tuple[str, ...]:
    """The tools on offer for the thread's latest message, in its phase."""
    return tools_for(state.phase, state.last_message, conditions(state))


def confirm_step(phase: Phase) -> str | None:
    """The step a confirmation (typed, or the confirm button) runs in `phase`."""
    return TABLE[phase].confirm


def button_step(state: ThreadState, action: str) -> Step | None:
    """The step the button `action` runs in the thread's phase, or None when the table does not offer it now."""
    name = TABLE[state.phase].buttons.get(action)
    return STEPS[name] if name is not None and _offered(name, conditions(state)) else None


def refusal(state: ThreadState, action: str, payload: Mapping[str, Any]) -> str | None:
    """What to say instead of running a button: one made for an earlier phase or plan version, or one whose step
    this phase does not offer, does nothing. None when the button may run."""
    version = state.version.number if state.version else None
    fresh = payload.get("phase", state.phase) == state.phase and payload.get("version", version) == version
    return None if fresh and button_step(state, action) is not None else STALE


def read_without_model(deps: AssistantDeps, message: str, pending: PendingInput | None) -> str | None:
    """The reply of the first of the phase's readers that reads `message`, or None: then the model chooses."""
    for reader in TABLE[deps.state.phase].readers:
        reply = reader(deps, message, pending)
        if reply is not None:
            return reply
    return None


async def run(step: Step, deps: AssistantDeps, given: Given) -> str | Outcome:
    result = step.run(deps, given)
    return await result if inspect.isawaitable(result) else result
