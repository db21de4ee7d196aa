"""`benchmark-agent`: the pipeline from the command line. Subcommands live in assistant/commands/."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from assistant.commands import build, check, dedup, evaluate, export, prior, publish, refresh, resume, user
from tools.errors import BenchmarkAgentError

EXIT_ERROR = 2
COMMANDS = (build, resume, refresh, export, evaluate, check, dedup, prior, publish, user)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="benchmark-agent", description="Build evaluation benchmarks for LLMs.")
    commands = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = parser().parse_args(argv)
    try:
        return asyncio.run(args.run(args))
    except BenchmarkAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: what was accepted so far is kept in the output's checkpoints/ folder", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
