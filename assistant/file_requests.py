"""A request about files that are not attached yet ("questions on the attached document", a starter's request):
the chat asks for them, naming the file types it reads, and keeps the request; the next message that carries
them goes on with it.

Nothing is planned from such a request before its files are read: the spec would be guessed from words that
point at material nobody has seen.
"""

from __future__ import annotations

from assistant import material
from assistant.deps import AssistantDeps
from assistant.session import PendingInput
from tools.contracts import SourceKind
from tools.sources import supported_list
from tools.stages.file_words import files_named

_WHAT: dict[SourceKind, str] = {"image": "the images", "document": "the document", "records": "the data file"}


def ask_for_files(deps: AssistantDeps, message: str) -> str | None:
    """The request for the files `message` is about when the thread has no material yet (the message is kept until
    they come), or None."""
    kind = files_named(message)
    if kind is None or material.view_of(deps) is not None:
        return None
    deps.state.pending = PendingInput(kind="files", request=message.strip(), prompt=f"attach {_WHAT[kind]}")
    return (f"Your request is about {_WHAT[kind]}, and none is attached to this conversation yet. Attach "
            f"{_WHAT[kind]} (one file or several) to your next message, with the paperclip by the message box or by "
            f"dropping them on the chat; I have kept your request and go on with it once they are read. "
            f"Files I read: {supported_list()}.")


def continued(deps: AssistantDeps, typed: str) -> str:
    """What to answer once files were attached: the request kept while waiting for them, then what was typed with
    them; `typed` alone when no request waits, or when nothing of the files could be read (the request keeps
    waiting)."""
    pending = deps.state.pending
    if pending is None or pending.kind != "files" or material.view_of(deps) is None:
        return typed
    deps.state.pending = None
    return " ".join(part for part in (pending.request, typed.strip()) if part)
