"""Who a memory entry belongs to, who may see it, and the lock that makes check-and-accept atomic.

Every entry (a remembered sample, a benchmark built here) carries its `owner` (the signed-in user, or the
CLI's local identity), the `thread_id` it was built in when there is one, and `published`. A user's
de-duplication and catalog see their own entries plus the published ones; a shipped public benchmark is
seen by everyone.

Entries written before memory had owners are claimed once, when a collection is opened, by the
installation's local identity (`legacy_owner`), unpublished: the memory of earlier versions was the
installation's, and sharing it with every user is a decision its owner makes with `publish`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable
from typing import Any, cast

from chromadb.api.models.Collection import Collection

OWNER, PUBLISHED, THREAD, ITEM = "owner", "published", "thread_id", "item_id"
LOCAL_USER = "researcher"  # the default local identity (Settings.local_user): the CLI's user and the loopback chat's
_MIGRATED = "owners"  # collection metadata: entries without an owner have been claimed
_PAGE = 1000

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Lock]] = weakref.WeakKeyDictionary()


def visible_to(owner: str, *, public: bool = False) -> dict[str, Any]:
    """The Chroma filter of what `owner` may see: their entries and the published ones (and the public ones)."""
    seen: list[dict[str, Any]] = [{OWNER: owner}, {PUBLISHED: True}]
    if public:
        seen.append({"source": "public"})
    return {"$or": seen}


def both(*filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The conjunction of the filters given (None ones left out)."""
    given = [f for f in filters if f]
    if not given:
        return None
    return given[0] if len(given) == 1 else {"$and": given}


def ownership(owner: str, thread_id: str | None, published: bool = False) -> dict[str, Any]:
    """The tags an entry is written with."""
    tags: dict[str, Any] = {OWNER: owner, PUBLISHED: published}
    if thread_id:
        tags[THREAD] = thread_id
    return tags


def claim_unowned(collection: Collection, owner: str, *, skip_public: bool = False) -> int:
    """Give every entry without an owner to `owner`, unpublished (once per collection); return how many."""
    if (collection.metadata or {}).get(_MIGRATED):
        return 0
    claimed, offset = 0, 0
    while True:
        page = collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
        ids = page["ids"]
        metas: list[Any] = [*(page.get("metadatas") or [])] or [None] * len(ids)
        if not ids:
            break
        todo = [(i, dict(m or {})) for i, m in zip(ids, metas, strict=True)
                if OWNER not in (m or {}) and not (skip_public and (m or {}).get("source") == "public")]
        if todo:
            collection.update(ids=[i for i, _ in todo],
                              metadatas=cast(Any, [{OWNER: owner, PUBLISHED: False, ITEM: i} for i, _ in todo]))
            claimed += len(todo)
        offset += len(ids)
    # Keep the rest of the collection's metadata (the embedder's name): modify replaces it as a whole.
    collection.modify(metadata={**(collection.metadata or {}), _MIGRATED: 1})
    return claimed


def scope_lock(key: Hashable) -> asyncio.Lock:
    """The lock of one memory scope in this process and event loop: held from a batch's duplicate check until its
    accepted items are written, so that two builds sharing the scope never both accept the same item."""
    loop = asyncio.get_running_loop()
    return _locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())
