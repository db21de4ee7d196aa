"""The chat history: Chainlit's own SQLAlchemy data layer on this app's database (assistant/database.py).

With it, Chainlit lists each signed-in user's threads in the sidebar and reopens one after a page reload, a server
restart or on another server process sharing the database (`@cl.on_chat_resume`). A thread is served only to its
author (Chainlit checks `get_thread_author` and the thread's `userIdentifier`), and once it has an author, no other
user's session can take it over, add to it or remove from it, even with its id. Files shown in the chat are kept
under the data directory, per user and thread, and served only to the thread's author (`FILE_ROUTE`).

Part of the Chainlit shell, like app.py: nothing outside assistant/app.py and boot.py uses it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiofiles
from chainlit.context import ChainlitContextException, get_context
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from chainlit.data.utils import queue_until_user_message
from chainlit.logger import logger
from chainlit.types import Feedback, PageInfo, PaginatedResponse, Pagination, ThreadDict, ThreadFilter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from assistant.database import Database
from assistant.request_user import REQUEST_USER
from assistant.thread_ids import SAFE_ID as _SAFE_ID

FILE_ROUTE = "/history-files"
_STEP_COLUMNS = frozenset((
    "id", "name", "type", "threadId", "parentId", "streaming", "waitForAnswer", "isError", "metadata", "tags", "input",
    "output", "createdAt", "command", "modes", "start", "end", "generation", "showInput", "language", "indent",
    "defaultOpen", "autoCollapse", "icon"))


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


def _matches(thread: ThreadDict, filters: ThreadFilter) -> bool:
    if filters.search:
        words = filters.search.lower()
        texts = [thread.get("name") or "", *(step.get("output") or "" for step in thread["steps"])]
        if not any(words in t.lower() for t in texts):
            return False
    if filters.feedback is not None:
        return any((step.get("feedback") or {"value": None})["value"] == filters.feedback for step in thread["steps"])
    return True


def _step_values(step: dict[str, Any]) -> dict[str, Any]:
    """The columns Chainlit's create_step writes: what is set (an update made from a new Message object carries no
    creation time or parent: the stored ones are kept), JSON as text."""
    values = {k: v for k, v in step.items() if k in _STEP_COLUMNS and v is not None
              and not (isinstance(v, dict) and not v)}
    values["metadata"] = json.dumps(step.get("metadata") or {})
    values["generation"] = json.dumps(step.get("generation") or {})
    if "showInput" in values:
        values["showInput"] = str(values["showInput"]).lower()
    for key in ("tags", "modes"):
        if key in values:
            values[key] = json.dumps(values[key])
    return values


def _is_write(query: str) -> bool:
    return not query.lstrip().upper().startswith("SELECT")


class LocalFiles(BaseStorageClient):
    """Element files under the data directory: `<root>/<user id>/<thread id>/<element id>/<name>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, object_key: str) -> Path | None:
        parts = object_key.split("/")
        if len(parts) != 4 or not all(_SAFE_ID.match(p) for p in parts[:3]) or parts[3] in ("", ".", ".."):
            return None
        return self.root.joinpath(*parts)

    async def upload_file(self, object_key: str, data: bytes | str, mime: str = "application/octet-stream",
                          overwrite: bool = True, content_disposition: str | None = None) -> dict[str, Any]:
        path = self.path_of(object_key)
        if path is None:
            raise ValueError(f"not a file key of the chat history: {object_key!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        async with aiofiles.open(path, "wb") as handle:
            await handle.write(data.encode() if isinstance(data, str) else data)
        return {"object_key": object_key, "url": await self.get_read_url(object_key)}

    async def delete_file(self, object_key: str) -> bool:
        path = self.path_of(object_key)
        if path is None or not path.exists():
            return False
        path.unlink()
        return True

    async def get_read_url(self, object_key: str) -> str:
        return f"{FILE_ROUTE}/{object_key}"

    async def close(self) -> None:
        return None


class HistoryLayer(SQLAlchemyDataLayer):
    def __init__(self, database: Database, files: Path) -> None:
        # Not Chainlit's __init__, which builds an engine of its own from a URL: this layer shares the app's
        # database (pools, pragmas, writer lock); every statement goes through execute_sql below.
        self._conninfo, self.user_thread_limit, self.show_logger = database.url, 1000, False
        self.storage_provider: BaseStorageClient | None = LocalFiles(files)
        self.database = database
        # Chainlit sends a streamed message's updates as tasks: per thread, they land in the order asked.
        self._order: dict[str, asyncio.Lock] = {}

    # --- one way in and out of the database ---------------------------------------------

    async def execute_sql(self, query: str, parameters: dict[str, Any]) -> list[dict[str, Any]] | int | None:
        """Chainlit's statements, on the shared engine: writes one at a time on SQLite. Lists and dicts (tags) are
        stored as JSON text. A failure is logged as an error and answers None, as Chainlit's own method does."""
        values = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in parameters.items()}
        try:
            if _is_write(query):
                async with self.database.write() as connection:
                    result = await connection.execute(text(query), values)
                    rows = [dict(r._mapping) for r in result.fetchall()] if result.returns_rows else None
                    return rows if rows is not None else result.rowcount
            async with self.database.read() as connection:
                result = await connection.execute(text(query), values)
                return [dict(r._mapping) for r in result.fetchall()]
        except SQLAlchemyError as exc:
            logger.error("The chat history could not run a statement (%s): %s", exc.__class__.__name__, exc)
            return None

    # --- who may touch what -------------------------------------------------------------

    async def _author(self, thread_id: str) -> str | None:
        rows = await self.database.rows('SELECT "userIdentifier" FROM threads WHERE "id" = :id', id=thread_id)
        return rows[0]["userIdentifier"] if rows else None

    async def _foreign(self, thread_id: str | None) -> bool:
        """Whether the thread has an author and the calling session is another user's."""
        if not thread_id:
            return False
        author, caller = await self._author(thread_id), _session_user()
        return author is not None and caller is not None and caller != author

    async def _thread_of_step(self, step_id: str) -> str | None:
        rows = await self.database.rows('SELECT "threadId" FROM steps WHERE "id" = :id', id=step_id)
        return rows[0]["threadId"] if rows else None

    async def get_thread_author(self, thread_id: str) -> str:
        return await self._author(thread_id) or ""  # "": Chainlit answers "not found"

    async def update_thread(self, thread_id: str, name: str | None = None, user_id: str | None = None,
                            metadata: dict[str, Any] | None = None, tags: list[str] | None = None) -> None:
        if not _SAFE_ID.match(thread_id):
            logger.warning("Refused a thread id that is not one this server makes: %r", thread_id[:80])
            return
        author = await self._author(thread_id)
        claimed = await self._identifier_of(user_id) if user_id else None
        if await self._foreign(thread_id) or (author and claimed and claimed != author):
            logger.warning("A session of another user tried to change thread %s; refused.", thread_id)
            return
        await super().update_thread(thread_id, name=name[:200] if name else name, user_id=user_id,
                                    metadata=metadata, tags=tags)

    async def _identifier_of(self, user_id: str) -> str | None:
        rows = await self.database.rows('SELECT "identifier" FROM users WHERE "id" = :id', id=user_id)
        return rows[0]["identifier"] if rows else None

    async def delete_thread(self, thread_id: str) -> None:
        """The thread, its messages, files, feedback and the assistant's state of it, in one transaction."""
        if await self._foreign(thread_id):
            logger.warning("A session of another user tried to delete thread %s; refused.", thread_id)
            return
        keys = await self.database.rows('SELECT "objectKey" FROM elements WHERE "threadId" = :id', id=thread_id)
        async with self.database.write() as connection:
            for query in ('DELETE FROM feedbacks WHERE "forId" IN (SELECT "id" FROM steps WHERE "threadId" = :id)',
                          'DELETE FROM elements WHERE "threadId" = :id', 'DELETE FROM steps WHERE "threadId" = :id',
                          "DELETE FROM thread_states WHERE thread_id = :id",
                          "DELETE FROM build_leases WHERE thread_id = :id", 'DELETE FROM threads WHERE "id" = :id'):
                await connection.execute(text(query), {"id": thread_id})
        for row in keys:
            if row["objectKey"] and self.storage_provider is not None:
                await self.storage_provider.delete_file(row["objectKey"])

    async def list_threads(self, pagination: Pagination, filters: ThreadFilter) -> PaginatedResponse[ThreadDict]:
        """The user's threads, the most recently active first; a search matches a thread's name or messages."""
        threads = await self.get_all_user_threads(user_id=filters.userId) if filters.userId else []
        found = [t for t in threads or [] if t.get("userId") == filters.userId and _matches(t, filters)]
        start = next((i + 1 for i, t in enumerate(found) if t["id"] == pagination.cursor), 0)
        page = found[start:start + pagination.first]
        info = PageInfo(hasNextPage=start + pagination.first < len(found),
                        startCursor=page[0]["id"] if page else None, endCursor=page[-1]["id"] if page else None)
        return PaginatedResponse(pageInfo=info, data=page)

    # --- steps --------------------------------------------------------------------------

    @queue_until_user_message()  # a thread exists once the user has said something
    async def create_step(self, step_dict: Any) -> None:
        await self._upsert_step(dict(step_dict))

    @queue_until_user_message()
    async def update_step(self, step_dict: Any) -> None:
        await self._upsert_step(dict(step_dict))

    async def _upsert_step(self, step: dict[str, Any]) -> None:
        thread_id = step.get("threadId")
        if not thread_id or not _SAFE_ID.match(str(thread_id)) or not _SAFE_ID.match(str(step.get("id", ""))):
            return
        async with self._order.setdefault(thread_id, asyncio.Lock()):  # taken at once, or queued in call order
            await self._write_step(thread_id, step)

    async def _write_step(self, thread_id: str, step: dict[str, Any]) -> None:
        """Chainlit's upsert of a step (with its thread's row if new), checked and written in one transaction."""
        values = _step_values(step)
        columns = ", ".join(f'"{c}"' for c in values)
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in values if c not in ("id", "threadId"))
        caller = _session_user()
        try:
            async with self.database.write() as connection:
                found = (await connection.execute(text(
                    'SELECT t."id", t."userIdentifier" AS author, s."threadId" AS step_thread, '
                    'o."userIdentifier" AS step_author FROM (SELECT :t AS tid) q '
                    'LEFT JOIN threads t ON t."id" = q.tid LEFT JOIN steps s ON s."id" = :s '
                    'LEFT JOIN threads o ON o."id" = s."threadId"'), {"t": thread_id, "s": step["id"]})).one()
                authors = {found.author, found.step_author} - {None}
                if (caller is not None and authors - {caller}) or (found.step_thread not in (None, thread_id)):
                    logger.warning("A session of another user tried to write into thread %s; refused.", thread_id)
                    return
                if found.id is None:
                    await connection.execute(text(
                        'INSERT INTO threads ("id", "createdAt", "metadata") VALUES (:t, :now, \'{}\') '
                        'ON CONFLICT ("id") DO NOTHING'), {"t": thread_id, "now": datetime.now(UTC).isoformat()})
                await connection.execute(text(
                    f'INSERT INTO steps ({columns}) VALUES ({", ".join(f":{c}" for c in values)}) '
                    f'ON CONFLICT ("id") DO UPDATE SET {updates}'), values)
        except SQLAlchemyError as exc:
            logger.error("The chat history could not store a message of thread %s: %s", thread_id, exc)

    @queue_until_user_message()
    async def delete_step(self, step_id: str) -> None:
        """The step with its feedback and its files (a card replaced each turn takes its old charts with it)."""
        if await self._foreign(await self._thread_of_step(step_id)):
            return
        keys = await self.database.rows('SELECT "objectKey" FROM elements WHERE "forId" = :id', id=step_id)
        await SQLAlchemyDataLayer.delete_step.__wrapped__(self, step_id)  # type: ignore[attr-defined]
        for row in keys:
            if row["objectKey"] and self.storage_provider is not None:
                await self.storage_provider.delete_file(row["objectKey"])

    # --- feedback -----------------------------------------------------------------------

    async def upsert_feedback(self, feedback: Feedback) -> str:
        thread_id = await self._thread_of_step(feedback.forId)
        if thread_id is None or await self._foreign(thread_id):
            raise PermissionError("That message is not in one of your threads.")
        if feedback.id:
            owner = await self.database.rows('SELECT "threadId" FROM feedbacks WHERE "id" = :id', id=feedback.id)
            if owner and owner[0]["threadId"] != thread_id:
                raise PermissionError("That feedback is not on one of your messages.")
        feedback.threadId = thread_id  # type: ignore[attr-defined]
        return await super().upsert_feedback(feedback)

    async def delete_feedback(self, feedback_id: str) -> bool:
        rows = await self.database.rows('SELECT "threadId" FROM feedbacks WHERE "id" = :id', id=feedback_id)
        if not rows or await self._foreign(rows[0]["threadId"]):
            return False
        return await super().delete_feedback(feedback_id)

    # --- elements: the file is kept per user and thread -----------------------------------

    @queue_until_user_message()
    async def create_element(self, element: Any) -> None:
        if not element.for_id or not _SAFE_ID.match(str(element.id)) or await self._foreign(element.thread_id):
            return
        content: bytes | str | None = None
        if element.path:
            async with aiofiles.open(element.path, "rb") as handle:
                content = await handle.read()
        elif element.content is not None:
            content = element.content
        element_dict = dict(element.to_dict())
        element_dict.pop("path", None)
        element_dict["props"] = element_dict.get("props") or {}  # Chainlit's get_element reads it as JSON
        if content is not None:
            author = await self._author(element.thread_id) or "unknown"
            user = str(uuid.uuid5(uuid.NAMESPACE_URL, author))  # a name safe in a path, the same on every replica
            base = Path((element.name or "file").replace("\\", "/")).name  # the name only, never a path
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", base)[:120].lstrip(".") or "file"
            key = f"{user}/{element.thread_id}/{element.id}/{name}"
            assert self.storage_provider is not None
            stored = await self.storage_provider.upload_file(key, content, mime=element.mime or "application/octet-stream")
            element_dict["url"], element_dict["objectKey"] = stored["url"], key
        elif not element.url:
            return
        values = {k: v for k, v in element_dict.items() if v is not None}
        columns = ", ".join(f'"{c}"' for c in values)
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in values if c != "id")
        await self.execute_sql(f'INSERT INTO elements ({columns}) VALUES ({", ".join(f":{c}" for c in values)}) '
                               f'ON CONFLICT ("id") DO UPDATE SET {updates}', values)

    async def get_element(self, thread_id: str, element_id: str) -> Any:
        if await self._foreign(thread_id):
            return None
        return await super().get_element(thread_id, element_id)

    @queue_until_user_message()
    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        rows = await self.database.rows('SELECT "threadId" FROM elements WHERE "id" = :id', id=element_id)
        if rows and not await self._foreign(rows[0]["threadId"]):
            await SQLAlchemyDataLayer.delete_element.__wrapped__(self, element_id, thread_id)  # type: ignore[attr-defined]

    async def file_for(self, object_key: str, user: str | None) -> Path | None:
        """The stored file of `object_key` when `user` is the author of the thread it was shown in; else None."""
        rows = await self.database.rows('SELECT "threadId" FROM elements WHERE "objectKey" = :key', key=object_key)
        if not rows or user is None or await self._author(rows[0]["threadId"]) != user:
            return None
        assert isinstance(self.storage_provider, LocalFiles)
        path = self.storage_provider.path_of(object_key)
        return path if path is not None and path.is_file() else None

    async def close(self) -> None:
        """Wait for every step write asked for so far (Chainlit ends the process right after), then close the pool."""
        for lock in list(self._order.values()):
            async with lock:  # FIFO: once it is ours, the writes queued before are done
                pass
        await self.database.close()


async def serve_file(request: Any) -> Any:
    """GET FILE_ROUTE/<key>: a file shown in a thread, to that thread's author only (others get 404, as for a
    file that does not exist)."""
    from chainlit.data import get_data_layer
    from starlette.responses import FileResponse, PlainTextResponse

    layer = get_data_layer()
    key = str(request.path_params["key"])
    path = await layer.file_for(key, REQUEST_USER.get()) if isinstance(layer, HistoryLayer) else None
    if path is None:
        return PlainTextResponse("Not found", status_code=404)
    return FileResponse(path)


def install(app: Any) -> None:
    """Add the file route to Chainlit's server app once, ahead of its catch-all page route."""
    from starlette.routing import Route

    if not any(getattr(r, "path", None) == f"{FILE_ROUTE}/{{key:path}}" for r in app.router.routes):
        app.router.routes.insert(0, Route(f"{FILE_ROUTE}/{{key:path}}", serve_file, methods=["GET"]))
