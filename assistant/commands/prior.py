"""`benchmark-agent prior "QUERY"`: the known benchmarks closest to a description."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.commands.build import settings_from
from assistant.deps import open_catalog
from tools.errors import InvalidRequest


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    prior = commands.add_parser("prior", help="Known benchmarks closest to a description; prints a JSON list.")
    prior.add_argument("query", help='What the benchmark measures, e.g. "grade-school math word problems".')
    prior.add_argument("-k", type=int, default=5, help="How many to list (default 5).")
    prior.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept (default: settings).")
    prior.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise InvalidRequest(f"-k must be at least 1, got {args.k}")
    if not args.query.strip():
        raise InvalidRequest("The query is empty: describe what the benchmark measures.")
    with open_catalog(settings_from(args)) as catalog:
        matches = catalog.search(args.query, k=args.k)
    print(json.dumps([m.as_json() for m in matches], ensure_ascii=False))
    return 0
