"""What the quality checks really catch of planted defects, per kind, and how many sound items they wrongly reject.

    python bench/qc_catch.py [--model openai:NAME] [--panel M1,M2,...] [--band 0.2-0.4] [--concurrency N] [--limit N]

The planted set (`bench/qc_planted.py`) is written from a description of each defect kind, not from the
checks' patterns. Three figures come out, each said apart:

1. deterministic: what the checks without a model catch (schema, leakage, executed answers, duplicates
   with the shipped embedder, the position balancer). Real figures, whatever the model.
2. gate: the whole quality gate as a build runs it (then the difficulty panel for saturated items). Without
   `--model` its model-run checks are a scripted oracle (`bench/qc_oracle.py`) that knows the answers: a
   plumbing check only. With `--model openai:NAME` they are that model, on any OpenAI-compatible endpoint
   (OPENAI_BASE_URL, OPENAI_API_KEY; the app's settings and output-mode probe).
3. audit: the planted items written to a JSONL with no labels, read by `benchmark-agent check`'s own
   function (tools/qc/audit.py) as a file it has never seen; found/planted per kind.

`--limit N` keeps the first N items of each kind (and the items a kept duplicate repeats): for a slow model.
The leakage rules were tuned on a calibration set of their own (`bench/qc_calibration.py`); its figures are
given beside the planted set's, which is the test half.

Exit code 1 when a deterministic check or the audit rejects a sound item; catch rates are reported, not
required. The last line is one JSON object: {"deterministic": {KIND: [caught, planted]}, "gate": {"label": ...,
"catch": {KIND: [caught, planted]}}, "audit": {KIND: [found, planted]}, "false_rejection": {...}, "items": N}.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic_ai.models import Model  # noqa: E402

from bench.qc_calibration import HELDOUT, HELDOUT_SECOND, calibration_items, leakage_figures, read_items  # noqa: E402
from bench.qc_calibration import KINDS as LEAK_KINDS  # noqa: E402
from bench.qc_oracle import Oracle  # noqa: E402
from bench.qc_planted import ARITH, DEFECTS, DETERMINISTIC_KINDS, SUBTASKS, Planted, _arith, _options, planted_items  # noqa: E402
from memory.dedup import SHIPPED_THRESHOLD, DedupItem, Deduplicator  # noqa: E402
from memory.minilm_onnx import OnnxMiniLMEmbedder  # noqa: E402
from tools.contracts import BenchmarkSpec, CheckRecord, GateResult, Sample, SampleDraft, SubtaskPlan  # noqa: E402
from tools.finish.panel import difficulty_report, panel_accuracy  # noqa: E402
from tools.finish.positions import balance_positions, positions_balanced  # noqa: E402
from tools.llm.stage import StageModels  # noqa: E402
from tools.qc.audit import audit_file  # noqa: E402
from tools.qc.gate import QCOptions, quality_gate  # noqa: E402
from tools.qc.schema import CheckFailed, make_provenance, to_sample  # noqa: E402

SPEC = BenchmarkSpec(goal="Check the quality gate on planted defects", capability="arithmetic, facts and small functions",
                     domain="mixed", answer_format="multiple_choice", size=100)
PLAN = SubtaskPlan(subtasks=list(SUBTASKS))
PROVENANCE = make_provenance("qc-bench", "bench", "bench", 1, datetime(2026, 1, 1, tzinfo=UTC))
PLUMBING = "plumbing check only (oracle knows the answers)"
# Without a model: what runs without one. Numeric items without a program are kept (the build's default drops
# them, which would count a missing program as a catch).
DETERMINISTIC = QCOptions(inspect=False, repair=False, resolve=False, require_solution_code=False)
FULL_GATE = QCOptions(require_solution_code=False)
Flags = dict[int, list[str]]


def subset(items: list[Planted], limit: int | None) -> list[Planted]:
    """At most `limit` items of each kind, plus the items a kept duplicate repeats, with `repeats` renumbered."""
    if limit is None:
        return items
    keep: set[int] = set()
    counts: Counter[str] = Counter()
    for n, item in enumerate(items):
        if counts[item.kind] < limit:
            counts[item.kind] += 1
            keep |= {n} | ({item.repeats} if item.repeats is not None else set())
    order = sorted(keep)
    renumber = {old: new for new, old in enumerate(order)}
    return [dataclasses.replace(items[n], repeats=None if (was := items[n].repeats) is None else renumber[was])
            for n in order]


def flag(record: CheckRecord) -> str:
    return f"{record.check}:{record.issues[0]}" if record.issues else record.check


def schema_checked(items: list[Planted]) -> tuple[dict[int, Sample], Flags]:
    samples: dict[int, Sample] = {}
    flags: Flags = {n: [] for n in range(len(items))}
    for n, item in enumerate(items):
        try:
            samples[n] = to_sample(item.draft, item.subtask, PROVENANCE)
        except CheckFailed:
            flags[n].append("schema")
    return samples, flags


async def gate_all(items: list[Planted], samples: dict[int, Sample], models: StageModels, options: QCOptions,
                   concurrency: int) -> dict[int, GateResult]:
    limit = asyncio.Semaphore(concurrency)

    async def one(n: int) -> tuple[int, GateResult]:
        async with limit:
            return n, await quality_gate(samples[n], SPEC, items[n].subtask, models=models, options=options)

    return dict(await asyncio.gather(*(one(n) for n in samples)))


async def duplicates(samples: dict[int, Sample]) -> dict[int, int]:
    """Which item each later item duplicates, by the build's own de-duplication (shipped embedder, no tie-break)."""
    order = sorted(samples)
    dedup = Deduplicator(OnnxMiniLMEmbedder(), threshold=SHIPPED_THRESHOLD)
    items = [DedupItem(id=f"{n}", question=s.question, answer=s.answer, context=s.context,
                       choices=tuple(s.choices) if s.choices else None) for n in order if (s := samples[n])]
    return {int(d.b): int(d.a) for d in await dedup.within(items)}


