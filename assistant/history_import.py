"""Earlier releases kept the chat history and thread states as JSON files under the data directory; the first start
on the database imports them, once, so that a user upgrading finds every thread as it was. The files stay where
they are (nothing reads them any more); a file that cannot be read is skipped and counted in the summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from assistant.thread_ids import SAFE_ID

IMPORT_NAME = "json-files"
_STEP_COLUMNS = ("id", "name", "type", "threadId", "parentId", "streaming", "waitForAnswer", "isError", "metadata",
                 "tags", "input", "output", "createdAt", "command", "start", "end", "generation", "showInput",
                 "language", "defaultOpen")


def read_legacy(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Everything the JSON files hold (a blocking read: run it off the event loop)."""
    found: dict[str, list[dict[str, Any]]] = {"users": [], "threads": [], "states": [], "unreadable": []}
    groups = (("users", data_dir / "chat" / "users"), ("threads", data_dir / "chat" / "threads"),
              ("states", data_dir / "threads"))
    for kind, folder in groups:
        for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
            if path.name.endswith(".damaged.json") or path.name.startswith("."):
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                found["unreadable"].append({"path": str(path)})
                continue
            if kind == "states":
                if not isinstance(data, dict) or "thread_id" not in data:
                    continue  # not a state file (a build's or the material's own JSON)
                data = {"thread_id": data["thread_id"], "owner": data.get("owner") or "", "state": json.dumps(data)}
            if kind in ("threads", "states") and not SAFE_ID.match(str(data.get("id", data.get("thread_id")))):
                found["unreadable"].append({"path": str(path)})  # an id the history cannot hold safely
                continue
            found[kind].append(data)
    return found


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


async def import_legacy(connection: AsyncConnection, found: dict[str, list[dict[str, Any]]]) -> str:
    """Insert what `read_legacy` found (rows already in the database win), then record the import as done."""
    now = datetime.now(UTC).isoformat()
    for user in found["users"]:
        await connection.execute(text(
            'INSERT INTO users ("id", "identifier", "metadata", "createdAt") VALUES (:id, :identifier, :metadata, '
            ':createdAt) ON CONFLICT DO NOTHING'),
            {"id": user["id"], "identifier": user["identifier"], "metadata": _json(user.get("metadata") or {}),
             "createdAt": user.get("createdAt")})
    users = {u["id"] for u in found["users"]}
    for thread in found["threads"]:
        await connection.execute(text(
            'INSERT INTO threads ("id", "createdAt", "name", "userId", "userIdentifier", "tags", "metadata") '
            'VALUES (:id, :createdAt, :name, :userId, :userIdentifier, :tags, :metadata) ON CONFLICT DO NOTHING'),
            {"id": thread["id"], "createdAt": thread.get("createdAt"), "name": thread.get("name"),
             "userId": thread.get("userId") if thread.get("userId") in users else None,
             "userIdentifier": thread.get("userIdentifier"), "tags": _json(thread.get("tags")),
             "metadata": _json(thread.get("metadata") or {})})
        for step in thread.get("steps", []):
            values = {c: step.get(c) for c in _STEP_COLUMNS}
            values.update(threadId=thread["id"], name=values["name"] or "", type=values["type"] or "run",
                          streaming=bool(values["streaming"]), metadata=_json(values["metadata"] or {}),
                          tags=_json(values["tags"]), generation=_json(values["generation"]),
                          showInput=None if values["showInput"] is None else str(values["showInput"]).lower())
            columns = ", ".join(f'"{c}"' for c in values)
            await connection.execute(text(f"INSERT INTO steps ({columns}) VALUES "
                                          f"({', '.join(f':{c}' for c in values)}) ON CONFLICT DO NOTHING"), values)
            feedback = step.get("feedback")
            if feedback:
                await connection.execute(text(
                    'INSERT INTO feedbacks ("id", "forId", "threadId", "value", "comment") '
                    "VALUES (:id, :forId, :threadId, :value, :comment) ON CONFLICT DO NOTHING"),
                    {"id": feedback["id"], "forId": step["id"], "threadId": thread["id"], "value": feedback["value"],
                     "comment": feedback.get("comment")})
    for state in found["states"]:
        await connection.execute(text(
            'INSERT INTO threads ("id", "createdAt", "userIdentifier", "metadata") VALUES (:thread_id, :now, '
            ":author, '{}') ON CONFLICT DO NOTHING"),
            {"thread_id": state["thread_id"], "now": now, "author": state["owner"] or None})
        await connection.execute(text(
            "INSERT INTO thread_states (thread_id, owner, state, updated_at) VALUES (:thread_id, :owner, :state, "
            ":now) ON CONFLICT DO NOTHING"), {**state, "now": now})
    summary = (f"{len(found['users'])} users, {len(found['threads'])} threads, {len(found['states'])} thread states "
               f"imported; {len(found['unreadable'])} unreadable files skipped")
    await connection.execute(text("INSERT INTO imports (name, done_at, summary) VALUES (:name, :now, :summary) "
                                  "ON CONFLICT DO NOTHING"),
                             {"name": IMPORT_NAME, "now": now, "summary": summary})
    return summary
