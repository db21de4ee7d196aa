"""What the chat shows besides the model's words: the spec card, the plan editor, the previews, with their buttons,
and the build's progress.

Every message goes out through this module, as Chainlit markdown made to show as written
(chat_markdown.keep_visible). The card is replaced (removed and sent again) each turn, so that one
current card ends the conversation; preview messages are updated in place. Every button on screen is
recorded in the thread's state, so that a reopened thread shows it again. Part of the Chainlit shell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chainlit as cl

from assistant import charts, material, previews, publishing, steps
from assistant.chat_markdown import keep_visible
from assistant.conversation import Reply
from assistant.deps import AssistantDeps
from assistant.editor import Ask
from assistant.render import DOWNLOADS, built_quality, built_report, card_buttons, preview_view, state_view
from assistant.session import Button, ThreadState, ThreadStore
from assistant.user_settings import in_force
from tools.contracts import BuildEvent, Leaderboard
from tools.export.card import quality_section
from tools.finish.evaluate import describe, latest
from tools.finish.quality import quality_chart_svg

EDITOR = "editor"
ButtonSpec = tuple[str, str, dict[str, Any]]


async def say(content: str) -> cl.Message:
    message = cl.Message(content=keep_visible(content))
    await message.send()
    return message


async def note_before_the_chat(content: str) -> cl.Message:
    """A message of the welcome (the models in use, how each endpoint gives structured output). Sent as a system
    message: Chainlit's welcome screen, with the starters, shows until the thread holds a user or assistant message
    (frontend `hasMessage`), so these must not count as one."""
    message = cl.Message(content=keep_visible(content), type="system_message")
    await message.send()
    return message


async def error(content: str) -> None:
    await cl.ErrorMessage(content=keep_visible(content)).send()


def card_text(deps: AssistantDeps) -> str:
    return keep_visible(_card(deps))


def _card(deps: AssistantDeps) -> str:
    text = state_view(deps.state, steps.plan_estimate(deps), material.coverage(deps))
    if line := publishing.card_line(publishing.published(deps)):  # who sees the finished benchmark
        text += f"\n\n{line}"
    if deps.state.plan is not None:  # what the next step runs with, the settings panel's changes included
        text += f"\n\n_{in_force(deps.settings, deps.models)}_"
    return text


async def send(deps: AssistantDeps, content: str, buttons: list[ButtonSpec], elements: list[Any] | None = None) -> str:
    actions = [cl.Action(name=name, label=label, payload=payload) for name, label, payload in buttons]
    message = cl.Message(content=keep_visible(content), actions=actions, elements=elements or [])
    await message.send()
    deps.state.buttons += [Button(id=a.id, name=a.name, label=a.label, payload=a.payload, for_id=message.id)
                           for a in actions]
    return message.id


async def remove(deps: AssistantDeps, message_id: str | None) -> None:
    if message_id:
        await cl.Message(content="", id=message_id).remove()
        deps.state.buttons = [b for b in deps.state.buttons if b.for_id != message_id]


async def restyle(deps: AssistantDeps, message_id: str, content: str, buttons: list[ButtonSpec]) -> None:
    """Update a message in place, with new buttons when they differ from those shown."""
    await cl.Message(content=keep_visible(content), id=message_id).update()
    shown = [b for b in deps.state.buttons if b.for_id == message_id]
    if [(b.name, b.label, b.payload) for b in shown] == buttons:
        return
    for button in shown:
        await cl.Action(name=button.name, payload=button.payload, label=button.label, id=button.id).remove()
    deps.state.buttons = [b for b in deps.state.buttons if b.for_id != message_id]
    for name, label, payload in buttons:
        action = cl.Action(name=name, label=label, payload=payload)
        await action.send(for_id=message_id)
        deps.state.buttons.append(Button(id=action.id, name=name, label=label, payload=payload, for_id=message_id))


def files(deps: AssistantDeps) -> list[Any]:
    state = deps.state
    if state.phase != "built" or state.build is None:
        return []
    directory = Path(state.build.directory)
    return [cl.File(name=name, path=str(directory / name), display="inline")
            for name in DOWNLOADS if (directory / name).exists()]


async def render_card(deps: AssistantDeps) -> None:
    """The spec card, replaced (not appended) so that one current card ends the conversation."""
    state = deps.state
    await remove(deps, state.card_message_id)
    state.card_message_id = None
    content = _card(deps)
    elements = files(deps)
    quality = built_quality(state)
    if quality is not None:  # the quality table and its chart, under the finished build
        content += "\n\n" + quality_section(quality)
        elements.append(cl.Image(name="quality.svg", content=quality_chart_svg(quality).encode(), mime="image/svg+xml",
                                 display="inline"))
    elements += report_charts(deps)
    board = built_leaderboard(deps)
    if board is not None:  # the latest evaluation of models on it, with the chart
        content += "\n\n**Leaderboard**\n\n" + describe(board)
        elements.append(cl.Plotly(name="leaderboard", figure=leaderboard_figure(board), display="inline"))
    if content:
        state.card_message_id = await send(deps, content, card_buttons(state, publishing.published(deps)), elements)


def report_charts(deps: AssistantDeps) -> list[cl.Plotly]:
    """The finished build's charts: where its candidates went, and (multiple choice) where the answers sit."""
    built = built_report(deps.state)
    if built is None:
        return []
    report, samples = built
    shown = [cl.Plotly(name="candidates", figure=charts.build_funnel(report), display="inline", size="large")]
    positions = charts.answer_positions(samples)
    if positions is not None:
        shown.append(cl.Plotly(name="answer positions", figure=positions, display="inline", size="large"))
    return shown


