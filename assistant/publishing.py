"""Publishing the thread's finished benchmark to the shared catalog (words or the card's button), and taking it back.

The memory behind it is tools/sharing.py: until a benchmark is published, its samples and catalog entry are
seen only by the user who built it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from assistant.deps import AssistantDeps
from tools.errors import BenchmarkAgentError
from tools.sharing import is_published, share

WORDS = re.compile(r"\b(un-?publish|publish|share (it|this|the benchmark) with (everyone|all|others|every user)|"
                   r"stop sharing|make (it|this|the benchmark) private)\b", re.IGNORECASE)
_TAKE_BACK = re.compile(r"\b(un-?publish|stop sharing|make (it|this|the benchmark) private)\b", re.IGNORECASE)
NOTHING = "There is no finished benchmark in this conversation to publish: build one first."


def _finished(deps: AssistantDeps) -> str | None:
    """The build id of the thread's finished benchmark (one that wrote its files), or None."""
    build = deps.state.build
    if deps.state.phase != "built" or build is None or build.status not in ("complete", "short"):
        return None
    return build.build_id


async def publish_step(deps: AssistantDeps, message: str, payload: Mapping[str, Any]) -> str:
    """Publish (or, when the button or the words say so, unpublish) the thread's finished benchmark."""
    build_id = _finished(deps)
    if build_id is None:
        return NOTHING
    published = bool(payload["publish"]) if "publish" in payload else not _TAKE_BACK.search(message)
    try:
        shared = await asyncio.to_thread(share, deps.store, deps.catalog, build_id, published=published)
    except BenchmarkAgentError as exc:
        return str(exc)
    return shared.describe()


def published(deps: AssistantDeps) -> bool | None:
    """Whether the thread's finished benchmark is published; None when there is none."""
    build_id = _finished(deps)
    return None if build_id is None else is_published(deps.store, deps.catalog, build_id)


def card_line(shared: bool | None) -> str:
    """The card's line about who sees the finished benchmark."""
    if shared is None:
        return ""
    if shared:
        return ("_Published: every user's de-duplication checks against its samples and their catalog lists it. "
                "Say 'unpublish' or use the button to make it yours alone again._")
    return ("_Private: only your own builds are checked against its samples and only your catalog lists it. "
            "Say 'publish' or use the button to share it with every user._")
