"""One chat turn: check the message, let the orchestrator take a step, remember the thread."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic_ai.exceptions import AgentRunError

from assistant import previews, refinement, steps
from assistant.agent import chat_agent
from assistant.deps import AssistantDeps
from assistant.editor import describe, to_edit, with_typed_value
from assistant.flow import next_step
from assistant.model_registry import model_warnings
from assistant.session import ThreadStore
from tools.errors import BenchmarkAgentError

MAX_MESSAGE_CHARS = 20_000

_STEP_FUNCTIONS = {"design_plan": steps.design_step, "build_benchmark": steps.build_step}


@dataclass(frozen=True)
class Reply:
    text: str
    notices: list[str]


def check_message(message: str) -> str | None:
    """A reply for a message that cannot be a request, or None when it can go to the agent."""
    if not re.search(r"[^\W_]", message):
        return ("I did not find a request in that message. Tell me what the benchmark should test, for example "
                "'40 multiple-choice questions on European geography' or '60 arithmetic word problems harder than GSM8K'.")
    if len(message) > MAX_MESSAGE_CHARS:
        return (f"That message is {len(message) // 1000} KB, too long to read as a request (limit "
                f"{MAX_MESSAGE_CHARS // 1000} KB). Describe the benchmark in a few sentences; nothing of your "
                "current spec was changed.")
    return None


async def respond(deps: AssistantDeps, message: str, threads: ThreadStore) -> Reply:
    """Answer one user message; the thread's state is saved whatever happens."""
    state = deps.state
    rejected = check_message(message)
    if rejected is not None:
        return Reply(rejected, _take_notices(deps))
    if state.phase == "building" and state.thread_id in deps.active_builds:
        # Answered at once and without saving: the running build owns the thread's state until it ends.
        return Reply(steps.building_status(deps), _take_notices(deps))
    state.last_message = message
    deps.acted, deps.summary = False, None
    text = "The turn was interrupted; your spec and plan are saved."
    try:
        direct = _without_model(deps, message)
        if direct is not None:
            text = direct
        else:
            result = await chat_agent.run(message, deps=deps, message_history=state.history(),
                                          model=deps.models.model("chat"))
            state.set_history(result.all_messages())
            # The embedded toy model's words are rarely about the benchmark: the step's own summary says it.
            text = deps.summary if deps.summary and model_warnings(deps.models) else result.output
    except BenchmarkAgentError as exc:
        text = str(exc)
    except AgentRunError as exc:
        text = f"The chat model could not complete this step ({exc}). Your spec and plan are unchanged; try again."
    finally:
        reply = _finish(deps, threads, text)
    return reply


async def run_next_step(deps: AssistantDeps, threads: ThreadStore) -> Reply:
    """What a confirm button does: run the phase's next step directly, without asking the model."""
    step = next_step(deps.state.phase)
    if step is None:
        return Reply("There is nothing to confirm right now.", _take_notices(deps))
    text = "The step was interrupted; your spec and plan are saved."
    try:
        text = await _STEP_FUNCTIONS[step](deps)
    except BenchmarkAgentError as exc:
        text = str(exc)
    finally:
        reply = _finish(deps, threads, text)
    return reply


async def run_step(deps: AssistantDeps, threads: ThreadStore, step: Callable[[], Awaitable[str] | str]) -> Reply:
    """What a button does: run one step directly, without the model; the thread is saved whatever happens."""
    text = "The step was interrupted; your spec and plan are saved."
    try:
        result = step()
        text = await result if inspect.isawaitable(result) else result
    except BenchmarkAgentError as exc:
        text = str(exc)
    finally:
        reply = _finish(deps, threads, text)
    return reply


def _without_model(deps: AssistantDeps, message: str) -> str | None:
    """A reply to a value the assistant asked for, or to a plain preview review; None for everything else."""
    state = deps.state
    pending, state.pending = state.pending, None
    if pending is not None and pending.kind == "edit" and state.plan is not None:
        partial = with_typed_value(pending.edit, message)
        if partial is not None:
            edit = to_edit(partial)
            return refinement.edit_step(deps, [edit], describe(edit, state.plan))
    elif pending is not None and pending.item_id is not None:
        verdict: previews.Verdict = "reject" if pending.kind == "reject_reason" else "edit"
        return previews.review_step(deps, pending.item_id, verdict, message)
    if state.phase == "planned":
        return previews.review_command(deps, message)
    return None


def _take_notices(deps: AssistantDeps) -> list[str]:
    notices, deps.state.notices = deps.state.notices, []
    return notices


def _finish(deps: AssistantDeps, threads: ThreadStore, text: str) -> Reply:
    notices = _take_notices(deps)
    threads.save(deps.state)
    return Reply(text, notices)
