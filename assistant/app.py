"""The Chainlit shell: turns chat events into conversation turns and renders what the pipeline reports.

What the thread holds is shown in one card (spec, questions, plan, build) that is replaced each
turn, with buttons that run every step without the model. Threads and their state are stored per signed-in user
in one database (chat_history.HistoryLayer, session.ThreadStore), so a reload, a server restart or another server
process sharing the database reopens them with their state.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import chainlit as cl
from chainlit.config import config as chainlit_config
from chainlit.types import ThreadDict
from pydantic_ai.exceptions import ModelAPIError

from assistant import auth, boot, file_requests, screen, settings_panel
from assistant.build_slots import BuildSlots
from assistant.chat_history import HistoryLayer
from assistant.chat_markdown import keep_visible
from assistant.conversation import Reply, attach, press, respond
from assistant.database import Database, database_url
from assistant.deps import AssistantDeps, memory_embedder, open_catalog, open_store, settle_heap
from assistant.flow import BUTTONS, refusal
from assistant.leases import BuildLeases
from assistant.model_registry import TOY_MODEL_WARNING, stage_models, uses_toy_model
from assistant.render import DOWNLOADS  # noqa: F401  (re-exported: the tests name the files by it)
from assistant.session import ThreadStore
from assistant.settings import Settings
from assistant.steps import recover_interrupted, stop_build
from memory.catalog import PriorCatalog
from memory.store import SampleStore
from tools.errors import BenchmarkAgentError
from tools.llm.endpoints import server_message
from tools.llm.stage import StageModels

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# Read at import, because Chainlit needs the sign-in method, its secret, the allowed origins and the upload limits
# before it serves; a setting that would leave the server open stops the start here (assistant/boot.py).
_BOOT = Settings()
SIGN_IN = boot.prepare(_BOOT)


# Not a dataclass: `chainlit run` executes this file without registering it in sys.modules, and
# @dataclass then fails on the postponed annotations (AttributeError in dataclasses._is_type).
class Runtime(NamedTuple):
    settings: Settings
    models: StageModels
    store: SampleStore
    threads: ThreadStore
    active_builds: BuildSlots
    catalog: PriorCatalog | None = None
    build_tasks: dict[str, asyncio.Task[Any]] = {}
    stop_requests: set[str] = set()
    leases: BuildLeases | None = None


_LOADING = threading.Lock()  # one first load at a time (lru_cache alone lets two threads both load)
_OPENING = threading.Lock()  # likewise for the database, opened by the chat history on the loop too


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    # One per server process: models and the embedding model load once, not per chat.
    settings = Settings()
    embedder = memory_embedder()  # one model for the samples memory and the catalog
    loaded = Runtime(settings=settings, models=stage_models(settings), store=open_store(settings, embedder),
                     threads=ThreadStore(settings.data_dir / "threads", database(settings)),
                     active_builds=BuildSlots(per_user=settings.max_builds_per_user, total=settings.max_builds),
                     catalog=open_catalog(settings, embedder), build_tasks={}, stop_requests=set(),
                     leases=BuildLeases(database(settings), timeout_s=settings.build_lease_timeout_s))
    settle_heap()
    return loaded


async def loaded() -> Runtime:
    """The runtime. Its first load (the embedding model, the memory and the catalog: seconds) runs in a worker
    thread, so that the event loop goes on serving every other chat and request meanwhile; later calls return it
    at once."""
    if runtime.cache_info().currsize:
        return runtime()
    return await asyncio.to_thread(_load)


def _load() -> Runtime:
    with _LOADING:
        return runtime()


def database(settings: Settings) -> Database:
    """The process's one database of the data dir's or the configured URL (one engine, one pool)."""
    with _OPENING:
        return _database(database_url(settings.database_url, settings.data_dir), settings.data_dir.resolve())


@lru_cache(maxsize=4)
def _database(url: str, data_dir: Path) -> Database:
    return Database(url, legacy_dir=data_dir)


@cl.data_layer
def chat_history() -> HistoryLayer:
    settings = Settings()
    return HistoryLayer(database(settings), settings.data_dir / "history-files")


# Sign-in needs only the settings: not runtime(), whose first call loads the embedding model, which would hold
# the sign-in request up for seconds (long enough for the page to fall back to the login form).
@lru_cache(maxsize=1)
def sign_in() -> auth.SignIn:
    return auth.sign_in(Settings(), chainlit_config.run.host)


async def password_user(username: str, password: str) -> cl.User | None:
    # Off the event loop: checking a salted hash takes ~80 ms of CPU by design.
    return await asyncio.to_thread(lambda: auth.password_user(sign_in(), username, password))


async def header_user(headers: Any) -> cl.User | None:
    return auth.header_user(sign_in(), headers)


if SIGN_IN.mode == "password":
    cl.password_auth_callback(password_user)
else:
    cl.header_auth_callback(header_user)


def _owner() -> str | None:
    user = cl.context.session.user
    return user.identifier if user else None


async def _deps(thread_id: str | None = None) -> AssistantDeps:
    rt = await loaded()
    state = await rt.threads.load(thread_id or cl.context.session.thread_id, owner=_owner())
    settings, models = settings_panel.effective(rt.settings, rt.models, _owner())  # with the user's panel changes
    # The memory this user's builds check and write: their own entries plus the published ones (memory/owners.py).
    user, thread = _owner() or settings.local_user, state.thread_id
    deps = AssistantDeps(settings=settings, models=models, store=rt.store.scoped(user, thread_id=thread), state=state,
                         on_event=screen.ProgressView(state), threads=rt.threads, active_builds=rt.active_builds,
                         catalog=rt.catalog.scoped(user, thread_id=thread) if rt.catalog is not None else None,
                         build_tasks=rt.build_tasks, stop_requests=rt.stop_requests, leases=rt.leases)
    await recover_interrupted(deps)
    return deps


async def _save(deps: AssistantDeps) -> None:
    await (await loaded()).threads.save(deps.state)


async def _unless_failed(run: Awaitable[Reply], what: str = "step") -> Reply:
    """The reply of `run`; an unexpected failure is shown, then re-raised so that Chainlit logs it. (Chainlit runs
    action callbacks without its error message, unlike on_message.)"""
    try:
        return await run
    except Exception as exc:
        await screen.error(f"The {what} failed unexpectedly ({exc.__class__.__name__}: {exc}).")
        raise


async def _press(action: cl.Action, *, remove: bool = False) -> None:
    """Run the step the conversation table gives this button; remove the clicked button first when asked."""
    deps, threads = await _deps(), (await loaded()).threads
    if remove and refusal(deps.state, action.name, action.payload) is None:
        await action.remove()
    reply = await _unless_failed(press(deps, threads, action.name, action.payload))
    await screen.show(reply, deps, threads)


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


# The welcome screen's starters: requests of the kinds the product builds (text, math, code, a vague one, and
# questions on the user's own document or images: Chainlit sends a starter as text only, so that request asks for
# the files and waits for them, assistant/file_requests.py). Label, request, icon under public/starters/.
STARTERS = (
    ("Harder than GSM8K", "60 arithmetic word problems harder than GSM8K, numeric answers", "math"),
    ("Geography quiz", "30 multiple-choice questions on European geography, medium difficulty", "geography"),
    ("Logic with yes/no", "40 yes/no questions that test logical reasoning about schedules", "logic"),
    ("Python functions", "20 short Python coding tasks, each a function with unit tests", "code"),
    ("Questions on a document", "12 short-answer questions on the attached document that cannot be answered without "
     "reading the document", "document"),
    ("Questions about images", "8 multiple-choice questions about the attached images that cannot be answered "
     "without seeing the image", "images"),
    ("Something vague", "a hard reasoning benchmark", "vague"),
)


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    return [cl.Starter(label=label, message=message, icon=f"/public/starters/{icon}.svg")
            for label, message, icon in STARTERS]


@cl.on_chat_start
async def start() -> None:
    rt = await loaded()
    settings, in_use = settings_panel.effective(rt.settings, rt.models, _owner())
    models = ", ".join(f"{role}: `{name}`" for role, name in in_use.names.items())
    lines = [f"Hello! I build evaluation benchmarks. Models in use: {models} (change them, the concurrency, the "
             "budget and the target band in the settings panel by the message box)."]
    await settings_panel.send(settings)
    if uses_toy_model(in_use):
        lines.append(f"**Note:** {TOY_MODEL_WARNING}")
    lines.append("Describe the benchmark you want, e.g. *30 multiple-choice questions on European geography*, or "
                 "start from one of the requests below.")
    await screen.note_before_the_chat("\n\n".join(lines))
    # Then a probe at first contact finds how each endpoint gives structured output (once per endpoint). It runs
    # beside the chat: while a handler runs, Chainlit holds the user's input, and a slow server takes seconds.
    task = asyncio.create_task(_say_output_modes(in_use))
    PROBES.add(task)
    task.add_done_callback(PROBES.discard)


PROBES: set[asyncio.Task[None]] = set()  # kept referenced until done


async def _say_output_modes(models: StageModels) -> None:
    try:
        notes = await models.negotiate()
    except (BenchmarkAgentError, ModelAPIError) as exc:  # said here; the first step says it again with its fix
        notes = [f"**Note:** the model endpoint could not be used yet: {server_message(exc)}"]
    if notes:
        await screen.note_before_the_chat("\n\n".join(notes))


@cl.on_stop
async def on_stop() -> None:
    """Chainlit's stop button: this conversation's build stops where it is (what it accepted is kept)."""
    deps = await _deps()
    if deps.state.thread_id in deps.active_builds:
        await screen.say(stop_build(deps))


@cl.on_chat_resume
async def on_resume(thread: ThreadDict) -> None:
    """A reopened thread (page reload, server restart): its buttons, current card and files come back."""
    deps = await _deps(thread["id"])
    await settings_panel.send(deps.settings)
    state = deps.state
    on_screen = {step["id"]: step for step in thread["steps"]}
    state.buttons = [b for b in state.buttons if b.for_id in on_screen]
    for button in state.buttons:
        await cl.Action(name=button.name, payload=button.payload, label=button.label, id=button.id).send(for_id=button.for_id)
    card = on_screen.get(state.card_message_id or "")
    if card is not None:
        card["output"] = screen.card_text(deps)  # Chainlit shows the thread dict it passed here
        elements = thread.get("elements")
        resent = screen.files(deps)
        if elements is not None:  # the stored copies of the files sent again here would show twice
            names = {element.name for element in resent}
            elements[:] = [e for e in elements if not (e.get("forId") == card["id"] and e.get("name") in names)]
        for element in resent:
            await element.send(for_id=card["id"])
            if elements is not None:
                elements.append(element.to_dict())
    notices, state.notices = state.notices, []
    for notice in notices:  # e.g. an interrupted build; sent here, so also added to what Chainlit shows
        message = await screen.say(f"_{notice}_")
        thread["steps"].append(message.to_dict())  # type: ignore[arg-type]
    await _save(deps)


@cl.on_settings_update
async def on_settings(values: dict[str, Any]) -> None:
    """The settings panel: checked, kept for this user, used from the next step on; the reply says what is in force."""
    rt = await loaded()
    await screen.say(settings_panel.update(rt.settings, rt.models, _owner(), values))


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Attached files are read first (each named in a reply); then the text, if any, goes through the flow with
    the material known, after the request that waited for these files, if one did."""
    deps, threads = await _deps(), (await loaded()).threads
    text = message.content
    if message.elements:
        reply = await _read_attached(deps, message.elements)
        text = file_requests.continued(deps, message.content)  # a request that waited for these files goes on
        if not text.strip():
            await screen.show(reply, deps, threads)
            return
        going_on = f"\n\nGoing on with your request: _{text}_" if text != message.content else ""
        await screen.say(reply.text + going_on)
    await screen.show(await respond(deps, text, threads), deps, threads)


