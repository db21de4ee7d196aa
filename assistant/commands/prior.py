"""`benchmark-agent prior "QUERY"`: the known benchmarks closest to a description; `prior --built`: the catalog of
benchmarks built here that the local identity sees (its own and the published ones)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.commands.build import settings_from
from assistant.deps import open_catalog
from tools.errors import InvalidRequest


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    prior = commands.add_parser("prior", help="Known benchmarks closest to a description; prints a JSON list.")
    prior.add_argument("query", nargs="?", default="",
                       help='What the benchmark measures, e.g. "grade-school math word problems".')
    prior.add_argument("--built", action="store_true",
                       help="List the benchmarks built here that you see (yours and the published ones) instead.")
    prior.add_argument("-k", type=int, default=5, help="How many to list (default 5).")
    prior.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept (default: settings).")
    prior.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise InvalidRequest(f"-k must be at least 1, got {args.k}")
    if args.built:
        with open_catalog(settings_from(args)) as catalog:
            built = catalog.built()
            rows = [{"build_id": b.build_id, "name": b.name, "size": b.size, "published": b.published,
                     "yours": b.owner == catalog.owner} for b in built]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not args.query.strip():
        raise InvalidRequest("The query is empty: describe what the benchmark measures (or list yours with --built).")
    with open_catalog(settings_from(args)) as catalog:
        matches = catalog.search(args.query, k=args.k)
    print(json.dumps([m.as_json() for m in matches], ensure_ascii=False))
    return 0