def per_kind(items: list[Planted], flags: Flags, kinds: tuple[str, ...]) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    for kind in kinds:
        members = [n for n, item in enumerate(items) if item.kind == kind]
        by = Counter(f for n in members for f in dict.fromkeys(flags.get(n, [])))
        table[kind] = {"caught": sum(bool(flags.get(n)) for n in members), "planted": len(members), "by": dict(by)}
    return table


def duplicate_flags(items: list[Planted], repeats: dict[int, int], flags: Flags) -> None:
    for later, earlier in repeats.items():
        meant = items[later].repeats == earlier
        flags[later].append("duplicate" if meant else f"duplicate:also repeats item {earlier} ({items[earlier].kind})")


async def deterministic(items: list[Planted], samples: dict[int, Sample], flags: Flags, repeats: dict[int, int],
                        concurrency: int) -> Flags:
    nobody = StageModels(models={}, names={})
    results = await gate_all(items, samples, nobody, DETERMINISTIC, concurrency)
    out = {n: list(f) for n, f in flags.items()}
    for n, result in results.items():
        out[n] += [flag(r) for r in result.records if r.outcome != "passed"]
    duplicate_flags(items, repeats, out)
    return out


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


async def gate_with_models(items: list[Planted], samples: dict[int, Sample], flags: Flags, repeats: dict[int, int],
                           models: StageModels, panel: dict[str, Model],
                           args: argparse.Namespace) -> tuple[Flags, dict[str, object]]:
    """The gate as a build runs it, then its de-duplication (the shipped embedder; the oracle is no tie-break)."""
    results = await gate_all(items, samples, models, FULL_GATE, args.concurrency)
    out = {n: list(f) for n, f in flags.items()}
    for n, result in results.items():
        out[n] += [flag(r) for r in result.records if r.outcome != "passed"]
    duplicate_flags(items, repeats, out)
    accepted = {n: r.sample for n, r in results.items() if r.sample is not None and r.dropped is None}
    ordered = sorted(accepted)
    accuracy = await panel_accuracy([accepted[n] for n in ordered], panel, models=models, concurrency=args.concurrency)
    report = difficulty_report([accepted[n] for n in ordered], accuracy, names=list(panel), band=args.band)
    saturated = {i.sample_id for i in report.items if min(i.accuracy.values()) >= 1.0}
    for n in ordered:
        if accepted[n].id in saturated:
            out[n].append("panel:saturated")
    return out, {"panel_accuracy": round(report.accuracy, 3), "panel": list(panel)}