def built_leaderboard(deps: AssistantDeps) -> Leaderboard | None:
    build = deps.state.build
    return latest(Path(build.directory)) if deps.state.phase == "built" and build is not None else None


def leaderboard_figure(board: Leaderboard) -> Any:
    """Accuracy per model as bars, with the 95 % interval as error bars."""
    import plotly.graph_objects as go

    names = [s.model for s in board.scores]
    accuracy = [s.accuracy for s in board.scores]
    figure = go.Figure(go.Bar(x=names, y=accuracy, error_y={
        "type": "data", "symmetric": False, "array": [s.interval[1] - s.accuracy for s in board.scores],
        "arrayminus": [s.accuracy - s.interval[0] for s in board.scores]}))
    figure.update_layout(yaxis={"title": "accuracy", "range": [0, 1], "tickformat": ".0%"},
                         title=f"{board.items} items, {board.created_at:%Y-%m-%d %H:%M} UTC", height=360)
    return figure


def preview_buttons(deps: AssistantDeps, item_id: str, status: str) -> list[ButtonSpec]:
    pending = deps.state.pending
    if deps.state.phase != "planned":  # reviews steer the next build of this plan; none is coming
        return []
    if pending is not None and pending.item_id == item_id and pending.kind == "reject_reason":
        return [("review", reason, {"item": item_id, "verdict": "reject", "reason": reason}) for reason in previews.REASONS]
    if status != "pending":
        return []
    return [("review", label, {"item": item_id, "verdict": verdict})
            for verdict, label in (("accept", "Accept"), ("reject", "Reject"), ("edit", "Edit"))]


async def sync_previews(deps: AssistantDeps, *, card: bool = True) -> None:
    """Preview messages show each sample's current verdict, and buttons only where one is still needed; with
    `card`, the card's buttons follow the plan version a review made (`show` replaces the whole card instead)."""
    state = deps.state
    names = {s.id: s.name for s in state.plan.subtasks} if state.plan else {}
    current = {item.id for item in state.previews}
    for key, message_id in list(state.message_ids.items()):
        if key != EDITOR and key not in current:
            await remove(deps, message_id)
            del state.message_ids[key]
    for number, item in enumerate(state.previews, 1):
        content = preview_view(item, number, names.get(item.subtask_id, item.subtask_id))
        pending = state.pending
        if pending is not None and pending.item_id == item.id:
            content += f"\n\n**{pending.prompt}**"
        buttons = preview_buttons(deps, item.id, item.status)
        if item.id in state.message_ids:
            await restyle(deps, state.message_ids[item.id], content, buttons)
        else:
            state.message_ids[item.id] = await send(deps, content, buttons)
    shown = state.card_message_id
    on_card = [(b.name, b.label, b.payload) for b in state.buttons if b.for_id == shown]
    if card and shown and state.phase == "planned" and on_card != card_buttons(state):
        await restyle(deps, shown, _card(deps), card_buttons(state))


