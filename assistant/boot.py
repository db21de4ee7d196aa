"""What the Chainlit server is set up with before it serves: the sign-in, its secret, the origins allowed to call
it and the upload limits. Run once, when `chainlit run` loads assistant/app.py; a setting that would leave the
server open stops the start there, with a message naming the setting. Part of the Chainlit shell.
"""

from __future__ import annotations

from chainlit.config import config
from chainlit.server import app as server

from assistant import auth, request_user
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
    request_user.install(server)  # the chat history checks who sends Chainlit's HTTP requests (feedback)
    uploads = config.features.spontaneous_file_upload
    if uploads is not None:  # Chainlit refuses bigger uploads before the reader would (tools.sources checks again)
        uploads.max_files, uploads.max_size_mb = settings.max_uploads, settings.max_upload_mb
    return signin