def planted_jsonl(items: list[Planted], path: Path) -> Path:
    """The planted items as a plain benchmark file: no kinds, no ids, the field names an outside author might use."""
    rows = []
    for item in items:
        draft = item.draft
        row: dict[str, object] = {"question": draft.question}
        if draft.tests:
            row.update(solution=draft.solution_code or "", tests=draft.tests)
        else:
            row.update({"options": draft.choices} if draft.choices else {})
            row["answer"] = draft.answer
            if draft.solution_code:
                row["solution"] = draft.solution_code
        rows.append(row)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


async def audited(items: list[Planted], models: StageModels | None) -> tuple[Flags, list[str]]:
    with tempfile.TemporaryDirectory(prefix="qc-bench-") as folder:
        path = planted_jsonl(items, Path(folder) / "planted.jsonl")
        report = await audit_file(path, models=models, store=None, embedder=OnnxMiniLMEmbedder())
    flags: Flags = {n: [] for n in range(len(items))}
    for item in report.items:
        flags[item.row - 1] = [f.check for f in item.failed]
    for problem in report.unmapped:
        flags[problem.row - 1] = ["unreadable"]
    return flags, [f"{k}: {report.mapping.how.get(k, '')}" for k in report.mapping.how]


MODEL_CHECKS = ("inspector", "solver", "panel", "judge", "closed_book")


def model_only(flags: Flags) -> Flags:
    """The flags raised by a model-run check alone (what the model itself found, whatever the other checks did)."""
    return {n: [f for f in found if f.partition(":")[0] in MODEL_CHECKS] for n, found in flags.items()}


def model_figures(items: list[Planted], gate: Flags, audit: Flags, kinds: tuple[str, ...]) -> dict[str, object]:
    clean = max(1, sum(item.kind == "clean" for item in items))
    out: dict[str, object] = {}
    for name, flags in (("gate", model_only(gate)), ("audit", model_only(audit))):
        out[name] = {k: [v["caught"], v["planted"]] for k, v in per_kind(items, flags, kinds).items()}
        out[f"{name}_sound_rejected"] = round(len(false_rejections(items, flags)) / clean, 3)
    return out


def false_rejections(items: list[Planted], flags: Flags) -> list[str]:
    return [f"{items[n].draft.question[:60]} ({', '.join(f)})" for n, f in flags.items()
            if items[n].kind == "clean" and f]