async def _read_attached(deps: AssistantDeps, elements: list[Any]) -> Reply:
    """Read the files in a step that shows the reader's progress (a long PDF or a big data file takes a while)."""
    loop = asyncio.get_running_loop()
    async with cl.Step(name="read attached files", type="tool") as step:
        step.input = ", ".join(str(getattr(e, "name", "?")) for e in elements)
        lines: list[str] = []

        def progress(line: str) -> None:  # called from the reading thread: hand the update to the event loop
            lines.append(line)
            loop.call_soon_threadsafe(_show_progress, step, lines)

        reply = await attach(deps, (await loaded()).threads, elements, on_progress=progress)
        step.output = keep_visible("\n".join([*lines[-8:], "Done."]))
    _SHOWN.pop(step.id, None)
    return reply


_SHOWN: dict[str, float] = {}  # step id -> when its progress was last sent
UPDATES: set[asyncio.Task[Any]] = set()  # kept referenced until sent


def _show_progress(step: cl.Step, lines: list[str]) -> None:
    now = asyncio.get_running_loop().time()
    if now - _SHOWN.get(step.id, 0.0) < 0.5:  # at most two updates a second
        return
    _SHOWN[step.id] = now
    step.output = keep_visible("\n".join(lines[-8:]))
    task = asyncio.ensure_future(step.update())
    UPDATES.add(task)
    task.add_done_callback(UPDATES.discard)


