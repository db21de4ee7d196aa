"""What a build will cost before it starts, what it costs while it runs, and when to stop."""

from __future__ import annotations

import functools
import math
from collections.abc import Collection
from dataclasses import dataclass

from tools.contracts import BenchmarkSpec, CostEstimate, Role, SubtaskPlan, TokenUsage
from tools.errors import ConfigurationError
from tools.qc.independence import shared_models
from tools.stages.ground import chunk_kind

# Rough sizes of one call, in tokens, measured on the prompts in tools/generate.py and tools/verify.py.
GENERATE_INPUT, GENERATE_OUTPUT_PER_SAMPLE = 700, 130
JUDGE_INPUT, JUDGE_OUTPUT = 380, 40
BRIEF_INPUT, BRIEF_OUTPUT_PER_SAMPLE = 500, 80
SOLVE_INPUT, SOLVE_OUTPUT = 300, 30
EXPECTED_ACCEPTANCE = 0.8


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float

    def cost(self, usage: TokenUsage) -> float:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / 1e6


def parse_prices(text: str | None) -> dict[str, Price]:
    """`openai:gpt-4o-mini=0.15/0.60,openai:my-model=1/2`: input/output dollars per million tokens."""
    prices: dict[str, Price] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        try:
            name, pair = item.rsplit("=", 1)
            given, taken = pair.split("/")
            prices[name.strip()] = Price(float(given), float(taken))
        except ValueError as exc:
            raise ConfigurationError(
                f"Cannot read price {item!r}: write MODEL=INPUT/OUTPUT in dollars per million tokens, "
                "e.g. openai:gpt-4o-mini=0.15/0.60") from exc
    return prices


def price_for(model: str, configured: dict[str, Price]) -> Price | None:
    """A configured price, else the published one when the model is a known hosted model, else None."""
    if model in configured:
        return configured[model]
    return _published_price(model)


@functools.lru_cache(maxsize=256)
def _published_price(model: str) -> Price | None:
    # Looked up once per model: genai_prices scans its whole table on every call, and the build asks before each
    # request (the budget guard) and with each progress event.
    provider, _, name = model.partition(":")
    if not name or provider in ("embedded", "test", "function"):
        return Price(0.0, 0.0) if provider == "embedded" else None
    try:
        from genai_prices import Usage, calc_price

        million = Usage(input_tokens=1_000_000, output_tokens=0)
        given = float(calc_price(million, name, provider_id=provider).total_price)
        taken = float(calc_price(Usage(input_tokens=0, output_tokens=1_000_000), name, provider_id=provider).total_price)
    except (LookupError, ValueError, ImportError):
        return None
    return Price(given, taken)


PANEL = "panel:"  # a difficulty-panel model's usage is booked under "panel:<its model name>"


def panel_key(model: str) -> str:
    """The usage key a panel model's tokens are booked under; `cost_of` prices it as that model."""
    return PANEL + model


def model_behind(key: str, names: dict[Role, str]) -> str:
    """The model name whose price applies to the usage booked under `key` (a role, or a panel key)."""
    return key[len(PANEL):] if key.startswith(PANEL) else names.get(key, "")  # type: ignore[call-overload]


def cost_of(usage: dict[str, TokenUsage], names: dict[Role, str], prices: dict[str, Price]) -> float | None:
    """Dollars spent so far, or None when some role's (or panel model's) price is unknown."""
    total = 0.0
    for key, spent in usage.items():
        price = price_for(model_behind(key, names), prices)
        if price is None:
            return None
        total += price.cost(spent)
    return total


def _usage(requests: int, input_each: int, output_total: int) -> TokenUsage:
    return TokenUsage(requests=requests, input_tokens=requests * input_each, output_tokens=output_total)


def estimate_build(spec: BenchmarkSpec, plan: SubtaskPlan, *, batch_size: int, names: dict[Role, str],
                   prices: dict[str, Price], briefs: bool = False, gate: bool = False, resolve: bool = False,
                   quality_items: int = 0, panel: Collection[str] = ()) -> CostEstimate:
    """Calls, tokens and (when prices are known) dollars for a build, assuming most samples pass.

    `gate`: the quality gate's inspector call per candidate (instead of one judge call); `resolve`: its
    independent solver call; `briefs`: a design-brief call per batch; `quality_items`: judge calls scoring
    the finished benchmark; `panel`: the difficulty panel's models (named when one writes the items)."""
    del spec  # the plan carries what matters; kept in the signature so estimates can grow finer
    drafts = math.ceil(plan.total / EXPECTED_ACCEPTANCE)
    batches = sum(math.ceil(math.ceil(s.quota / EXPECTED_ACCEPTANCE) / batch_size) for s in plan.subtasks)
    generator = _usage(batches, GENERATE_INPUT, drafts * GENERATE_OUTPUT_PER_SAMPLE)
    if briefs:
        generator.add(_usage(batches, BRIEF_INPUT, drafts * BRIEF_OUTPUT_PER_SAMPLE))
    judge = _usage(drafts, JUDGE_INPUT, drafts * JUDGE_OUTPUT)  # one judge verdict, or the gate's inspector
    judge.add(_usage(quality_items, JUDGE_INPUT, quality_items * JUDGE_OUTPUT))
    per_role = {"generator": generator, "judge": judge}
    if gate and resolve:
        per_role["solver"] = _usage(drafts, SOLVE_INPUT, drafts * SOLVE_OUTPUT)
    return CostEstimate(
        calls=sum(u.requests for u in per_role.values()),
        input_tokens=sum(u.input_tokens for u in per_role.values()),
        output_tokens=sum(u.output_tokens for u in per_role.values()),
        cost=cost_of(per_role, names, prices), per_role=per_role, assumed_acceptance=EXPECTED_ACCEPTANCE,
        shared_models=shared_models(names, reviewers=("judge", "solver") if gate and resolve else ("judge",),
                                    images=any(chunk_kind(u) == "image" for s in plan.subtasks
                                               for u in (s.material.units if s.material else [])), panel=panel),
    )


@dataclass(frozen=True)
class Budget:
    max_tokens: int | None = None
    max_cost: float | None = None

    def exceeded(self, usage: dict[str, TokenUsage], cost: float | None) -> str | None:
        """Why the build must stop now, or None."""
        tokens = sum(u.input_tokens + u.output_tokens for u in usage.values())
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return f"token budget reached ({tokens:,} of {self.max_tokens:,})"
        if self.max_cost is not None and cost is not None and cost >= self.max_cost:
            return f"cost budget reached (${cost:.4f} of ${self.max_cost:.2f})"
        return None
