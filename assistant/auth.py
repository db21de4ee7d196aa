"""Who is using the chat. Sign-in is always on, so that every thread, build and download has an owner.

Three ways, chosen by `BENCHMARK_AGENT_AUTH` (`auto` by default):
- `password`: users with salted password hashes (assistant/passwords.py) sign in with a form; `auto` picks it
  whenever a user is configured;
- `header`: a trusted proxy names the user in `BENCHMARK_AGENT_AUTH_HEADER`; only when turned on explicitly, since
  anyone who reaches the server directly could send that header;
- `local`: one user (`BENCHMARK_AGENT_LOCAL_USER`), signed in without a form; `auto` picks it when no user is
  configured, and only ever on a server that listens on loopback.
A setting that would leave the server open stops the start with a message naming it. Part of the Chainlit shell.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import chainlit as cl

from assistant.passwords import AUTH_USERS_SETTING, USERS_FILE_SETTING, Users, load_users
from assistant.settings import Settings
from memory.files import write_atomic
from tools.errors import ConfigurationError

Mode = Literal["password", "header", "local"]
AUTH_SETTING = "BENCHMARK_AGENT_AUTH"
HEADER_SETTING = "BENCHMARK_AGENT_AUTH_HEADER"
logger = logging.getLogger(__name__)
_ADD_USERS = (f"add users with `benchmark-agent user add NAME` (kept hashed in the users file, {USERS_FILE_SETTING}) "
              f"or {AUTH_USERS_SETTING}=name:password")


class Throttle:
    """Password guessing, slowed down: after `free` wrong passwords in a row for one user, each next try waits
    `base_s`, doubling up to `max_wait_s`; until then even the right password is refused. Kept per known user name
    only, so that made-up names cannot fill it."""

    def __init__(self, free: int = 5, base_s: float = 1.0, max_wait_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base_s, self.max_wait_s, self.clock = free, base_s, max_wait_s, clock
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (wrong passwords in a row, when the last was)
        self._lock = threading.Lock()  # sign-ins are checked in worker threads

    def wait_s(self, name: str) -> float:
        count, last = self._failures.get(name, (0, 0.0))
        if count < self.free:
            return 0.0
        wait = min(self.max_wait_s, self.base_s * 2 ** (count - self.free))
        return max(0.0, last + wait - self.clock())

    def record(self, name: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            else:
                count, _ = self._failures.get(name, (0, 0.0))
                self._failures[name] = (count + 1, self.clock())


@dataclass(frozen=True)
class SignIn:
    mode: Mode
    users: Users
    header: str | None = None
    local_user: str = "researcher"
    throttle: Throttle = field(default_factory=Throttle, compare=False)


def is_loopback(host: str) -> bool:
    """Whether a server listening on `host` is reachable from this machine only."""
    host = host.strip().strip("[]")
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def sign_in(settings: Settings, host: str) -> SignIn:
    """How people sign in on a server listening on `host`; a ConfigurationError when the settings would leave it open
    or cannot work."""
    users = load_users(settings.auth_users.get_secret_value() if settings.auth_users else None, settings.users_path())
    mode = settings.auth
    if settings.auth_header and mode != "header":
        raise ConfigurationError(f"{HEADER_SETTING} is set, but a sign-in header is trusted only when turned on: set "
                                 f"{AUTH_SETTING}=header as well (and only behind a proxy that sets the header and "
                                 f"removes it from what clients send), or unset {HEADER_SETTING}.")
    if mode == "header":
        if not settings.auth_header:
            raise ConfigurationError(f"{AUTH_SETTING}=header needs {HEADER_SETTING}, the header your proxy names the "
                                     "user in (e.g. X-Forwarded-User).")
        return SignIn("header", users, header=settings.auth_header)
    if mode == "password" or (mode == "auto" and users):
        if not users:
            raise ConfigurationError(f"{AUTH_SETTING}=password, but no user is configured: {_ADD_USERS}.")
        return SignIn("password", users)
    if not is_loopback(host):
        raise ConfigurationError(
            f"The server would listen on {host}, where other machines reach it, with no sign-in (single-user mode): "
            f"anyone could use it as '{settings.local_user}'. Either {_ADD_USERS}; or set {AUTH_SETTING}=header behind "
            "a proxy that signs people in; or listen on 127.0.0.1 only (HOST=127.0.0.1 scripts/run).")
    return SignIn("local", users, local_user=settings.local_user)


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


def password_user(signin: SignIn, username: str, password: str) -> cl.User | None:
    if signin.mode != "password":
        return None
    if signin.throttle.wait_s(username) > 0:
        logger.warning("Sign-in of %r refused unchecked: too many wrong passwords in a row.", username)
        return None
    ok = signin.users.check(username, password)
    if signin.users.known(username):
        signin.throttle.record(username, ok)
    return cl.User(identifier=username, metadata={"provider": "credentials"}) if ok else None


def header_user(signin: SignIn, headers: Mapping[str, str]) -> cl.User | None:
    if signin.mode == "header" and signin.header:
        name = (headers.get(signin.header) or "").strip()
        return cl.User(identifier=name, metadata={"provider": "header"}) if 0 < len(name) <= 200 else None
    if signin.mode == "local":
        return cl.User(identifier=signin.local_user, metadata={"provider": "local"})
    return None