async def run(args: argparse.Namespace) -> tuple[dict[str, object], dict[str, object]]:
    items = subset(planted_items(), args.limit)
    oracle = Oracle(items)
    models, panel, label = _models(args, oracle)
    samples, schema_flags = schema_checked(items)
    repeats = await duplicates(samples)
    det = await deterministic(items, samples, schema_flags, repeats, args.concurrency)
    det_table = per_kind(items, det, DETERMINISTIC_KINDS[:-1])
    det_table["position_imbalance"] = {"caught": int(position_check()), "planted": 1, "by": {"positions": int(position_check())}}
    gate, panel_info = await gate_with_models(items, samples, schema_flags, repeats, models, panel, args)
    gate_kinds = tuple(k for k in DEFECTS if k != "position_imbalance")
    audit_flags, mapping = await audited(items, models if args.model else None)
    gate_label = PLUMBING if not args.model else f"measured with {label}"
    details = {
        "defects": DEFECTS, "deterministic": det_table,
        "gate": {"label": gate_label, "model": label, "catch": per_kind(items, gate, gate_kinds), **panel_info},
        "audit": {"mapping": mapping, "found": per_kind(items, audit_flags, gate_kinds),
                  "model_checks": label if args.model else "none"},
        "false_rejections": {"deterministic": false_rejections(items, det), "gate": false_rejections(items, gate),
                             "audit": false_rejections(items, audit_flags)},
    }
    clean = sum(item.kind == "clean" for item in items)
    summary = {
        "deterministic": {k: [v["caught"], v["planted"]] for k, v in det_table.items()},
        "gate": {"label": gate_label, "catch": {k: [v["caught"], v["planted"]] for k, v in per_kind(items, gate, gate_kinds).items()}},
        "audit": {k: [v["caught"], v["planted"]] for k, v in per_kind(items, audit_flags, gate_kinds).items()},
        "false_rejection": {name: round(len(rejected) / clean, 3) for name, rejected in details["false_rejections"].items()},  # type: ignore[attr-defined]
        "model_checks": model_figures(items, gate, audit_flags, gate_kinds),
        "leakage": leakage_halves(items),
        "items": len(items) + len(position_slice()),
    }
    return details, summary


def leakage_halves(items: list[Planted]) -> dict[str, object]:
    """The format and leakage checks alone on their calibration set (tuned on), on the planted set and on the
    held-out set (neither tuned on)."""
    test = [(item.kind, item.draft, item.subtask) for item in items if item.kind in ("clean", *LEAK_KINDS)]
    return {"calibration": leakage_figures(calibration_items()), "test": leakage_figures(test),
            "heldout": leakage_figures(read_items(HELDOUT)), "heldout_second": leakage_figures(read_items(HELDOUT_SECOND))}


def table(summary: dict[str, object]) -> str:
    """The figures as a plain table, each column said apart."""
    det, audit = summary["deterministic"], summary["audit"]
    gate = summary["gate"]
    assert isinstance(det, dict) and isinstance(audit, dict) and isinstance(gate, dict)
    lines = [f"{'kind':<24} {'deterministic':>13} {'audit (check)':>13}  gate ({gate['label']})"]
    for kind in DEFECTS:
        cells = [f"{c[0]}/{c[1]}" if c else "-" for c in (det.get(kind), audit.get(kind), gate["catch"].get(kind))]
        lines.append(f"{kind:<24} {cells[0]:>13} {cells[1]:>13}  {cells[2]}")
    rejected = summary["false_rejection"]
    assert isinstance(rejected, dict)
    lines.append(f"{'sound items rejected':<24} {rejected['deterministic']:>13.0%} {rejected['audit']:>13.0%}  "
                 f"{rejected['gate']:.0%} (a catch means little where this is high)")
    leakage = summary["leakage"]
    assert isinstance(leakage, dict)
    for name, half in leakage.items():
        caught = ", ".join(f"{k} {c}/{p}" for k, (c, p) in half["leakage"].items())
        rejected, sound = half["false_rejection"]
        lines.append(f"format and leakage checks alone, {name} set: {caught}; sound items rejected {rejected}/{sound}")
    return "\n".join(lines)


def _band(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="provider:name for the model-run checks, e.g. openai:NAME with OPENAI_BASE_URL "
                                        "(default: a scripted oracle, a plumbing check only)")
    parser.add_argument("--panel", help="comma-separated provider:name list for the difficulty panel (default: --model)")
    parser.add_argument("--band", type=_band, default=(0.2, 0.4), help="target panel accuracy band, e.g. 0.2-0.4")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--limit", type=int, help="at most N items of each kind (for a slow model)")
    args = parser.parse_args(argv)
    details, summary = asyncio.run(run(args))
    print(table(summary), file=sys.stderr)
    print(json.dumps(details, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))
    rejected = summary["false_rejection"]
    assert isinstance(rejected, dict)
    return 0 if rejected["deterministic"] == 0 and rejected["audit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
