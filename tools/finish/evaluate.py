"""Evaluation of models on a finished benchmark, kept with its date so that a later one shows how models moved.

Each model answers every item with the solver agent (never seeing the gold answer), under the given
concurrency, the endpoints' own retries and a token or dollar budget; every answer is kept as it arrives,
so a stopped evaluation run again asks only what is missing; a model that gives no valid answer scores the
item wrong. The judge's grading of open answers is paid from the same budget and kept the same way; when the
budget runs out while it grades, the items it left ungraded are named and left out of every score.
Scoring is the quality gate's: the option letter or text for multiple choice, numbers compared to the gold's
precision, yes/no, normalised text. The leaderboard has each model's accuracy with its 95 % Wilson interval
and per-subtask accuracy, difficulty and separability (AutoBencher's definitions), the items every model
failed, and, when the user gives the order they expect (strongest first), Spearman and Kendall rank
correlations of our scores with it (the consistency check of the Benchmark Agent paper).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic_ai.models import Model
from scipy import stats

from memory.files import write_atomic
from tools.contracts import Consistency, Leaderboard, ModelScore, Role, Sample, TokenUsage
from tools.engine.budget import Budget, Price, cost_of, price_for
from tools.errors import BudgetReached, InvalidRequest
from tools.finish.panel import difficulty_report, panel_accuracy
from tools.llm.resilience import CallCache
from tools.llm.stage import StageModels

EVALUATIONS = "evaluations"  # one file per evaluation, named by its time; leaderboard.json is the latest
CALLS = "calls.jsonl"  # every answer of every evaluation, by request: a re-run asks only what is missing
LEADERBOARD = "leaderboard.json"


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of `correct` out of `total` (95 % by default)."""
    if total == 0:
        return (0.0, 1.0)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rank_agreement(expected: list[str], accuracy: dict[str, float],
                   reference: dict[str, float] | None = None) -> Consistency:
    """Spearman and Kendall correlation between our accuracies and the expected order (strongest first), or the
    models' `reference` scores on another benchmark (then `expected` is their order by those scores)."""
    _check_order(expected, list(accuracy))
    ours = [accuracy[name] for name in expected]
    # The first named is expected to score highest; with reference scores, ties among them stay ties.
    strength = [reference[name] for name in expected] if reference else list(range(len(expected), 0, -1))
    spearman = kendall = None
    if len(expected) >= 2 and len(set(ours)) > 1:
        spearman = float(stats.spearmanr(strength, ours).statistic)
        kendall = float(stats.kendalltau(strength, ours).statistic)
    return Consistency(expected=expected, models=len(expected), spearman=spearman, kendall=kendall,
                       reference=reference)


def _check_order(expected: list[str], names: list[str]) -> None:
    unknown = [name for name in expected if name not in names]
    if unknown:
        raise InvalidRequest(f"The expected order names {', '.join(unknown)}, which were not evaluated; "
                             f"name only evaluated models: {', '.join(names)}.")


def evaluation_guard(budget: Budget, prices: dict[str, Price],
                     names: dict[Role, str] | None = None) -> Callable[[dict[str, TokenUsage]], str | None]:
    """Why an evaluation must stop now (its token or dollar budget is spent), or None; sees the evaluated models'
    usage by panel key and the judge's grading by its role (`names` says which model that is, for its price)."""
    def check(usage: dict[str, TokenUsage]) -> str | None:
        return budget.exceeded(usage, cost_of(usage, names or {}, prices))
    return check


def grader(usage: StageModels | None, cache: CallCache | None) -> StageModels | None:
    """The judge that grades open answers, on a meter of its own (booked into `usage` at the end), answering
    from the evaluation's kept calls first; None when `usage` has no judge (exact match only)."""
    if usage is None or "judge" not in usage.models:
        return None
    judge = StageModels(models={"judge": usage.models["judge"]}, names={"judge": usage.name("judge")})
    return judge.with_cache(cache) if cache is not None else judge


def unpriced(models: list[str], budget: Budget, prices: dict[str, Price]) -> None:
    """Refuse a dollar budget that cannot be enforced, before any model is called."""
    unknown = [name for name in models if price_for(name, prices) is None]
    if budget.max_cost is not None and unknown:
        raise InvalidRequest(
            f"A cost budget is set but the price of {', '.join(unknown)} is unknown: set BENCHMARK_AGENT_PRICES "
            "(e.g. 'openai:my-model=0.5/1.5', dollars per million input/output tokens) or use a token budget.")


