"""What the Chainlit server is set up with before it serves: the sign-in, its secret, the origins allowed to call
it and the upload limits. Run once, when `chainlit run` loads assistant/app.py; a setting that would leave the
server open stops the start there, with a message naming the setting. Part of the Chainlit shell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from chainlit.config import config
from chainlit.server import app as server
from chainlit.server import sio

from assistant import auth, chat_history, request_user
from assistant.settings import Settings
from tools.errors import ConfigurationError


def prepare(settings: Settings) -> auth.SignIn:
    try:
        signin = auth.sign_in(settings, config.run.host)
    except ConfigurationError as exc:
        raise SystemExit(f"error: the chat server did not start: {exc}") from None
    auth.ensure_auth_secret(settings.data_dir)
    # In place: `chainlit run` builds its CORS middleware on this very list before it loads the app, and reads
    # it when the first request comes. Same-origin use (the chat's own page) needs no entry.
    config.project.allow_origins[:] = settings.origins()
    # Chainlit turns the socket's origin check off; a page of another site could then open a chat session with the
    # user's cookie (same-site sibling hosts send it). Only the server's own page and the allowed origins may.
    sio.eio.cors_allowed_origins = socket_origins(settings.origins())
    request_user.install(server)  # the chat history checks who sends Chainlit's HTTP requests (feedback)
    chat_history.install(server)  # the files shown in a thread, served to its author only
    uploads = config.features.spontaneous_file_upload
    if uploads is not None:  # Chainlit refuses bigger uploads before the reader would (tools.sources checks again)
        uploads.max_files, uploads.max_size_mb = settings.max_uploads, settings.max_upload_mb
    return signin


def socket_origins(allowed: list[str]) -> Callable[[str | None, Mapping[str, Any]], bool]:
    """Whether a browser on `origin` may open the chat's socket: from the server's own host (as the request names it,
    or a proxy's X-Forwarded-Host), or from an allowed origin. A client that sends no origin is not a browser page."""

    def check(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin or "*" in allowed or origin.rstrip("/") in allowed:
            return True
        hosts = {str(environ.get("HTTP_HOST", "")), str(environ.get("HTTP_X_FORWARDED_HOST", "")).split(",")[0].strip()}
        return urlsplit(origin).netloc in hosts - {""}

    return check
