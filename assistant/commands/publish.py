"""`benchmark-agent publish|unpublish BUILD_DIR`: share a finished benchmark with every user, or take it back."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.commands.build import settings_from
from assistant.deps import memory_embedder, open_catalog, open_store
from tools.sharing import build_id_in, share


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, verb, effect in (
        ("publish", True, "its samples then take part in every user's de-duplication and it is listed in everyone's "
                          "catalog"),
        ("unpublish", False, "its samples and catalog entry become yours alone again"),
    ):
        command = commands.add_parser(
            name, help=f"{name.capitalize()} a finished benchmark (as BENCHMARK_AGENT_LOCAL_USER): {effect}.")
        command.add_argument("directory", type=Path, help="The build's folder (the --out of benchmark-agent build).")
        command.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept (default: settings).")
        command.set_defaults(run=run, published=verb)


async def run(args: argparse.Namespace) -> int:
    build_id = build_id_in(args.directory)  # a wrong folder fails before the memory is opened
    settings = settings_from(args)
    embedder = memory_embedder()
    with open_store(settings, embedder) as store, open_catalog(settings, embedder) as catalog:
        shared = share(store, catalog, build_id, published=args.published)
    print(shared.describe())
    return 0
