"""`benchmark-agent user add|remove|list`: the password users of a shared chat server, kept as salted hashes."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from assistant.commands.build import settings_from
from assistant.passwords import read_users_file, remove_user, set_user
from tools.errors import InvalidRequest

MIN_PASSWORD = 8


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    user = commands.add_parser("user", help="Add, remove or list the users who sign in to the chat with a password.")
    user.add_argument("action", choices=("add", "remove", "list"))
    user.add_argument("name", nargs="?", help="The user name (for add and remove).")
    user.add_argument("--users-file", type=Path, default=None,
                      help="The users file (default: BENCHMARK_AGENT_USERS_FILE, else DATA_DIR/users.txt).")
    user.add_argument("--data-dir", type=Path, default=None, help="Where the chat keeps its data (default: settings).")
    user.set_defaults(run=run)


def _password(name: str) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input (for scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != first:
            raise InvalidRequest("The two passwords differ; nothing was changed.")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"The password must have at least {MIN_PASSWORD} characters; nothing was changed.")
    return password


async def run(args: argparse.Namespace) -> int:
    path = args.users_file or settings_from(args).users_path()
    if args.action == "list":
        for name in read_users_file(path) if path.exists() else {}:
            print(name)
        return 0
    if not args.name:
        raise InvalidRequest(f"`benchmark-agent user {args.action}` needs the user name.")
    if args.action == "add":
        new = set_user(path, args.name, _password(args.name))
        print(f"{'Added' if new else 'New password for'} {args.name} in {path}.", file=sys.stderr)
        return 0
    if not remove_user(path, args.name):
        raise InvalidRequest(f"{args.name} is not in {path}; nothing was changed.")
    print(f"Removed {args.name} from {path}.", file=sys.stderr)
    return 0
