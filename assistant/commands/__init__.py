"""One module per `benchmark-agent` subcommand; each exposes `register(subparsers)` and `run(args) -> int`."""
