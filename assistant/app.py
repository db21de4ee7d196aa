"""The Chainlit shell: turns chat events into conversation turns and renders what the pipeline reports.

What the thread holds is shown in one card (spec, questions, plan, build) that is replaced each
turn, with buttons that run every step without the model. Threads are stored per signed-in user
(chat_history.FileDataLayer), so a reload or a server restart reopens them with their state.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, NamedTuple

import chainlit as cl
from chainlit.types import ThreadDict

from assistant import auth, previews, screen, shortfall
from assistant.chat_history import FileDataLayer
from assistant.conversation import respond, run_next_step, run_step
from assistant.deps import AssistantDeps, memory_embedder, open_catalog, open_store
from assistant.editor import Ask, describe, next_ask
from assistant.model_registry import TOY_MODEL_WARNING, model_warnings, stage_models
from assistant.refinement import edit_step, undo_step
from assistant.render import (
    DOWNLOADS,  # noqa: F401  (re-exported: the tests name the files by it)
    state_view,
)
from assistant.session import PendingInput, ThreadState, ThreadStore
from assistant.settings import Settings
from assistant.steps import answer_step, plan_estimate, recover_interrupted
from memory.catalog import PriorCatalog
from memory.store import SampleStore
from tools.contracts import BuildEvent
from tools.errors import BenchmarkAgentError
from tools.llm.stage import StageModels

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# Read at import, because Chainlit needs the secret and the sign-in method before it serves.
_BOOT = Settings()
auth.ensure_auth_secret(_BOOT.data_dir)


# Not a dataclass: `chainlit run` executes this file without registering it in sys.modules, and
# @dataclass then fails on the postponed annotations (AttributeError in dataclasses._is_type).
class Runtime(NamedTuple):
    settings: Settings
    models: StageModels
    store: SampleStore
    threads: ThreadStore
    active_builds: set[str]
    catalog: PriorCatalog | None = None


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    # One per server process: models and the embedding model load once, not per chat.
    settings = Settings()
    embedder = memory_embedder()  # one model for the samples memory and the catalog
    return Runtime(settings=settings, models=stage_models(settings), store=open_store(settings, embedder),
                   threads=ThreadStore(settings.data_dir / "threads"), active_builds=set(),
                   catalog=open_catalog(settings, embedder))


@cl.data_layer
def chat_history() -> FileDataLayer:
    return FileDataLayer(Settings().data_dir / "chat")


async def password_user(username: str, password: str) -> cl.User | None:
    return auth.password_user(runtime().settings, username, password)


async def header_user(headers: Any) -> cl.User | None:
    return auth.header_user(runtime().settings, headers)


if _BOOT.users():
    cl.password_auth_callback(password_user)
else:
    cl.header_auth_callback(header_user)


class ProgressView:
    """The build's progress in the chat: a task list with one task per subtask (accepted of its quota) headed by
    the samples accepted and the tokens and money spent so far, and one step per pipeline stage with its latest
    events, all updated in place."""

    def __init__(self, state: ThreadState | None = None) -> None:
        self.state = state
        self.steps: dict[str, cl.Step] = {}
        self.lines: dict[str, list[str]] = {}
        self.tasks: cl.TaskList | None = None
        self.subtasks: dict[str, tuple[cl.Task, int]] = {}  # task and quota, by subtask id
        self.accepted = self.total = 0
        self.resumed = False

    async def __call__(self, event: BuildEvent) -> None:
        step = self.steps.get(event.stage)
        if step is None:
            step = cl.Step(name=f"{event.stage}", type="tool")
            self.steps[event.stage], self.lines[event.stage] = step, []
            await step.send()
        lines = self.lines[event.stage]
        counter = f" ({event.done}/{event.total})" if event.total else ""
        lines.append(f"- {event.kind}{counter}: {event.message}")
        spent = [f"Spent so far: {event.spend.describe()}", ""] if event.spend else []
        step.output = "\n".join([*spent, *lines[-12:]])
        await step.update()
        await self._task_list(event)

    async def _task_list(self, event: BuildEvent) -> None:
        finished = event.stage == "build" and event.kind == "finished"
        if event.stage == "build" and event.kind == "started":
            self.tasks, self.subtasks, self.total = cl.TaskList(), {}, event.total or 0
            plan = self.state.plan if self.state is not None else None
            for subtask in plan.subtasks if plan else []:
                task = cl.Task(title=f"{subtask.name} ({subtask.quota})")
                self.subtasks[subtask.id] = (task, subtask.quota)
                await self.tasks.add_task(task)
        elif event.stage == "generate" and event.kind == "started":  # sent once the checkpoints are read
            self.accepted, self.resumed = event.done or 0, bool(event.done)
        elif event.kind == "accepted":
            self.accepted += 1
            if event.subtask_id in self.subtasks:
                task, quota = self.subtasks[event.subtask_id]
                task.title = event.message
                task.status = cl.TaskStatus.DONE if (event.done or 0) >= quota else cl.TaskStatus.RUNNING
        elif finished:
            complete = (event.done or 0) >= (event.total or 0)
            for task, _ in self.subtasks.values():
                if complete:
                    task.status = cl.TaskStatus.DONE
                elif task.status == cl.TaskStatus.RUNNING or task.status == cl.TaskStatus.READY and not self.resumed:
                    task.status = cl.TaskStatus.FAILED  # this run ended with it below its quota
                # (a task a resumed run saw no sample of was filled before, or not: it stays as it is)
        elif event.kind != "rejected":
            return  # nothing the list shows has changed
        if self.tasks is not None:
            spent = f" · spent {event.spend.describe()}" if event.spend else ""
            self.tasks.status = f"{min(self.accepted, self.total)}/{self.total} accepted{spent}"
            await self.tasks.send()


def _owner() -> str | None:
    user = cl.context.session.user
    return user.identifier if user else None


def _deps(thread_id: str | None = None) -> AssistantDeps:
    rt = runtime()
    state = rt.threads.load(thread_id or cl.context.session.thread_id, owner=_owner())
    deps = AssistantDeps(settings=rt.settings, models=rt.models, store=rt.store, state=state,
                         on_event=ProgressView(state), threads=rt.threads, active_builds=rt.active_builds,
                         catalog=rt.catalog)
    recover_interrupted(deps)
    return deps


def _save(deps: AssistantDeps) -> None:
    runtime().threads.save(deps.state)


async def _run(deps: AssistantDeps, step: Callable[[], Awaitable[str] | str]) -> None:
    try:
        reply = await run_step(deps, runtime().threads, step)
    except Exception as exc:
        # Chainlit runs action callbacks without its error message (unlike on_message): say it here.
        await cl.ErrorMessage(content=f"The step failed unexpectedly ({exc.__class__.__name__}: {exc}).").send()
        raise
    await screen.show(reply, deps, runtime().threads)


async def _stale(deps: AssistantDeps, payload: dict[str, Any]) -> bool:
    """A button from an earlier plan version or phase does nothing, and says so."""
    state = deps.state
    version = state.version.number if state.version else None
    fresh = payload.get("phase", state.phase) == state.phase and payload.get("version", version) == version
    if not fresh:
        await cl.Message(content="That button is out of date: the conversation has moved on.").send()
    return not fresh


def _busy(handler: Callable[[cl.Action], Awaitable[None]]) -> Callable[[cl.Action], Awaitable[None]]:
    """Chainlit runs action callbacks without its "working" state (unlike messages): show it, so that a long
    step started by a button (a preview, a build) shows as running."""

    @functools.wraps(handler)
    async def wrapper(action: cl.Action) -> None:
        await cl.context.emitter.task_start()
        try:
            await handler(action)
        finally:
            await cl.context.emitter.task_end()

    return wrapper


# --- chat events --------------------------------------------------------------------------


@cl.on_chat_start
async def start() -> None:
    rt = runtime()
    models = ", ".join(f"{role}: `{name}`" for role, name in rt.models.names.items())
    lines = [f"Hello! I build evaluation benchmarks. Models in use: {models}."]
    if model_warnings(rt.models):
        lines.append(f"**Note:** {TOY_MODEL_WARNING}")
    lines.append("Describe the benchmark you want, e.g. *30 multiple-choice questions on European geography*.")
    await cl.Message(content="\n\n".join(lines)).send()


@cl.on_chat_resume
async def on_resume(thread: ThreadDict) -> None:
    """A reopened thread (page reload, server restart): its buttons, current card and files come back."""
    deps = _deps(thread["id"])
    state = deps.state
    on_screen = {step["id"]: step for step in thread["steps"]}
    state.buttons = [b for b in state.buttons if b.for_id in on_screen]
    for button in state.buttons:
        await cl.Action(name=button.name, payload=button.payload, label=button.label, id=button.id).send(for_id=button.for_id)
    card = on_screen.get(state.card_message_id or "")
    if card is not None:
        card["output"] = state_view(state, plan_estimate(deps))  # Chainlit shows the thread dict it passed here
        elements = thread.get("elements")
        for element in screen.files(deps):
            await element.send(for_id=card["id"])
            if elements is not None:
                elements.append(element.to_dict())
    notices, state.notices = state.notices, []
    for notice in notices:  # e.g. an interrupted build; sent here, so also added to what Chainlit shows
        message = cl.Message(content=f"_{notice}_")
        await message.send()
        thread["steps"].append(message.to_dict())  # type: ignore[arg-type]
    _save(deps)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    deps = _deps()
    reply = await respond(deps, message.content, runtime().threads)
    if deps.state.phase == "building" and deps.state.thread_id in deps.active_builds:
        # The running build owns this thread's state and card until it ends: answer, change nothing.
        await cl.Message(content=reply.text).send()
        return
    await screen.show(reply, deps, runtime().threads)


@cl.action_callback("confirm")
@_busy
async def on_confirm(action: cl.Action) -> None:
    deps = _deps()
    if await _stale(deps, action.payload):
        return
    await action.remove()
    try:
        reply = await run_next_step(deps, runtime().threads)
    except Exception as exc:
        # Chainlit runs action callbacks without its error message (unlike on_message): say it here.
        await cl.ErrorMessage(content=f"The step failed unexpectedly ({exc.__class__.__name__}: {exc}).").send()
        raise
    await screen.show(reply, deps, runtime().threads)


@cl.action_callback("answer")
@_busy
async def on_answer(action: cl.Action) -> None:
    deps = _deps()
    if not await _stale(deps, action.payload):
        await _run(deps, lambda: answer_step(deps, int(action.payload["index"])))


@cl.action_callback("edit")
@_busy
async def on_edit(action: cl.Action) -> None:
    deps = _deps()
    state = deps.state
    if await _stale(deps, action.payload) or state.plan is None:
        return
    if action.payload.get("cancel"):
        state.pending = None
        await screen.sync_editor(deps)
        _save(deps)
        return
    partial = dict(action.payload.get("edit") or {})
    try:
        ask = next_ask(state.plan, partial, max_size=deps.settings.max_size)
    except BenchmarkAgentError as exc:
        await cl.Message(content=str(exc)).send()
        return
    if isinstance(ask, Ask):
        state.pending = PendingInput(kind="edit", edit=partial, prompt=ask.text) if ask.typed else None
        await screen.sync_editor(deps, ask)
        _save(deps)
        return
    plan = state.plan
    await _run(deps, lambda: edit_step(deps, [ask], describe(ask, plan)))


@cl.action_callback("undo")
@_busy
async def on_undo(action: cl.Action) -> None:
    deps = _deps()
    if not await _stale(deps, action.payload):
        await _run(deps, lambda: undo_step(deps))


@cl.action_callback("shortfall")
@_busy
async def on_shortfall(action: cl.Action) -> None:
    """Keep what a short subtask has, or drop it, then continue the short build (buttons under a short build)."""
    deps = _deps()
    payload = action.payload
    if not await _stale(deps, payload):
        await _run(deps, lambda: shortfall.shortfall_step(deps, str(payload["subtask"]), payload["choice"]))


@cl.action_callback("preview")
@_busy
async def on_preview(action: cl.Action) -> None:
    deps = _deps()
    if await _stale(deps, action.payload):
        return
    # The step shows that work is under way; the previews are sent after it, not nested inside it.
    async with cl.Step(name="preview", type="tool") as step:
        step.input = f"{deps.settings.preview_size} samples per subtask"
        try:
            reply = await run_step(deps, runtime().threads, lambda: previews.preview_step(deps))
        except Exception as exc:
            await cl.ErrorMessage(content=f"The preview failed unexpectedly ({exc.__class__.__name__}: {exc}).").send()
            raise
        step.output = reply.text
    await screen.show(reply, deps, runtime().threads)


@cl.action_callback("review")
@_busy
async def on_review(action: cl.Action) -> None:
    deps = _deps()
    payload = action.payload
    reply = await run_step(deps, runtime().threads,
                           lambda: previews.review_step(deps, payload["item"], payload["verdict"], payload.get("reason")))
    if reply.text.startswith("That preview"):
        await cl.Message(content=reply.text).send()
    await screen.sync_previews(deps)
    if deps.state.card_message_id:
        await cl.Message(content=state_view(deps.state, plan_estimate(deps)), id=deps.state.card_message_id).update()
    _save(deps)
