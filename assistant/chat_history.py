"""Chainlit's data layer over plain JSON files under the data directory: users, threads, their messages.

With it, Chainlit lists each signed-in user's threads in the sidebar and reopens one after a page
reload or a server restart (`@cl.on_chat_resume`). One file per thread, replaced atomically on each
change; a small in-memory index keeps the thread list fast. A thread is served only to its author
(Chainlit checks `get_thread_author` and the thread's `userIdentifier`), and once it has an author, no other
user's session can take it over, add to it or remove from it, even with its id.

Part of the Chainlit shell, like app.py: nothing outside assistant/app.py uses it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainlit.context import ChainlitContextException, get_context
from chainlit.data.base import BaseDataLayer
from chainlit.data.utils import queue_until_user_message
from chainlit.logger import logger
from chainlit.types import Feedback, PageInfo, PaginatedResponse, Pagination, ThreadDict, ThreadFilter
from chainlit.user import PersistedUser, User

from assistant.request_user import REQUEST_USER
from memory.files import write_atomic

_HEADER_KEYS = ("id", "createdAt", "name", "userId", "userIdentifier", "tags")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _session_user() -> str | None:
    """The signed-in user of the HTTP request or chat session this call comes from; None for the server's own work."""
    requested = REQUEST_USER.get()
    if requested is not None:
        return requested
    try:
        user = get_context().session.user
    except ChainlitContextException:
        return None
    return user.identifier if user else None


def _foreign(thread: dict[str, Any] | None) -> bool:
    """Whether `thread` has an author and the calling session is another user's."""
    if not thread or not thread.get("userIdentifier"):
        return False
    caller = _session_user()
    return caller is not None and caller != thread["userIdentifier"]