async def sync_editor(deps: AssistantDeps, ask: Ask | None = None) -> None:
    """The plan editor's question, or no editor message once nothing is being asked."""
    state = deps.state
    await remove(deps, state.message_ids.pop(EDITOR, None))
    if ask is not None and state.version is not None:
        version = state.version.number
        buttons = [("edit", c.label, {"version": version, "edit": c.edit}) for c in ask.choices]
        buttons.append(("edit", "Cancel", {"version": version, "cancel": True}))
        state.message_ids[EDITOR] = await send(deps, f"**Edit the plan** · {ask.text}", buttons)


async def show(reply: Reply, deps: AssistantDeps, threads: ThreadStore) -> None:
    """What a step's reply shows: a whole turn (the words, the editor, the previews, a new card), the plan editor's
    next question, the previews and the card updated in place, or only a note (then nothing is saved: a refused
    button changed nothing, and a running build owns its thread)."""
    if reply.view == "note":
        await say(reply.text)
        return
    if reply.view == "editor":
        await sync_editor(deps, reply.ask)
    elif reply.view == "previews":
        if reply.text:
            await say(reply.text)
        await sync_previews(deps)
        if deps.state.card_message_id:
            await cl.Message(content=card_text(deps), id=deps.state.card_message_id).update()
    else:
        documents, deps.documents = deps.documents, []
        for document in documents:
            await say(document)
        body = "\n\n".join(p for p in [*(f"_{n}_" for n in reply.notices), reply.text] if p)
        if body:
            await say(body)
        if deps.state.pending is None or deps.state.pending.kind != "edit":
            await sync_editor(deps)
        await sync_previews(deps, card=False)
        await render_card(deps)
    await threads.save(deps.state)


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
        self.stop: cl.Action | None = None
        self.stop_message: cl.Message | None = None

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
        step.output = keep_visible("\n".join([*spent, *lines[-12:]]))
        await step.update()
        await self._task_list(event)

    async def _offer_stop(self) -> None:
        """A Stop button for as long as the build runs (Chainlit's own stop button does the same)."""
        self.stop = cl.Action(name="stop", label="Stop the build", payload={"phase": "building"})
        self.stop_message = cl.Message(content=keep_visible("Building. Stop it whenever you like: every sample it has "
                                                            "accepted is kept, and building again resumes it."),
                                       actions=[self.stop])
        await self.stop_message.send()

    async def _withdraw_stop(self) -> None:
        if self.stop is not None:
            await self.stop.remove()
            self.stop = None

    async def _task_list(self, event: BuildEvent) -> None:
        finished = event.stage == "build" and event.kind == "finished"
        if event.stage == "build" and event.kind == "started":
            self.tasks, self.subtasks, self.total = cl.TaskList(), {}, event.total or 0
            plan = self.state.plan if self.state is not None else None
            for subtask in plan.subtasks if plan else []:
                task = cl.Task(title=keep_visible(f"{subtask.name} ({subtask.quota})"))  # a title is markdown too
                self.subtasks[subtask.id] = (task, subtask.quota)
                await self.tasks.add_task(task)
            await self._offer_stop()
        elif event.stage == "generate" and event.kind == "started":  # sent once the checkpoints are read
            self.accepted, self.resumed = event.done or 0, bool(event.done)
        elif event.kind == "accepted":
            self.accepted += 1
            if event.subtask_id in self.subtasks:
                task, quota = self.subtasks[event.subtask_id]
                task.title = keep_visible(event.message)
                task.status = cl.TaskStatus.DONE if (event.done or 0) >= quota else cl.TaskStatus.RUNNING
        elif finished:
            await self._withdraw_stop()
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
