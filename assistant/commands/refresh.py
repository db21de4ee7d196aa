"""`benchmark-agent refresh DIR`: a fresh version of a finished benchmark, sharing no item with earlier versions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.commands.build import printer, settings_from, summary
from assistant.deps import build_options, finish_options, open_catalog, open_store
from assistant.model_registry import model_warnings, stage_models
from tools.errors import InvalidRequest
from tools.refresh import refresh_build


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    refresh = commands.add_parser(
        "refresh", help="Build a fresh version of a benchmark: same spec and plan, no item of any earlier version.")
    refresh.add_argument("directory", type=Path, help="The folder of the benchmark to renew (a build's --out).")
    refresh.add_argument("--out", type=Path, default=None,
                         help="Folder for the new version (default: DIRECTORY-v2, -v3, ... the first that is free). "
                         "Running again with the same --out resumes it.")
    refresh.add_argument("--model", default=None, help="Model for every role (default: settings).")
    refresh.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept.")
    refresh.add_argument("--quiet", action="store_true", help="Print only the final summary.")
    refresh.set_defaults(run=run)


def next_version_folder(directory: Path) -> Path:
    directory = directory.resolve()  # "." or "dir/.." name the folder they are, so the version sits beside it
    if not directory.name:
        raise InvalidRequest(f"{directory} is the root folder: give --out a folder for the fresh version.")
    stem = directory.name
    base = stem.rsplit("-v", 1)[0] if stem.rsplit("-v", 1)[-1].isdigit() else stem
    number = 2
    while (candidate := directory.with_name(f"{base}-v{number}")).exists():
        number += 1
    return candidate


async def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    out = args.out or next_version_folder(args.directory)
    models = stage_models(settings)
    print(f"Refreshing {args.directory} into {out} with "
          f"{', '.join(f'{r}={n}' for r, n in models.names.items())}", file=sys.stderr)
    result = await refresh_build(args.directory, out, models=models, store=open_store(settings),
                                 options=build_options(settings), on_event=printer(args.quiet),
                                 warnings=model_warnings(models), finishing=finish_options(settings),
                                 catalog=open_catalog(settings))
    return summary(result, out)