class FileDataLayer(BaseDataLayer):
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._threads: dict[str, dict[str, Any]] = {}
        self._headers: dict[str, dict[str, Any]] | None = None
        self._step_thread: dict[str, str] = {}
        self._writing: dict[str, asyncio.Lock] = {}

    # --- files ------------------------------------------------------------------------------

    def _user_path(self, identifier: str) -> Path:
        return self.directory / "users" / f"{_digest(identifier)}.json"

    def _thread_path(self, thread_id: str) -> Path:
        return self.directory / "threads" / f"{_digest(thread_id)}.json"

    def _load(self, thread_id: str) -> dict[str, Any] | None:
        if thread_id not in self._threads:
            path = self._thread_path(thread_id)
            if not path.exists():
                return None
            thread = json.loads(path.read_text(encoding="utf-8"))
            self._threads[thread_id] = thread
            self._step_thread.update({step["id"]: thread_id for step in thread["steps"]})
        return self._threads[thread_id]

    async def _save(self, thread: dict[str, Any]) -> None:
        """Write the thread as it is now. The file is written and fsync'd off the event loop (a long thread's file is
        hundreds of KB, rewritten on every step update), one write at a time per thread, in the order asked."""
        text = json.dumps(thread, default=str, ensure_ascii=False)  # now: the thread changes while the write waits
        if self._headers is not None:
            self._headers[thread["id"]] = {k: thread.get(k) for k in _HEADER_KEYS}
        async with self._writing.setdefault(thread["id"], asyncio.Lock()):  # FIFO: the last asked is the last written
            await asyncio.to_thread(write_atomic, self._thread_path(thread["id"]), text)

    def _thread(self, thread_id: str) -> dict[str, Any]:
        thread = self._load(thread_id)
        if thread is None:
            thread = {"id": thread_id, "createdAt": _now(), "name": None, "userId": None, "userIdentifier": None,
                      "tags": None, "metadata": {}, "steps": [], "elements": []}
            self._threads[thread_id] = thread
        return thread

    def _all_headers(self) -> dict[str, dict[str, Any]]:
        if self._headers is None:
            self._headers = {}
            for path in sorted((self.directory / "threads").glob("*.json")):
                try:
                    thread = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # a damaged file hides one thread, never the list
                self._headers[thread["id"]] = {k: thread.get(k) for k in _HEADER_KEYS}
        return self._headers

    # --- users ------------------------------------------------------------------------------

    async def get_user(self, identifier: str) -> PersistedUser | None:
        path = self._user_path(identifier)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return PersistedUser(id=data["id"], createdAt=data["createdAt"], identifier=data["identifier"],
                             display_name=data.get("display_name"), metadata=data.get("metadata") or {})

    async def create_user(self, user: User) -> PersistedUser | None:
        existing = await self.get_user(user.identifier)
        if existing is not None:
            return existing
        data = {"id": str(uuid.uuid4()), "createdAt": _now(), "identifier": user.identifier,
                "display_name": user.display_name, "metadata": user.metadata}
        write_atomic(self._user_path(user.identifier), json.dumps(data, default=str))
        return await self.get_user(user.identifier)

    def _identifier_of(self, user_id: str) -> str | None:
        for path in (self.directory / "users").glob("*.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["id"] == user_id:
                return str(data["identifier"])
        return None

    # --- threads ----------------------------------------------------------------------------

    async def update_thread(self, thread_id: str, name: str | None = None, user_id: str | None = None,
                            metadata: dict[str, Any] | None = None, tags: list[str] | None = None) -> None:
        thread = self._thread(thread_id)
        identifier = self._identifier_of(user_id) if user_id is not None else None
        if _foreign(thread) or (thread.get("userId") and user_id is not None and user_id != thread["userId"]):
            logger.warning("A session of another user tried to change thread %s; refused.", thread_id)
            return
        if name is not None:
            thread["name"] = name[:200]
        if user_id is not None:
            thread["userId"], thread["userIdentifier"] = user_id, identifier
        if metadata is not None:
            thread["metadata"] = {**(thread.get("metadata") or {}), **metadata}
        if tags is not None:
            thread["tags"] = tags
        await self._save(thread)

    async def get_thread_author(self, thread_id: str) -> str:
        thread = self._load(thread_id)
        return str(thread.get("userIdentifier") or "") if thread else ""

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        thread = self._load(thread_id)
        if thread is None:
            return None
        copy = json.loads(json.dumps(thread))
        copy["steps"] = sorted(copy["steps"], key=lambda step: step.get("createdAt") or "")
        return copy  # type: ignore[no-any-return]

    async def delete_thread(self, thread_id: str) -> None:
        thread = self._load(thread_id)
        for step in thread["steps"] if thread else []:
            self._step_thread.pop(step["id"], None)
        self._threads.pop(thread_id, None)
        if self._headers is not None:
            self._headers.pop(thread_id, None)
        async with self._writing.setdefault(thread_id, asyncio.Lock()):  # after the writes already asked for
            self._thread_path(thread_id).unlink(missing_ok=True)

    async def list_threads(self, pagination: Pagination, filters: ThreadFilter) -> PaginatedResponse[ThreadDict]:
        headers = [h for h in self._all_headers().values() if h.get("userId") and h["userId"] == filters.userId]
        if filters.search:
            headers = [h for h in headers if filters.search.lower() in (h.get("name") or "").lower()]
        if filters.feedback is not None:
            headers = [h for h in headers if self._has_feedback(h["id"], filters.feedback)]
        headers.sort(key=lambda h: h.get("createdAt") or "", reverse=True)
        start = next((i + 1 for i, h in enumerate(headers) if h["id"] == pagination.cursor), 0)
        page = headers[start:start + pagination.first]
        info = PageInfo(hasNextPage=start + pagination.first < len(headers),
                        startCursor=page[0]["id"] if page else None, endCursor=page[-1]["id"] if page else None)
        data = [{**h, "metadata": {}, "steps": [], "elements": []} for h in page]
        return PaginatedResponse(pageInfo=info, data=data)  # type: ignore[arg-type]

    def _has_feedback(self, thread_id: str, value: int) -> bool:
        thread = self._load(thread_id)
        return any((step.get("feedback") or {}).get("value") == value for step in (thread or {}).get("steps", []))

    # --- steps ------------------------------------------------------------------------------

    @queue_until_user_message()  # a thread exists once the user has said something
    async def create_step(self, step_dict: Any) -> None:
        await self._upsert_step(dict(step_dict))

    @queue_until_user_message()
    async def update_step(self, step_dict: Any) -> None:
        await self._upsert_step(dict(step_dict))

    async def _upsert_step(self, step: dict[str, Any]) -> None:
        thread_id = step.get("threadId")
        if not thread_id:
            return
        thread = self._thread(thread_id)
        if _foreign(thread):
            logger.warning("A session of another user tried to write into thread %s; refused.", thread_id)
            return
        steps = thread["steps"]
        at = next((i for i, s in enumerate(steps) if s["id"] == step["id"]), None)
        if at is None:
            steps.append(step)
        else:  # an update made from a new Message object carries no creation time or parent: keep the stored ones
            kept = {k: v for k, v in step.items() if v is not None or k not in ("createdAt", "start", "end", "parentId")}
            steps[at] = {**steps[at], **kept}
        self._step_thread[step["id"]] = thread_id
        await self._save(thread)

    @queue_until_user_message()
    async def delete_step(self, step_id: str) -> None:
        thread = self._thread_of_step(step_id)
        if thread is not None and not _foreign(thread):
            thread["steps"] = [s for s in thread["steps"] if s["id"] != step_id]
            self._step_thread.pop(step_id, None)
            await self._save(thread)

    def _thread_of_step(self, step_id: str) -> dict[str, Any] | None:
        if step_id not in self._step_thread:
            for thread_id in list(self._all_headers()):
                self._load(thread_id)
        owner = self._step_thread.get(step_id)
        return self._load(owner) if owner else None

    # --- feedback ---------------------------------------------------------------------------

    async def upsert_feedback(self, feedback: Feedback) -> str:
        thread = self._thread_of_step(feedback.forId)
        if _foreign(thread):
            raise PermissionError("That message is not in one of your threads.")
        feedback_id = feedback.id or str(uuid.uuid4())
        if thread is not None:
            for step in thread["steps"]:
                if step["id"] == feedback.forId:
                    step["feedback"] = {"id": feedback_id, "forId": feedback.forId, "value": feedback.value,
                                        "comment": feedback.comment}
            await self._save(thread)
        return feedback_id

    async def delete_feedback(self, feedback_id: str) -> bool:
        for thread_id in list(self._all_headers()):
            thread = self._load(thread_id)
            for step in (thread or {}).get("steps", []) if not _foreign(thread) else []:
                if (step.get("feedback") or {}).get("id") == feedback_id:
                    step.pop("feedback")
                    await self._save(thread)  # type: ignore[arg-type]
                    return True
        return False

    # --- elements: the app re-attaches its files on resume, so they are not stored --------

    @queue_until_user_message()
    async def create_element(self, element: Any) -> None:
        return None

    async def get_element(self, thread_id: str, element_id: str) -> Any:
        return None

    @queue_until_user_message()
    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        return None

    # --- the rest ---------------------------------------------------------------------------

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        """Wait for every write asked for so far: Chainlit ends the process right after closing the data layer."""
        for lock in list(self._writing.values()):
            async with lock:  # FIFO: once it is ours, the writes queued before are done
                pass

    async def get_favorite_steps(self, user_id: str) -> list[Any]:
        return []
