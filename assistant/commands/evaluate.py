"""`benchmark-agent evaluate DIR --models m1,m2`: score models on a finished benchmark, kept with its date."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.commands.build import settings_from
from assistant.model_registry import resolve_model, stage_models, uses_toy_model
from tools.contracts import BuildReport
from tools.engine.budget import Budget, parse_prices
from tools.errors import InvalidRequest
from tools.export.rows import samples_from_rows
from tools.finish.evaluate import describe, evaluate_models, latest, save
from tools.llm.stage import StageModels


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    evaluate = commands.add_parser(
        "evaluate", help="Score models on a finished benchmark: accuracy with 95% intervals, per subtask, and how it moved.")
    evaluate.add_argument("directory", type=Path, help="The build's output folder (the --out of `build`).")
    evaluate.add_argument("--models", required=True, help="Comma list of provider:name models, e.g. openai:a,openai:b.")
    evaluate.add_argument("--expected-order", default=None,
                          help="The same models, strongest first, to check that our ranking agrees (Spearman, Kendall).")
    evaluate.add_argument("--reference-scores", default=None, metavar="MODEL=SCORE,...",
                          help="The same models' scores on a reference benchmark (e.g. openai:a=71.2,openai:b=64): "
                          "the rank correlation of our scores with them is reported.")
    evaluate.add_argument("--concurrency", type=int, default=None, help="Requests in flight (default: settings).")
    evaluate.add_argument("--max-tokens", type=int, default=None,
                          help="Token budget of the evaluation (default: BENCHMARK_AGENT_MAX_TOKENS). Answers made "
                          "before it stops are kept: evaluating again asks only the rest.")
    evaluate.add_argument("--max-cost", type=float, default=None,
                          help="Dollar budget of the evaluation (default: BENCHMARK_AGENT_MAX_COST); needs prices.")
    evaluate.set_defaults(run=run)


def reference_scores(text: str | None) -> dict[str, float] | None:
    """'openai:a=71.2,openai:b=64' as {model: score}; a malformed entry is refused with what to write."""
    if not text:
        return None
    scores: dict[str, float] = {}
    for entry in _names(text):
        name, _, value = entry.rpartition("=")
        try:
            scores[name.strip()] = float(value)
        except ValueError:
            name = ""
        if not name.strip():
            raise InvalidRequest(f"--reference-scores: {entry!r} is not MODEL=SCORE (e.g. openai:a=71.2).")
    return scores


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


async def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    rows, report_file = directory / "benchmark.jsonl", directory / "report.json"
    if not rows.is_file() or not report_file.is_file():
        raise InvalidRequest(f"{directory} holds no finished build (benchmark.jsonl and report.json); build it first.")
    names = _names(args.models)
    reference = reference_scores(args.reference_scores)  # malformed scores fail before anything is read
    if not names:
        raise InvalidRequest("--models names no model: give a comma list such as openai:gpt-4o-mini,openai:my-local.")
    settings = settings_from(args)
    samples = samples_from_rows(rows.read_text(encoding="utf-8"), source=str(rows))
    report = BuildReport.model_validate_json(report_file.read_text(encoding="utf-8"))
    cache: dict = {}
    models = {name: resolve_model(name, settings, cache) for name in names}
    # Open answers that are not the gold word for word are graded by the judge model, unless it is the toy one.
    judged = stage_models(settings, roles=("judge",))
    usage = StageModels(models={}, names={}) if uses_toy_model(judged) else judged
    grading = (f"open answers graded by the judge {usage.names['judge']}, whose calls count in the budget"
               if "judge" in usage.names else "open answers by exact match (set BENCHMARK_AGENT_JUDGE_MODEL or "
               "BENCHMARK_AGENT_MODEL for a graded score)")
    print(f"Evaluating {len(names)} models on {len(samples)} items; {grading}...", file=sys.stderr)
    board = await evaluate_models(samples, models, build_id=report.build_id, usage=usage,
                                  concurrency=args.concurrency or settings.concurrency,
                                  expected_order=_names(args.expected_order) or None, reference=reference,
                                  previous=latest(directory),
                                  budget=Budget(max_tokens=args.max_tokens or settings.max_tokens,
                                                max_cost=args.max_cost or settings.max_cost),
                                  prices=parse_prices(settings.prices), directory=directory)
    path = save(board, directory)
    print(describe(board), file=sys.stderr)
    spent = sum(u.input_tokens + u.output_tokens for u in usage.usage.values())
    print(f"tokens: {spent:,}", file=sys.stderr)
    print(str(path))
    return 0
