"""What the pipeline tells whoever watches it while it runs."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import Field

from tools.contracts.base import Strict

ROLE_STAGES: dict[str, str] = {"generator": "generation", "judge": "checks", "solver": "re-solving", "chat": "chat",
                               "vision": "image items"}


class Spend(Strict):
    """What a build has spent so far: tokens per role (the stage it serves) and, with a known price, money."""

    tokens: dict[str, int] = Field(default_factory=dict)
    cost: float | None = None

    def describe(self) -> str:
        """e.g. 'generation 12,300 · checks 8,100 tokens · $0.0123'."""
        parts = [f"{ROLE_STAGES.get(role, role)} {tokens:,}" for role, tokens in self.tokens.items() if tokens]
        text = (" · ".join(parts) or "0") + " tokens"
        return text + (f" · ${self.cost:.4f}" if self.cost is not None else "")


class BuildEvent(Strict):
    """What the pipeline tells whoever watches it (chat steps, CLI progress)."""

    stage: Literal["analyze", "design", "generate", "verify", "export", "build"]
    kind: Literal["started", "progress", "accepted", "rejected", "replenishing", "finished", "warning"]
    message: str
    subtask_id: str | None = None
    done: int | None = None
    total: int | None = None
    spend: Spend | None = None  # during a build: what it has spent up to this event


# Whoever watches a run (the chat's progress view, the CLI's printer) passes one of these.
EventSink = Callable[[BuildEvent], Awaitable[None] | None]


async def emit(sink: EventSink | None, event: BuildEvent) -> None:
    """Hand `event` to `sink`, awaiting it when it is a coroutine function; the one way every part emits."""
    if sink is not None:
        result = sink(event)
        if inspect.isawaitable(result):
            await result
