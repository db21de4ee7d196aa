"""What the chat shows besides the model's words: the spec card, the plan editor, the previews, with their buttons.

The card is replaced (removed and sent again) each turn, so that one current card ends the
conversation; preview messages are updated in place. Every button on screen is recorded in the
thread's state, so that a reopened thread shows it again. Part of the Chainlit shell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chainlit as cl

from assistant import previews, steps
from assistant.conversation import Reply
from assistant.deps import AssistantDeps
from assistant.editor import Ask
from assistant.render import DOWNLOADS, built_quality, card_buttons, preview_view, state_view
from assistant.session import Button, ThreadStore
from tools.export.card import quality_section
from tools.finish.quality import quality_chart_svg

EDITOR = "editor"
ButtonSpec = tuple[str, str, dict[str, Any]]



async def send(deps: AssistantDeps, content: str, buttons: list[ButtonSpec], elements: list[Any] | None = None) -> str:
    actions = [cl.Action(name=name, label=label, payload=payload) for name, label, payload in buttons]
    message = cl.Message(content=content, actions=actions, elements=elements or [])
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
    await cl.Message(content=content, id=message_id).update()
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
    content = state_view(state, steps.plan_estimate(deps))
    elements = files(deps)
    quality = built_quality(state)
    if quality is not None:  # the quality table and its chart, under the finished build
        content += "\n\n" + quality_section(quality)
        elements.append(cl.Image(name="quality.svg", content=quality_chart_svg(quality).encode(), mime="image/svg+xml",
                                 display="inline"))
    if content:
        state.card_message_id = await send(deps, content, card_buttons(state), elements)


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
    if card and shown and state.phase == "planned":
        if [(b.name, b.label, b.payload) for b in state.buttons if b.for_id == shown] != card_buttons(state):
            await restyle(deps, shown, state_view(state, steps.plan_estimate(deps)), card_buttons(state))


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
    body = "\n\n".join(p for p in [*(f"_{n}_" for n in reply.notices), reply.text] if p)
    if body:
        await cl.Message(content=body).send()
    if deps.state.pending is None or deps.state.pending.kind != "edit":
        await sync_editor(deps)
    await sync_previews(deps, card=False)
    await render_card(deps)
    threads.save(deps.state)
