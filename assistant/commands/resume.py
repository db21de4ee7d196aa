"""`benchmark-agent resume DIR`: finish an interrupted build from its checkpoints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.commands.build import printer, settings_from, summary
from assistant.deps import build_options, finish_options, open_store, settle_heap
from assistant.model_registry import model_warnings, stage_models
from tools.pipeline import resume_build


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    resume = commands.add_parser("resume", help="Continue an interrupted build; nothing already decided is redone.")
    resume.add_argument("directory", type=Path, help="The --out directory of the interrupted build.")
    resume.add_argument("--model", default=None, help="Model for every role (default: settings).")
    resume.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept.")
    resume.add_argument("--quiet", action="store_true", help="Print only the final summary.")
    resume.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    models = stage_models(settings)
    warnings = model_warnings(models)
    print(f"Resuming {args.directory} with {', '.join(f'{r}={n}' for r, n in models.names.items())}", file=sys.stderr)
    store = open_store(settings)
    settle_heap()
    result = await resume_build(args.directory, models=models, store=store,
                                options=build_options(settings), on_event=printer(args.quiet), warnings=warnings,
                                finishing=finish_options(settings))
    return summary(result, args.directory)