async def evaluate_models(samples: list[Sample], models: dict[str, Model], *, build_id: str,
                          usage: StageModels | None = None, concurrency: int = 8,
                          expected_order: list[str] | None = None, reference: dict[str, float] | None = None,
                          previous: Leaderboard | None = None,
                          budget: Budget | None = None, prices: dict[str, Price] | None = None,
                          directory: Path | None = None) -> Leaderboard:
    """Every model answers every sample once; the leaderboard, best first.

    With a `budget` the evaluation stops when it is spent (`BudgetReached`, saying how far it got). With the
    benchmark's `directory`, every answer is kept in evaluations/calls.jsonl as it arrives, so an evaluation
    stopped by its budget (or interrupted) and run again asks only what it had not asked."""
    if not samples or not models:
        raise InvalidRequest("An evaluation needs a benchmark with samples and at least one model (--models).")
    _check_order(expected_order or list(reference or {}), list(models))  # before any model is called
    budget, prices = budget or Budget(), prices or {}
    cache = CallCache(directory / EVALUATIONS / CALLS) if directory is not None else None
    judge = grader(usage, cache)
    unpriced([*models, *(judge.names.values() if judge else [])], budget, prices)  # grading is paid from it too
    ungraded: list[tuple[str, str]] = []
    kept = " The answers and grades made are kept: raise the budget and evaluate again to finish." if cache is not None else ""
    try:
        accuracy = await panel_accuracy(samples, models, models=usage, concurrency=concurrency, cache=cache,
                                        guard=evaluation_guard(budget, prices, judge.names if judge else None),
                                        judge=judge, ungraded=ungraded)
    except BudgetReached as exc:
        raise BudgetReached(f"The evaluation stopped: {exc}.{kept}") from exc
    finally:
        if judge is not None and usage is not None:  # the grading calls are the evaluation's spend too
            usage.usage.setdefault("judge", TokenUsage()).add(_total(judge))
    left_out = {sid for sid, _ in ungraded}  # not graded for some model: out of every score, not counted wrong
    scored_samples = [s for s in samples if s.id not in left_out]
    if not scored_samples:
        raise BudgetReached(f"The evaluation stopped: the budget ran out while the judge graded, before any item "
                            f"was graded for every model.{kept}")
    by_model = {name: [sid for sid, who in ungraded if who == name] for name in models}
    board = _leaderboard(scored_samples, accuracy, list(models), build_id=build_id, previous=previous)
    return board.model_copy(update={
        "consistency": _consistency(expected_order, reference, {s.model: s.accuracy for s in board.scores}),
        "ungraded": {name: ids for name, ids in by_model.items() if ids}})


def _total(models: StageModels) -> TokenUsage:
    total = TokenUsage()
    for used in models.usage.values():
        total.add(used)
    return total


def _leaderboard(samples: list[Sample], accuracy: dict[str, dict[str, float]], names: list[str], *, build_id: str,
                 previous: Leaderboard | None) -> Leaderboard:
    panel = difficulty_report(samples, accuracy, names=names)
    before = {s.model: s.accuracy for s in previous.scores} if previous else {}
    scores = []
    for name in names:
        correct = sum(round(accuracy[s.id][name]) for s in samples)
        scores.append(ModelScore(model=name, correct=correct, items=len(samples), accuracy=correct / len(samples),
                                 interval=wilson_interval(correct, len(samples)),
                                 subtasks={sub.subtask_id: sub.accuracy[name] for sub in panel.subtasks},
                                 previous=before.get(name)))
    scores.sort(key=lambda s: -s.accuracy)
    return Leaderboard(
        build_id=build_id, created_at=datetime.now(UTC), items=len(samples), scores=scores,
        difficulty=panel.overall.difficulty, separability=panel.overall.separability,
        unsolved=[i.sample_id for i in panel.items if max(i.accuracy.values()) == 0],
        previous_at=previous.created_at if previous else None,
    )


def _consistency(expected: list[str] | None, reference: dict[str, float] | None,
                 accuracy: dict[str, float]) -> Consistency | None:
    if reference:
        return rank_agreement(sorted(reference, key=lambda name: -reference[name]), accuracy, reference)
    return rank_agreement(expected, accuracy) if expected else None


def latest(directory: Path) -> Leaderboard | None:
    path = directory / LEADERBOARD
    return Leaderboard.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None


def save(board: Leaderboard, directory: Path) -> Path:
    """Write the evaluation under evaluations/ (kept) and as leaderboard.json (the latest); returns the latter."""
    text = board.model_dump_json(indent=2) + "\n"
    write_atomic(directory / EVALUATIONS / f"{board.created_at:%Y%m%dT%H%M%S%fZ}.json", text)
    write_atomic(directory / LEADERBOARD, text)
    return directory / LEADERBOARD


def describe(board: Leaderboard) -> str:
    """The leaderboard as a markdown table, with the interval and the change since the previous evaluation."""
    lines = ["| model | accuracy | 95 % interval | change |", "|---|---|---|---|"]
    for s in board.scores:
        change = "" if s.previous is None else f"{s.accuracy - s.previous:+.0%}"
        lines.append(f"| {s.model} | {s.accuracy:.0%} ({s.correct}/{s.items}) | {s.interval[0]:.0%}-{s.interval[1]:.0%} "
                     f"| {change} |")
    lines.append(f"\nDifficulty {board.difficulty:.2f}, separability {board.separability:.2f}; "
                 f"{len(board.unsolved)} items no model solved.")
    if board.ungraded:
        items = len({sid for ids in board.ungraded.values() for sid in ids})
        lines.append(f"The budget ran out while the judge graded: {items} {'item is' if items == 1 else 'items are'} "
                     "left out of every score (not counted wrong), since these answers were not graded: "
                     + "; ".join(f"{model}: {', '.join(ids)}" for model, ids in board.ungraded.items())
                     + ". Evaluate again with a larger budget to grade them (the answers and grades made are kept).")
    if board.consistency is not None:
        c = board.consistency
        shown = "undefined" if c.spearman is None else f"Spearman {c.spearman:.2f}, Kendall {c.kendall:.2f}"
        against = ("their scores on the reference benchmark (" + ", ".join(f"{m} {c.reference[m]:g}" for m in c.expected)
                   if c.reference else "the expected order (" + ", ".join(c.expected))
        lines.append(f"Agreement with {against}; {c.models} models): {shown}.")
    return "\n".join(lines)
