"""How many planted defects each quality check catches, and how many sound items it wrongly rejects.

    python bench/qc_catch.py [--model PROVIDER:NAME] [--panel M1,M2,...] [--band 0.2-0.4] [--concurrency N]

Every item of the planted set (`bench/qc_planted.py`) goes through the format checks and the quality
gate (leakage, executed answers, inspector/repair/fixer, independent re-solve with adjudication);
the accepted ones then go to the difficulty panel, and a slice of multiple-choice items with every
answer at A goes to the position balancer. A defect counts as caught when the check meant for it
flags it for the right reason. Without `--model` the LLM checks run on a scripted oracle
(`bench/qc_oracle.py`), so their rates measure the wiring; with `--model` (settings as for the app:
OPENAI_BASE_URL, OPENAI_API_KEY) they measure that model. The deterministic checks must catch every
planted defect with no false rejection whatever the model: the exit code is 1 otherwise.

The last line is one JSON object: {"catch": {KIND: RATE}, "deterministic_kinds": [...], "false_rejection": RATE, "items": N}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic_ai.models import Model  # noqa: E402

from bench.qc_oracle import Oracle  # noqa: E402
from bench.qc_planted import ARITH, DETERMINISTIC_KINDS, LLM_KINDS, SUBTASKS, Planted, _arith, _options, planted_items  # noqa: E402
from tools.contracts import BenchmarkSpec, GateResult, Sample, SampleDraft, SubtaskPlan  # noqa: E402
from tools.finish.panel import calibrate_difficulty, difficulty_report, panel_accuracy  # noqa: E402
from tools.finish.positions import balance_positions, positions_balanced  # noqa: E402
from tools.finish.quality import quality_report  # noqa: E402
from tools.llm.stage import StageModels  # noqa: E402
from tools.qc.gate import quality_gate  # noqa: E402
from tools.qc.schema import CheckFailed, make_provenance, to_sample  # noqa: E402

SPEC = BenchmarkSpec(goal="Check the quality gate on planted defects", capability="arithmetic, facts and small functions",
                     domain="mixed", answer_format="multiple_choice", size=100)
PLAN = SubtaskPlan(subtasks=list(SUBTASKS))
PROVENANCE = make_provenance("qc-bench", "bench", "bench", 1, datetime(2026, 1, 1, tzinfo=UTC))
DETERMINISTIC_CHECKS = ("schema", "leakage", "executed")


@dataclass
class Outcome:
    item: Planted
    schema: str | None = None
    result: GateResult | None = None

    def flagged(self, check: str, reason: str = "", issue: str = "") -> bool:
        records = self.result.records if self.result else []
        return any(r.check == check and r.outcome != "passed" and reason in " ".join(r.reasons)
                   and (not issue or issue in r.issues) for r in records)

    def dropped_by(self) -> str | None:
        if self.schema is not None:
            return "schema"
        drop = self.result.dropped if self.result else None
        return drop.check if drop else None


def caught(outcome: Outcome, saturated: set[str]) -> bool:
    kind = outcome.item.kind
    if kind == "schema":
        return outcome.schema is not None
    if kind == "saturated":
        return outcome.result is not None and outcome.result.sample is not None and outcome.result.sample.id in saturated
    if kind == "wrong_answer":
        return outcome.flagged("inspector", issue="wrong_answer") or outcome.flagged("solver", issue="wrong_answer")
    if kind == "missing_context":
        return outcome.flagged("inspector", issue="missing_context") or outcome.flagged("inspector", issue="unanswerable")
    check, reason, issue = {
        "leakage": ("leakage", "", "answer_leaked"), "numeric_off_by_one": ("executed", "not the gold answer", ""),
        "code_fails_tests": ("executed", "fails its tests", ""), "weak_tests": ("executed", "trivially wrong", ""),
        "several_correct": ("inspector", "", "several_correct"),
    }[kind]
    return outcome.flagged(check, reason, issue)


async def check_item(item: Planted, models: StageModels, limit: asyncio.Semaphore) -> Outcome:
    try:
        sample = to_sample(item.draft, item.subtask, PROVENANCE)
    except CheckFailed as exc:
        return Outcome(item, schema=str(exc))
    async with limit:
        return Outcome(item, result=await quality_gate(sample, SPEC, item.subtask, models=models))


def position_slice(count: int = 40) -> list[Sample]:
    """Multiple-choice items whose correct option is always first: a generator that never shuffles."""
    rng, samples = random.Random(11), list[Sample]()
    while len(samples) < count:
        question, value, _ = _arith(rng)
        sample = to_sample(SampleDraft(question=question, choices=_options(rng, value), answer=str(value)), ARITH, PROVENANCE)
        if sample.id in {s.id for s in samples}:
            continue
        choices = [sample.answer, *(c for c in sample.choices or [] if c != sample.answer)]
        samples.append(sample.model_copy(update={"choices": choices, "answer_index": 0}))
    return samples


def position_check() -> bool:
    skewed = position_slice()
    fixed = balance_positions(skewed)
    intact = all(f.choices is not None and f.answer_index is not None and f.choices[f.answer_index] == s.answer
                 for s, f in zip(skewed, fixed, strict=True))
    return positions_balanced(skewed) is False and positions_balanced(fixed) is True and intact


def _models(args: argparse.Namespace, oracle: Oracle) -> tuple[StageModels, dict[str, Model], str]:
    if not args.model:
        model = oracle.model()
        models = StageModels(models={"generator": model, "judge": model, "solver": model},
                             names={"generator": "scripted:oracle", "judge": "scripted:oracle", "solver": "scripted:oracle"})
        return models, {f"oracle-skill-{k}": oracle.model(skill=k) for k in range(3)}, "scripted:oracle"
    from assistant.model_registry import resolve_model  # a real model: the app's own settings and providers
    from assistant.settings import Settings

    settings, cache = Settings(), dict[str, Model]()
    real = resolve_model(args.model, settings, cache)
    names = [n.strip() for n in (args.panel or args.model).split(",") if n.strip()]
    models = StageModels(models={"generator": real, "judge": real, "solver": real},
                         names={"generator": args.model, "judge": args.model, "solver": args.model})
    return models, {n: resolve_model(n, settings, cache) for n in names}, args.model


async def run(args: argparse.Namespace) -> tuple[dict[str, object], dict[str, object]]:
    items = planted_items()
    oracle = Oracle(items)
    models, panel, label = _models(args, oracle)
    limit = asyncio.Semaphore(args.concurrency)
    outcomes = await asyncio.gather(*(check_item(item, models, limit) for item in items))
    accepted = [o.result.sample for o in outcomes if o.result is not None and o.result.sample is not None]
    accuracy = await panel_accuracy(accepted, panel, models=models, concurrency=args.concurrency)
    report = difficulty_report(accepted, accuracy, names=list(panel), band=args.band)
    saturated = {i.sample_id for i in report.items if min(i.accuracy.values()) >= 1.0}

    kinds = [k for k in (*DETERMINISTIC_KINDS, *LLM_KINDS) if k != "position_imbalance"]
    per_kind = {k: [sum(caught(o, saturated) for o in outcomes if o.item.kind == k),
                    sum(o.item.kind == k for o in outcomes)] for k in kinds}
    catch: dict[str, float] = {k: round(hit / total, 3) for k, (hit, total) in per_kind.items()}
    catch["position_imbalance"] = 1.0 if position_check() else 0.0
    sound = [o for o in outcomes if o.item.kind in ("clean", "saturated")]
    rejected = [o for o in sound if o.dropped_by() is not None]
    deterministic_rejected = [o for o in rejected if o.dropped_by() in DETERMINISTIC_CHECKS]

    records = [r for o in outcomes if o.result for r in o.result.records]
    calibrated, panel_report = await calibrate_difficulty(accepted, SPEC, PLAN, panel=panel, models=models,
                                                          band=args.band, concurrency=args.concurrency)
    quality = await quality_report(calibrated, SPEC, PLAN, models=models, build_id="qc-bench", records=records,
                                   panel=panel_report, sample_size=10, concurrency=args.concurrency)
    details = {
        "model": label, "panel": list(panel), "caught_of_planted": per_kind,
        "false_rejections": [f"{o.item.kind}:{o.dropped_by()}:{o.item.draft.question[:50]}" for o in rejected],
        "deterministic_false_rejections": len(deterministic_rejected),
        "panel_accuracy": {"before": round(report.accuracy, 3), "after": round(panel_report.accuracy, 3),
                           "hardened": panel_report.hardened, "in_band": panel_report.in_band},
        "agreement_rate": quality.agreement_rate, "executed_pass_rate": quality.executed_pass_rate,
        "quality_dimensions": quality.dimensions,
    }
    summary = {"catch": catch, "deterministic_kinds": list(DETERMINISTIC_KINDS),
               "false_rejection": round(len(rejected) / len(sound), 3) if sound else 0.0,
               "items": len(items) + len(position_slice())}
    return details, summary


def _band(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="provider:name for the LLM checks (default: a scripted oracle)")
    parser.add_argument("--panel", help="comma-separated provider:name list for the difficulty panel (default: --model)")
    parser.add_argument("--band", type=_band, default=(0.2, 0.4), help="target panel accuracy band, e.g. 0.2-0.4")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    details, summary = asyncio.run(run(args))
    print(json.dumps(details))
    print(json.dumps(summary))
    catch = summary["catch"]
    assert isinstance(catch, dict)
    perfect = all(catch[k] == 1.0 for k in DETERMINISTIC_KINDS) and details["deterministic_false_rejections"] == 0
    return 0 if perfect else 1


if __name__ == "__main__":
    sys.exit(main())
