from __future__ import annotations

import pytest

from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan, TokenUsage
from tools.engine.budget import Budget, Price, estimate_build, parse_prices, price_for
from tools.errors import ConfigurationError

SPEC = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=40)
PLAN = SubtaskPlan(subtasks=[Subtask(id="a", name="A", description="d", answer_format="numeric", quota=40)])
NAMES = {"chat": "openai:m", "generator": "openai:m", "judge": "openai:m", "solver": "openai:m"}


def test_the_estimate_counts_every_call_the_configured_checks_make() -> None:
    prices = {"openai:m": Price(1.0, 2.0)}
    plain = estimate_build(SPEC, PLAN, batch_size=4, names=NAMES, prices=prices)  # type: ignore[arg-type]
    full = estimate_build(SPEC, PLAN, batch_size=4, names=NAMES, prices=prices, briefs=True, gate=True,  # type: ignore[arg-type]
                          resolve=True, quality_items=20)
    assert plain.calls == 13 + 50  # ceil(50 drafts / 4) generator calls, one verdict per draft
    assert full.calls == plain.calls + 13 + 50 + 20  # briefs, solver, quality scoring
    assert full.cost is not None and plain.cost is not None and full.cost > plain.cost


def test_prices_are_read_or_refused_with_the_expected_form() -> None:
    assert parse_prices("openai:a=0.15/0.6, openai:b=1/2") == {"openai:a": Price(0.15, 0.6), "openai:b": Price(1, 2)}
    with pytest.raises(ConfigurationError, match="MODEL=INPUT/OUTPUT"):
        parse_prices("openai:a=cheap")
    assert price_for("embedded:smollm2-135m", {}) == Price(0.0, 0.0)
    assert price_for("openai:no-such-model", {}) is None


def test_a_budget_names_what_was_reached() -> None:
    spent = {"generator": TokenUsage(requests=3, input_tokens=900, output_tokens=200)}
    assert Budget(max_tokens=1000).exceeded(spent, None) == "token budget reached (1,100 of 1,000)"
    assert Budget(max_cost=0.5).exceeded(spent, 0.6) == "cost budget reached ($0.6000 of $0.50)"
    assert Budget(max_tokens=5000, max_cost=1.0).exceeded(spent, 0.1) is None
