"""A chat thread's state: where the conversation stands, kept on disk so a reload or restart loses nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter

from memory.files import write_atomic
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
    """One JSON file per thread, under a folder per signed-in user, replaced atomically on every save; the
    thread's material and builds in a folder beside it.

    A thread is found only with its owner: one user can never load another's thread, even by its id.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, thread_id: str, owner: str | None) -> Path:
        safe = hashlib.sha256(thread_id.encode()).hexdigest()[:32]
        if owner is None:
            return self.directory / f"{safe}.json"
        return self.directory / "users" / hashlib.sha256(owner.encode()).hexdigest()[:24] / f"{safe}.json"

    def thread_dir(self, thread_id: str, owner: str | None = None) -> Path:
        """The thread's own folder, beside its state file: its material and its builds, which only its owner's
        thread ever finds."""
        return self._path(thread_id, owner).with_suffix("")

    def material_dir(self, thread_id: str, owner: str | None = None) -> Path:
        """Where the thread's attached files are read into."""
        return self.thread_dir(thread_id, owner) / "material"

    def load(self, thread_id: str, owner: str | None = None) -> ThreadState:
        path = self._path(thread_id, owner)
        if not path.exists():
            return ThreadState(thread_id=thread_id, owner=owner)
        try:
            return ThreadState.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, json.JSONDecodeError) as exc:
            # Never silently start over on a damaged file: keep it aside and say so.
            path.rename(path.with_suffix(".damaged.json"))
            state = ThreadState(thread_id=thread_id, owner=owner)
            state.notices.append(f"The saved state of this thread could not be read ({exc.__class__.__name__}); "
                                 f"it was kept as {path.with_suffix('.damaged.json').name} and the thread starts fresh.")
            return state

    def save(self, state: ThreadState) -> None:
        write_atomic(self._path(state.thread_id, state.owner), state.model_dump_json(indent=1))
