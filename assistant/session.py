"""A chat thread's state: where the conversation stands, kept in the database so a reload, a restart or another
server process loses nothing."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter
from sqlalchemy import text

from assistant.database import Database
from assistant.thread_ids import SAFE_ID
from tools.contracts import (
    BenchmarkSpec,
    ClarifyingQuestion,
    PreviewItem,
    SelectMaterial,
    Strict,
    SubtaskOutcome,
    SubtaskPlan,
)
from tools.engine.preview import with_guidance

Phase = Literal["gathering", "clarifying", "spec_ready", "planned", "building", "built"]
MAX_HISTORY_MESSAGES = 40


class BuildSummary(Strict):
    build_id: str
    directory: str
    status: Literal["complete", "short", "stopped", "failed"]
    accepted: int
    requested: int
    message: str = ""
    shortfalls: list[SubtaskOutcome] = Field(
        default_factory=list, description="The subtasks a short build left below their quota, with their drop reasons.")


class PlanVersion(Strict):
    """One version of the plan, with the spec it goes with; versions are never rewritten, undo adds one."""

    number: int = Field(ge=1)
    plan: SubtaskPlan
    spec: BenchmarkSpec
    parent: int | None = Field(default=None, description="The version this one was made from; undo goes back to it.")
    note: str = ""
    changes: list[str] = Field(default_factory=list)


class PendingInput(Strict):
    """A value the assistant asked for (after a button), to be read from the user's next message without a model;
    or ("files") the files a request is about, which the next message that carries them goes on with."""

    kind: Literal["edit", "reject_reason", "edit_sample", "files"]
    edit: dict[str, Any] = Field(default_factory=dict, description="The edit chosen so far with buttons.")
    item_id: str | None = None
    prompt: str = ""
    request: str = Field(default="", description="With 'files': the request kept until its files are attached.")


class Button(Strict):
    """A button on screen, kept so that a reloaded thread shows it again."""

    id: str
    name: str
    label: str
    payload: dict[str, Any]
    for_id: str


class ReviewNote(Strict):
    """An instruction for one subtask's generator, from the user's review of a preview sample."""

    subtask_id: str
    note: str


class ThreadState(Strict):
    thread_id: str
    owner: str | None = Field(default=None, description="The signed-in user the thread belongs to.")
    phase: Phase = "gathering"
    last_message: str = ""
    spec: BenchmarkSpec | None = None
    questions: list[ClarifyingQuestion] = Field(default_factory=list)
    plan: SubtaskPlan | None = None
    build: BuildSummary | None = None
    history_json: str = "[]"
    notices: list[str] = Field(default_factory=list, description="Things said to the user about changes, newest last.")
    versions: list[PlanVersion] = Field(default_factory=list)
    previews: list[PreviewItem] = Field(default_factory=list)
    review_notes: list[ReviewNote] = Field(default_factory=list, description="Kept across plan versions and undo.")
    preview_problems: list[str] = Field(default_factory=list)
    pending: PendingInput | None = None
    # What is on screen: the spec card (replaced each turn), helper messages and their buttons.
    card_message_id: str | None = None
    message_ids: dict[str, str] = Field(default_factory=dict, description="Preview item id or 'editor' -> message id.")
    buttons: list[Button] = Field(default_factory=list)
    # The user's files: read into this folder (ThreadStore.material_dir), kept for the thread's lifetime.
    material_dir: str | None = Field(default=None, description="The thread's material folder, once a file was attached.")
    material_steer: list[SelectMaterial] = Field(
        default_factory=list, description="'Use only chapter 3' said before there was a plan: applied once there is one.")

    @property
    def version(self) -> PlanVersion | None:
        return self.versions[-1] if self.versions else None

    def commit(self, plan: SubtaskPlan, spec: BenchmarkSpec, note: str, changes: list[str],
               restores: PlanVersion | None = None) -> PlanVersion:
        """Make `plan` the current plan as a new version, made from the current one, or restoring `restores`
        (then it takes that version's parent, so a second undo goes back one more step)."""
        current = self.version
        plan = self.with_review_notes(plan)
        parent = restores.parent if restores is not None else current.number if current else None
        version = PlanVersion(number=len(self.versions) + 1, plan=plan, spec=spec, note=note, changes=changes,
                              parent=parent)
        self.versions.append(version)
        self.plan, self.spec = plan, spec
        kept = {s.id for s in plan.subtasks}
        self.previews = [p for p in self.previews if p.subtask_id in kept]
        return version

    def with_review_notes(self, plan: SubtaskPlan) -> SubtaskPlan:
        """`plan` with the user's preview reviews on the subtasks that still exist."""
        for review in self.review_notes:
            if any(s.id == review.subtask_id for s in plan.subtasks):
                plan = with_guidance(plan, review.subtask_id, review.note)
        return plan

    def reset_plan(self) -> None:
        self.plan, self.versions, self.previews, self.preview_problems, self.pending = None, [], [], [], None
        self.review_notes = []

    def history(self) -> list[ModelMessage]:
        return list(ModelMessagesTypeAdapter.validate_json(self.history_json))

    def set_history(self, messages: list[ModelMessage]) -> None:
        # Keep the tail, starting at a user request so tool calls and their returns stay paired.
        tail = messages[-MAX_HISTORY_MESSAGES:]
        while tail and tail[0].kind != "request":
            tail = tail[1:]
        self.history_json = ModelMessagesTypeAdapter.dump_json(tail).decode()


class ThreadStore:
    """Each thread's state in the database (assistant/database.py), one row per thread and owner, written in one
    transaction with the thread's own row; the thread's material and builds in a folder under `directory`.

    A thread is found only with its owner: one user can never load another's thread, even by its id.
    """

    def __init__(self, directory: Path, database: Database) -> None:
        self.directory = directory
        self.database = database
        # Per thread and owner: a load waits for the saves asked before it, and saves land in the order asked.
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], asyncio.Lock]] = (
            weakref.WeakKeyDictionary())

    def _lock(self, thread_id: str, owner: str | None) -> asyncio.Lock:
        locks = self._turns.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault((thread_id, owner or ""), asyncio.Lock())

    def thread_dir(self, thread_id: str, owner: str | None = None) -> Path:
        """The thread's own folder: its material and its builds, which only its owner's thread ever finds."""
        safe = hashlib.sha256(thread_id.encode()).hexdigest()[:32]
        if owner is None:
            return self.directory / safe
        return self.directory / "users" / hashlib.sha256(owner.encode()).hexdigest()[:24] / safe

    def material_dir(self, thread_id: str, owner: str | None = None) -> Path:
        """Where the thread's attached files are read into."""
        return self.thread_dir(thread_id, owner) / "material"

    async def load(self, thread_id: str, owner: str | None = None) -> ThreadState:
        key = {"thread_id": thread_id, "owner": owner or ""}
        async with self._lock(thread_id, owner):
            return await self._load(key)

    async def _load(self, key: dict[str, str]) -> ThreadState:
        thread_id, owner = key["thread_id"], key["owner"] or None
        rows = await self.database.rows(
            "SELECT state FROM thread_states WHERE thread_id = :thread_id AND owner = :owner", **key)
        if not rows:
            return ThreadState(thread_id=thread_id, owner=owner)
        try:
            return ThreadState.model_validate_json(rows[0]["state"])
        except (ValidationError, ValueError) as exc:
            # Never silently start over on a damaged state: keep it aside and say so.
            async with self.database.write() as connection:
                await connection.execute(text(
                    "INSERT INTO damaged_thread_states (thread_id, owner, kept_at, state, error) "
                    "VALUES (:thread_id, :owner, :kept_at, :state, :error)"),
                    {**key, "kept_at": _now(), "state": rows[0]["state"], "error": str(exc)[:2000]})
                await connection.execute(text(
                    "DELETE FROM thread_states WHERE thread_id = :thread_id AND owner = :owner"), key)
            state = ThreadState(thread_id=thread_id, owner=owner)
            state.notices.append(f"The saved state of this thread could not be read ({exc.__class__.__name__}); "
                                 "it was kept aside in the database (table damaged_thread_states) and the thread "
                                 "starts fresh.")
            return state

    async def save(self, state: ThreadState) -> None:
        """Commit the state, with the thread's row (made here if the chat history has not made it yet, owned by
        the state's owner): when this returns, any server process sharing the database reads this state."""
        values = {"thread_id": state.thread_id, "owner": state.owner or "", "state": state.model_dump_json(),
                  "now": _now()}
        async with self._lock(state.thread_id, state.owner), self.database.write() as connection:
            if SAFE_ID.match(state.thread_id):  # no other id ever gets a thread row (thread_ids.py)
                await connection.execute(text(
                    'INSERT INTO threads ("id", "createdAt", "userIdentifier", "metadata") '
                    "VALUES (:thread_id, :now, :author, '{}') ON CONFLICT (\"id\") DO NOTHING"),
                    {**values, "author": state.owner})
            await connection.execute(text(
                "INSERT INTO thread_states (thread_id, owner, state, updated_at) "
                "VALUES (:thread_id, :owner, :state, :now) ON CONFLICT (thread_id, owner) "
                "DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at"), values)


def _now() -> str:
    return datetime.now(UTC).isoformat()
