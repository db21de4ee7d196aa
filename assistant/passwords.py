"""Password users: salted scrypt hashes, kept in a users file (one `name:hash` a line) or given in the environment.

A hash reads `scrypt$N$r$p$SALT$KEY` (salt and key in base64). The users file only ever holds hashes:
`benchmark-agent user add NAME` writes them. `BENCHMARK_AGENT_AUTH_USERS=name:password,...` (the quick start)
may give plain passwords; they are hashed as they are read, so no plain password is kept past start-up.
Plain Python, no Chainlit: the sign-in callback in assistant/auth.py uses it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from memory.files import write_atomic
from tools.errors import ConfigurationError

SCHEME = "scrypt"
# 2**14 x 8 x 1 is the interactive-login cost the scrypt paper recommends (16 MB; ~80 ms a check on a 2-core machine).
COST_N, COST_R, COST_P = 2**14, 8, 1
KEY_BYTES, SALT_BYTES = 32, 16
NAME = re.compile(r"^[^\s:,#]{1,80}$")
USERS_FILE_SETTING = "BENCHMARK_AGENT_USERS_FILE"
AUTH_USERS_SETTING = "BENCHMARK_AGENT_AUTH_USERS"
logger = logging.getLogger(__name__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                          maxmem=max(64 * 1024 * 1024, 256 * n * r))


def hash_password(password: str) -> str:
    """A new salted hash of `password`, in the form the users file keeps."""
    if not password:
        raise ConfigurationError("A password cannot be empty.")
    salt = os.urandom(SALT_BYTES)
    key = _key(password, salt, COST_N, COST_R, COST_P)
    return f"{SCHEME}${COST_N}${COST_R}${COST_P}${_b64(salt)}${_b64(key)}"


def is_hash(text: str) -> bool:
    return _parse(text) is not None


def _parse(stored: str) -> tuple[bytes, bytes, int, int, int] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if not 2 <= n <= 2**20 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or not salt or len(key) != KEY_BYTES:
        return None
    return salt, key, n, r, p


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from (constant-time comparison of the keys)."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    salt, key, n, r, p = parsed
    return hmac.compare_digest(_key(password, salt, n, r, p), key)


@functools.cache
def _decoy() -> str:
    """Checked for a name that is not a user, so that a wrong name takes as long as a wrong password."""
    return hash_password("not a user's password")


@dataclass
class Users:
    """Who may sign in with a password: name -> salted hash, from the environment and from the users file, which is
    read again whenever it changes (a user added with `benchmark-agent user add` can sign in at once)."""

    hashes: dict[str, str] = field(default_factory=dict)  # from BENCHMARK_AGENT_AUTH_USERS
    file: Path | None = None
    _from_file: dict[str, str] = field(default_factory=dict)
    _stamp: tuple[int, int] | None = None

    def refresh(self, *, strict: bool = False) -> None:
        """Read the users file again if it changed since; `strict` (at start) raises on a bad file, later a bad
        file is logged and the users it had are kept, so that a half-edited file locks nobody out."""
        if self.file is None:
            return
        stamp = _stamp_of(self.file)
        if stamp == self._stamp:
            return
        try:
            self._from_file = read_users_file(self.file) if stamp else {}
        except ConfigurationError as exc:
            if strict:
                raise
            logger.error("The users file changed but was not read again: %s", exc)
            return
        self._stamp = stamp

    def __bool__(self) -> bool:
        self.refresh()
        return bool(self.hashes or self._from_file)

    def known(self, name: str) -> bool:
        return name in self.hashes or name in self._from_file

    def check(self, name: str, password: str) -> bool:
        self.refresh()
        stored = self.hashes.get(name) or self._from_file.get(name)
        matched = verify_password(password, stored or _decoy())
        return stored is not None and matched


def _stamp_of(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def read_users_file(path: Path) -> dict[str, str]:
    """The users of a users file; a line that is not `name:hash` stops the start with its line number."""
    users: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"The users file {path} could not be read ({exc.strerror}); fix it or unset "
                                 f"{USERS_FILE_SETTING}.") from exc
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, stored = line.partition(":")
        if not sep or not NAME.match(name):
            raise ConfigurationError(f"Line {number} of the users file {path} is not 'name:hash' (a name has no "
                                     "spaces, ':', ',' or '#'). Add users with `benchmark-agent user add NAME`.")
        if not is_hash(stored):
            raise ConfigurationError(f"Line {number} of the users file {path} ({name}) holds no password hash: the "
                                     "file never keeps plain passwords. Set it with `benchmark-agent user add "
                                     f"{name}`, which stores a salted hash.")
        if name in users:
            raise ConfigurationError(f"{name} is in the users file {path} twice (lines with that name): keep one.")
        users[name] = stored
    return users


def parse_env_users(value: str) -> dict[str, str]:
    """`name:password,...` (or `name:scrypt$...` hashes) from BENCHMARK_AGENT_AUTH_USERS, each hashed as read."""
    users: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, secret = item.partition(":")
        name = name.strip()
        if not sep or not secret or not NAME.match(name):
            raise ConfigurationError(f"{AUTH_USERS_SETTING} must read 'name:password,name2:password2' (a name has "
                                     f"no spaces, ':', ',' or '#'); one entry, '{name or '?'}:...', does not.")
        users[name] = secret if is_hash(secret) else hash_password(secret)
    return users


def load_users(env_value: str | None, users_file: Path | None) -> Users:
    """The environment's users and the users file's (when it exists); one name in both stops the start."""
    users = Users(parse_env_users(env_value) if env_value else {}, users_file)
    users.refresh(strict=True)
    both = sorted(set(users.hashes) & set(users._from_file))
    if both:
        raise ConfigurationError(f"{', '.join(both)} is given both in {AUTH_USERS_SETTING} and in the users file "
                                 f"{users_file}: keep one of the two.")
    return users


def set_user(path: Path, name: str, password: str) -> bool:
    """Add `name` to the users file, or give it a new password; True when the user is new. The file is replaced
    atomically and readable by its owner only."""
    if not NAME.match(name):
        raise ConfigurationError(f"{name!r} cannot be a user name: 1-80 characters, no spaces, ':', ',' or '#'.")
    users = read_users_file(path) if path.exists() else {}
    new = name not in users
    users[name] = hash_password(password)
    _write(path, users)
    return new


def remove_user(path: Path, name: str) -> bool:
    """Remove `name` from the users file; False when it was not there."""
    users = read_users_file(path) if path.exists() else {}
    if users.pop(name, None) is None:
        return False
    _write(path, users)
    return True


def _write(path: Path, users: dict[str, str]) -> None:
    lines = ["# Benchmark Agent users: name:salted scrypt hash. Edit with `benchmark-agent user add|remove`."]
    lines += [f"{name}:{stored}" for name, stored in sorted(users.items())]
    write_atomic(path, "\n".join(lines) + "\n")
    path.chmod(0o600)
