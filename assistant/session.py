"""A chat thread's state: where the conversation stands, kept on disk so a reload or restart loses nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter

from memory.files import write_atomic
from tools.models import BenchmarkSpec, ClarifyingQuestion, Strict, SubtaskPlan

Phase = Literal["gathering", "clarifying", "spec_ready", "planned", "building", "built"]
MAX_HISTORY_MESSAGES = 40


class BuildSummary(Strict):
    build_id: str
    directory: str
    status: Literal["complete", "short", "stopped", "failed"]
    accepted: int
    requested: int
    message: str = ""


class ThreadState(Strict):
    thread_id: str
    phase: Phase = "gathering"
    last_message: str = ""
    spec: BenchmarkSpec | None = None
    questions: list[ClarifyingQuestion] = Field(default_factory=list)
    plan: SubtaskPlan | None = None
    build: BuildSummary | None = None
    history_json: str = "[]"
    notices: list[str] = Field(default_factory=list, description="Things said to the user about changes, newest last.")

    def history(self) -> list[ModelMessage]:
        return list(ModelMessagesTypeAdapter.validate_json(self.history_json))

    def set_history(self, messages: list[ModelMessage]) -> None:
        # Keep the tail, starting at a user request so tool calls and their returns stay paired.
        tail = messages[-MAX_HISTORY_MESSAGES:]
        while tail and tail[0].kind != "request":
            tail = tail[1:]
        self.history_json = ModelMessagesTypeAdapter.dump_json(tail).decode()


class ThreadStore:
    """One JSON file per thread under `directory`, replaced atomically on every save."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, thread_id: str) -> Path:
        safe = hashlib.sha256(thread_id.encode()).hexdigest()[:32]
        return self.directory / f"{safe}.json"

    def load(self, thread_id: str) -> ThreadState:
        path = self._path(thread_id)
        if not path.exists():
            return ThreadState(thread_id=thread_id)
        try:
            return ThreadState.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, json.JSONDecodeError) as exc:
            # Never silently start over on a damaged file: keep it aside and say so.
            path.rename(path.with_suffix(".damaged.json"))
            state = ThreadState(thread_id=thread_id)
            state.notices.append(f"The saved state of this thread could not be read ({exc.__class__.__name__}); "
                                 f"it was kept as {path.with_suffix('.damaged.json').name} and the thread starts fresh.")
            return state

    def save(self, state: ThreadState) -> None:
        write_atomic(self._path(state.thread_id), state.model_dump_json(indent=1))
