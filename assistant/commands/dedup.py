"""`benchmark-agent dedup FILE.jsonl`: which rows duplicate earlier rows (and, optionally, stored benchmarks)."""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

from assistant.commands.build import settings_from
from assistant.deps import memory_embedder, open_store
from assistant.model_registry import stage_models
from assistant.settings import EMBEDDED_MODEL
from memory.dedup import SHIPPED_THRESHOLD, Deduplicator, Duplicate, TieBreak, items_from_rows
from tools.errors import InvalidRequest
from tools.qc.dedup_judge import same_item


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dedup = commands.add_parser(
        "dedup", help="Find duplicate samples in a JSONL file; prints {\"duplicates\": [{a, b, score}]}."
    )
    dedup.add_argument("file", type=Path, help="JSONL rows with id, question and answer (context, choices optional).")
    dedup.add_argument(
        "--threshold", type=float, default=None,
        help=f"Question similarity from which a same-answer pair is a duplicate (default {SHIPPED_THRESHOLD}, calibrated).",
    )
    dedup.add_argument("--against-memory", action="store_true",
                       help="Also compare with the benchmarks you built here (as BENCHMARK_AGENT_LOCAL_USER) and the "
                            "published ones.")
    dedup.add_argument("--model", default=None,
                       help="Judge model that settles the pairs the text checks cannot (the uncertain band), as in a "
                            "build, e.g. openai:gpt-4o-mini (default: such pairs are kept as different).")
    dedup.add_argument("--data-dir", type=Path, default=None, help="Where memory is kept (default: settings).")
    dedup.set_defaults(run=run)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows; a row that is not an object with a question and an answer is an error naming its line."""
    if not path.is_file():
        raise InvalidRequest(f"No such file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 JSON lines.") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not str(row.get("question") or "").strip() or row.get("answer") is None:
            raise InvalidRequest(f"{path}:{number}: a row needs a non-empty 'question' and an 'answer'")
        rows.append(row)
    return rows


async def run(args: argparse.Namespace) -> int:
    if args.threshold is not None and not 0 < args.threshold <= 1:
        raise InvalidRequest(f"--threshold must be in (0, 1], got {args.threshold}")
    settings = settings_from(args)
    items = items_from_rows(read_rows(args.file))
    tie_break: TieBreak | None = None
    if args.model:
        if args.model == EMBEDDED_MODEL:
            raise InvalidRequest(f"--model {EMBEDDED_MODEL}: the embedded toy model's verdicts would be noise; "
                                 "give a real model (openai:NAME with OPENAI_BASE_URL or OPENAI_API_KEY).")
        tie_break = partial(same_item, models=stage_models(settings, roles=("judge",)))
    embedder = memory_embedder()
    dedup = Deduplicator(embedder, threshold=args.threshold if args.threshold is not None else settings.dedup_threshold,
                         tie_break=tie_break)
    remembered: list[Duplicate] = []
    if args.against_memory:
        with open_store(settings, embedder) as store:
            remembered = await dedup.against(items, store)
    within = await dedup.within(items, skip={d.b for d in remembered})
    order = {item.id: n for n, item in enumerate(items)}
    found = sorted([*remembered, *within], key=lambda d: order.get(d.b, 0))
    print(json.dumps({"duplicates": [d.as_json() for d in found]}, ensure_ascii=False))
    return 0
