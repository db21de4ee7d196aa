"""Evaluating models on the thread's finished benchmark, from words: "evaluate openai:gpt-4o-mini and openai:my-local".

The models are named as `provider:name` (as in the settings), or "the panel" for the difficulty panel's models.
The leaderboard is written to the build's folder (kept under evaluations/ with its date), so the card shows it
with a chart, and a later evaluation shows how each model moved.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.deps import AssistantDeps
from assistant.model_registry import resolve_model
from tools.engine.budget import Budget, parse_prices
from tools.export.rows import samples_from_rows
from tools.finish.evaluate import describe, evaluate_models, latest, save

# provider:name, where a name may itself hold colons, dots, slashes and dashes (llama3.1:8b, org/model)
_MODEL = re.compile(r"\b[a-z][a-z0-9_-]*:[A-Za-z0-9][\w./:-]*[\w]", re.IGNORECASE)
_PANEL = re.compile(r"\b(the )?panel\b", re.IGNORECASE)
# "openai:a=71.2": a model's score on a reference benchmark, for the rank-correlation check
_SCORE = re.compile(r"\b([a-z][a-z0-9_-]*:[A-Za-z0-9][\w./:-]*\w)\s*=\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_ORDER = re.compile(r"\b(expected order|strongest first|in this order|ranked)\b", re.IGNORECASE)


def models_in(message: str, panel: list[str]) -> list[str]:
    """The models a message names, in its order; "the panel" adds the difficulty panel's models."""
    named = list(dict.fromkeys(m.group().rstrip(".,;") for m in _MODEL.finditer(message)))
    return list(dict.fromkeys([*named, *(panel if _PANEL.search(message) else [])]))


async def evaluate_step(deps: AssistantDeps, message: str) -> str:
    state = deps.state
    if state.build is None or state.phase != "built":
        return "There is no finished benchmark to evaluate yet: build one first."
    directory = Path(state.build.directory)
    rows = directory / "benchmark.jsonl"
    if not rows.is_file():
        return "This build wrote no benchmark (nothing was accepted), so there is nothing to evaluate."
    names = models_in(message, deps.settings.panel())
    if not names:
        return ("Which models? Name each as provider:name, e.g. 'evaluate openai:gpt-4o-mini and openai:llama3.1:8b' "
                "(models on your OpenAI-compatible server are openai:NAME), or say 'the panel' for "
                "BENCHMARK_AGENT_PANEL_MODELS.")
    cache: dict = {}
    models = {name: resolve_model(name, deps.settings, cache) for name in names}
    samples = samples_from_rows(rows.read_text(encoding="utf-8"), source=str(rows))
    board = await evaluate_models(samples, models, build_id=state.build.build_id, usage=deps.models,
                                  concurrency=deps.settings.concurrency,
                                  expected_order=names if _ORDER.search(message) else None,
                                  reference={m.group(1): float(m.group(2)) for m in _SCORE.finditer(message)} or None,
                                  previous=latest(directory), directory=directory,
                                  budget=Budget(max_tokens=deps.settings.max_tokens, max_cost=deps.settings.max_cost),
                                  prices=parse_prices(deps.settings.prices))
    save(board, directory)
    return f"Evaluated {len(names)} models on {len(samples)} items:\n\n{describe(board)}"