# --- buttons: each runs the step the conversation table (assistant/flow.py) gives it in this phase ---


def _button(name: str) -> Callable[[cl.Action], Awaitable[None]]:
    """Register the button `name`: it runs the step the table gives it; a confirm button goes once pressed."""

    async def on_press(action: cl.Action) -> None:
        await _press(action, remove=name == "confirm")

    on_press.__name__ = f"on_{name}"
    return cl.action_callback(name)(_busy(on_press))  # type: ignore[no-any-return]


# Every button but preview, which shows a step of its own while it runs (below); by name, as Chainlit calls them.
ON_BUTTON = {name: _button(name) for name in sorted(BUTTONS - {"preview"})}


@cl.action_callback("preview")
@_busy
async def on_preview(action: cl.Action) -> None:
    deps, threads = await _deps(), (await loaded()).threads
    refused = refusal(deps.state, action.name, action.payload)
    if refused is not None:
        await screen.say(refused)
        return
    # The step shows that work is under way; the previews are sent after it, not nested inside it.
    async with cl.Step(name="preview", type="tool") as step:
        step.input = f"{deps.settings.preview_size} samples per subtask"
        reply = await _unless_failed(press(deps, threads, action.name, action.payload), "preview")
        step.output = keep_visible(reply.text)
    await screen.show(reply, deps, threads)
