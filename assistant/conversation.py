"""One chat turn or one button press: the conversation table says which step runs; the thread is saved after it.

A typed message goes to `respond` (the phase's readers, or the model choosing among the steps the
table offers); a button goes to `press` (the step the table gives that button, without any model).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.exceptions import AgentRunError

from assistant import flow, material, steps
from assistant.agent import chat_agent
from assistant.deps import AssistantDeps
from assistant.editor import Ask
from assistant.model_registry import uses_toy_model
from assistant.session import ThreadStore
from tools.errors import BenchmarkAgentError

STOP_WORDS = re.compile(r"^\s*(?:please\s+)?(?:stop|cancel|halt|abort)\b", re.IGNORECASE)  # while a build runs


@dataclass(frozen=True)
class Reply:
    text: str
    notices: list[str] = field(default_factory=list)
    view: flow.View = "turn"  # what the chat shows with it: see screen.show
    ask: Ask | None = None


async def attach(deps: AssistantDeps, threads: ThreadStore, elements: Sequence[Any],
                 on_progress: Callable[[str], None] | None = None) -> Reply:
    """Files attached to a message: read into the thread's material, each named in the reply with what was read or
    why it was not. Refused, and said so, while this thread's build runs (it reads the same material)."""
    state = deps.state
    if state.phase == "building" and (state.thread_id in deps.active_builds or deps.build_elsewhere is not None):
        names = ", ".join(f"`{getattr(e, 'name', '?')}`" for e in elements)
        return Reply(f"A build is running on this conversation's material, so {names} was not read: attach it again "
                     "once the build has finished.", view="note")
    text = "Reading the attached files was interrupted; nothing of the spec or plan changed."
    try:
        text = await material.attach(deps, elements, on_progress=on_progress)
    except BenchmarkAgentError as exc:
        text = str(exc)
    finally:
        await threads.save(state)
    return Reply(text, _take_notices(deps))


def check_message(message: str, max_chars: int) -> str | None:
    """A reply for a message that cannot be a request, or None when it can go to the agent."""
    if len(message) > max_chars:
        return (f"That message has {len(message):,} characters, more than this server reads in one message "
                f"({max_chars:,}, the setting BENCHMARK_AGENT_MAX_MESSAGE_CHARS). Describe the benchmark in a few "
                "sentences, or attach long material as a file; nothing of your current spec was changed.")
    if not re.search(r"[^\W_]", message):
        return ("I did not find a request in that message. Tell me what the benchmark should test, for example "
                "'40 multiple-choice questions on European geography' or '60 arithmetic word problems harder than GSM8K'.")
    return None


async def respond(deps: AssistantDeps, message: str, threads: ThreadStore) -> Reply:
    """Answer one user message; the thread's state is saved whatever happens."""
    state = deps.state
    rejected = check_message(message, deps.settings.max_message_chars)
    if rejected is not None:
        return Reply(rejected, _take_notices(deps))
    if state.phase == "building" and deps.build_elsewhere is not None:
        return Reply(steps.running_elsewhere(deps.build_elsewhere), _take_notices(deps), view="note")
    if state.phase == "building" and state.thread_id in deps.active_builds:
        # Answered at once and without saving: the running build owns the thread's state (and card) until it ends.
        if STOP_WORDS.match(message):
            return Reply(steps.stop_build(deps), view="note")
        return Reply(steps.building_status(deps), _take_notices(deps), view="note")
    state.last_message = message
    deps.acted, deps.summary, deps.ran, deps.refused = False, None, None, False
    text = "The turn was interrupted; your spec and plan are saved."
    try:
        # A typed message answers what the assistant asked for, or leaves it unanswered.
        pending, state.pending = state.pending, None
        direct = flow.read_without_model(deps, message, pending)
        if direct is not None:
            text = direct
        else:
            result = await chat_agent.run(message, deps=deps, message_history=state.history(),
                                          model=deps.models.model("chat"))
            state.set_history(result.all_messages())
            # The embedded toy model's words are rarely about the benchmark: the step's own summary says it. So it
            # does for a step whose words are shown as they are (a plan edit's list of instructions).
            verbatim = deps.ran is not None and (flow.STEPS[deps.ran].verbatim or deps.refused)
            text = deps.summary if deps.summary and (uses_toy_model(deps.models) or verbatim) else result.output
    except BenchmarkAgentError as exc:
        text = str(exc)
    except AgentRunError as exc:
        text = f"The chat model could not complete this step ({exc}). Your spec and plan are unchanged; try again."
    finally:
        reply = await _finish(deps, threads, text)
    return reply


async def press(deps: AssistantDeps, threads: ThreadStore, action: str, payload: Mapping[str, Any]) -> Reply:
    """What a button does: the step the table gives it in this phase, without the model; a button the table does
    not offer now, or one made for an earlier phase or plan version, does nothing but say so."""
    refused = flow.refusal(deps.state, action, payload)
    step = flow.button_step(deps.state, action)
    if refused is not None or step is None:
        return Reply(refused or flow.STALE, view="note")
    return await run_step(deps, threads, lambda: flow.run(step, deps, flow.Given(payload=payload)))


async def run_next_step(deps: AssistantDeps, threads: ThreadStore) -> Reply:
    """What a confirmation does: run the phase's next step directly, without asking the model."""
    if flow.confirm_step(deps.state.phase) is None:
        return Reply("There is nothing to confirm right now.", _take_notices(deps))
    return await press(deps, threads, "confirm", {})


async def run_step(deps: AssistantDeps, threads: ThreadStore,
                   step: Callable[[], Awaitable[str | flow.Outcome] | str | flow.Outcome]) -> Reply:
    """Run one step directly, without the model; the thread is saved whatever happens."""
    outcome = flow.Outcome("The step was interrupted; your spec and plan are saved.")
    try:
        result = step()
        result = await result if inspect.isawaitable(result) else result
        outcome = result if isinstance(result, flow.Outcome) else flow.Outcome(result)
    except BenchmarkAgentError as exc:
        outcome = flow.Outcome(str(exc))
    finally:
        reply = await _finish(deps, threads, outcome.text)
    return Reply(reply.text, reply.notices, view=outcome.view, ask=outcome.ask)


def _take_notices(deps: AssistantDeps) -> list[str]:
    notices, deps.state.notices = deps.state.notices, []
    return notices


async def _finish(deps: AssistantDeps, threads: ThreadStore, text: str) -> Reply:
    notices = _take_notices(deps)
    await threads.save(deps.state)  # committed before the reply is shown: the next message reads this state
    return Reply(text, notices)
