"""Who is using the chat. Sign-in is always on, so that every thread has an owner and a thread list.

Password users come from `auth_users`; a trusted proxy can name the user in `auth_header`; with
neither, the install has one user (`local_user`), signed in without a form. Part of the Chainlit shell.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import chainlit as cl

from assistant.settings import Settings
from memory.files import write_atomic


def ensure_auth_secret(data_dir: Path) -> None:
    """Chainlit signs sign-ins with CHAINLIT_AUTH_SECRET: keep one under the data directory when none is set,
    so that sign-ins survive a restart."""
    if os.environ.get("CHAINLIT_AUTH_SECRET"):
        return
    path = data_dir / "chainlit_auth_secret"
    if not path.exists():
        write_atomic(path, secrets.token_urlsafe(48))
        path.chmod(0o600)
    os.environ["CHAINLIT_AUTH_SECRET"] = path.read_text().strip()


def password_user(settings: Settings, username: str, password: str) -> cl.User | None:
    expected = settings.users().get(username)
    if expected is not None and hmac.compare_digest(expected.encode(), password.encode()):
        return cl.User(identifier=username, metadata={"provider": "credentials"})
    return None


def header_user(settings: Settings, headers: Mapping[str, str]) -> cl.User | None:
    if settings.auth_header:
        name = headers.get(settings.auth_header)
        return cl.User(identifier=name, metadata={"provider": "header"}) if name else None
    return cl.User(identifier=settings.local_user, metadata={"provider": "header"})
