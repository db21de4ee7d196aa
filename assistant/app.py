"""The Chainlit shell: turns chat events into conversation turns and renders what the pipeline reports."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import chainlit as cl

from assistant.conversation import Reply, respond, run_next_step
from assistant.deps import AssistantDeps, open_store
from assistant.model_registry import TOY_MODEL_WARNING, model_warnings, stage_models
from assistant.render import CONFIRM_LABELS, state_view
from assistant.session import ThreadStore
from assistant.settings import Settings
from assistant.steps import recover_interrupted
from memory.store import SampleStore
from tools.llm import StageModels
from tools.models import BuildEvent

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DOWNLOADS = ("benchmark.jsonl", "benchmark.csv", "report.json", "README.md")


# Not a dataclass: `chainlit run` executes this file without registering it in sys.modules, and
# @dataclass then fails on the postponed annotations (AttributeError in dataclasses._is_type).
class Runtime(NamedTuple):
    settings: Settings
    models: StageModels
    store: SampleStore
    threads: ThreadStore
    active_builds: set[str]


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    # One per server process: models and the embedding model load once, not per chat.
    settings = Settings()
    return Runtime(settings=settings, models=stage_models(settings), store=open_store(settings),
                   threads=ThreadStore(settings.data_dir / "threads"), active_builds=set())


class ProgressView:
    """One Chainlit step per pipeline stage, updated in place from the build's events."""

    def __init__(self) -> None:
        self.steps: dict[str, cl.Step] = {}
        self.lines: dict[str, list[str]] = {}

    async def __call__(self, event: BuildEvent) -> None:
        step = self.steps.get(event.stage)
        if step is None:
            step = cl.Step(name=f"{event.stage}", type="tool")
            self.steps[event.stage], self.lines[event.stage] = step, []
            await step.send()
        lines = self.lines[event.stage]
        counter = f" ({event.done}/{event.total})" if event.total else ""
        lines.append(f"- {event.kind}{counter}: {event.message}")
        step.output = "\n".join(lines[-12:])
        await step.update()


def _deps() -> AssistantDeps:
    rt = runtime()
    thread_id = cl.context.session.thread_id
    deps = AssistantDeps(settings=rt.settings, models=rt.models, store=rt.store, state=rt.threads.load(thread_id),
                         on_event=ProgressView(), threads=rt.threads, active_builds=rt.active_builds)
    recover_interrupted(deps)
    return deps


async def _show(reply: Reply, deps: AssistantDeps) -> None:
    state = deps.state
    body = "\n\n".join(p for p in [*(f"_{n}_" for n in reply.notices), reply.text, state_view(state)] if p)
    actions = []
    if state.phase in CONFIRM_LABELS:
        actions.append(cl.Action(name="confirm", payload={"phase": state.phase}, label=CONFIRM_LABELS[state.phase]))
    elements = []
    if state.phase == "built" and state.build is not None:
        directory = Path(state.build.directory)
        elements = [cl.File(name=name, path=str(directory / name), display="inline")
                    for name in DOWNLOADS if (directory / name).exists()]
    await cl.Message(content=body, actions=actions, elements=elements).send()


@cl.on_chat_start
async def start() -> None:
    rt = runtime()
    models = ", ".join(f"{role}: `{name}`" for role, name in rt.models.names.items())
    lines = [f"Hello! I build evaluation benchmarks. Models in use: {models}."]
    if model_warnings(rt.models):
        lines.append(f"**Note:** {TOY_MODEL_WARNING}")
    lines.append("Describe the benchmark you want, e.g. *30 multiple-choice questions on European geography*.")
    await cl.Message(content="\n\n".join(lines)).send()


@cl.on_message
async def on_message(message: cl.Message) -> None:
    deps = _deps()
    reply = await respond(deps, message.content, runtime().threads)
    await _show(reply, deps)


@cl.action_callback("confirm")
async def on_confirm(action: cl.Action) -> None:
    deps = _deps()
    if action.payload.get("phase") != deps.state.phase:
        await cl.Message(content="That button is out of date: the conversation has moved on.").send()
        return
    await action.remove()
    try:
        reply = await run_next_step(deps, runtime().threads)
    except Exception as exc:
        # Chainlit runs action callbacks without its error message (unlike on_message): say it here.
        await cl.ErrorMessage(content=f"The step failed unexpectedly ({exc.__class__.__name__}: {exc}).").send()
        raise
    await _show(reply, deps)
