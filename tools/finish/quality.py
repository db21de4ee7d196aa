"""The quality report: six-dimension judge scores on a sample of items, plus every check's counts and rates.

The judge (by default the judge role, which should be a different model from the generator) scores
a stable, subtask-stratified sample of items 0-100 on the six dimensions the Benchmark Agent paper
reports. The report adds the counts and drop reasons per check (from the gate's records and the
build report), the solver agreement rate, the executed-answer pass rate, the answer-position
distribution and, when a panel ran, difficulty and separability. It is written as quality.json.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from statistics import fmean
from typing import get_args

from pydantic_ai import Agent, ToolOutput

from tools.contracts import (
    DIMENSION_LABELS,
    QUALITY_DIMENSIONS,
    BenchmarkSpec,
    BuildReport,
    CheckName,
    CheckRecord,
    CheckSummary,
    ItemQuality,
    PanelReport,
    QualityReport,
    QualityScores,
    Role,
    Sample,
    SubtaskPlan,
)
from tools.errors import StageFailed
from tools.finish.early import EarlyScores, pick_key
from tools.finish.positions import position_distribution, positions_balanced
from tools.llm.stage import StageModels, run_stage
from tools.qc.inspection import sample_lines

_GATE_CHECKS = frozenset({"leakage", "evidence", "executed", "constraints", "inspector", "solver", "closed_book", "panel"})

_SCORE = """\
You grade one benchmark item, 0 (worst) to 100 (best), on six dimensions: user intention alignment,
format and schema quality, question-answer coherence, context-question correspondence, target signal
dependency and skill-specific challenge. Solve the item yourself before grading coherence. Be calibrated:
above 90 only for an item with no flaw at all; skill-specific challenge is high only when strong models
would find the item hard. Call submit_scores exactly once."""

quality_agent: Agent[None, QualityScores] = Agent(
    output_type=ToolOutput(QualityScores, name="submit_scores"), instructions=_SCORE, retries=2, name="quality"
)


def pick_for_scoring(samples: list[Sample], size: int, *, seed: str = "") -> list[Sample]:
    """A stable sample of `size` items, taken from the subtasks in turn."""
    by_subtask: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: pick_key(s.id, seed)):
        by_subtask[sample.subtask_id].append(sample)
    picked: list[Sample] = []
    queues = list(by_subtask.values())
    while len(picked) < size and any(queues):
        for queue in queues:
            if queue and len(picked) < size:
                picked.append(queue.pop(0))
    return picked


def judge_prompt(sample: Sample, spec: BenchmarkSpec, plan: SubtaskPlan) -> str:
    """What the quality judge is shown of one item."""
    name = next((s.name for s in plan.subtasks if s.id == sample.subtask_id), sample.subtask_id)
    return "\n".join([f"Benchmark goal: {spec.goal}", f"Capability under test: {spec.capability}",
                      f"Domain: {spec.domain}", f"Subtask: {name}", *sample_lines(sample, gold=True)])


async def score_one(sample: Sample, models: StageModels, *, spec: BenchmarkSpec, plan: SubtaskPlan,
                    role: Role = "judge") -> ItemQuality | None:
    """The judge's scores for one item; None when it gives no valid scores."""
    try:
        scores = await run_stage(quality_agent, judge_prompt(sample, spec, plan), models=models, role=role,
                                 stage="quality scoring")
    except StageFailed:
        return None
    return ItemQuality(sample_id=sample.id, subtask_id=sample.subtask_id, scores=scores)


async def score_items(samples: list[Sample], spec: BenchmarkSpec, plan: SubtaskPlan, *, models: StageModels,
                      role: Role = "judge", concurrency: int = 4, early: EarlyScores | None = None) -> list[ItemQuality]:
    """The judge's scores for each sample; a sample the judge gives no valid scores for is left out. The ones
    `early` scored while the build ran (tools/finish/early.py) are taken from it."""
    gate = asyncio.Semaphore(concurrency)

    async def score(sample: Sample) -> ItemQuality | None:
        if early is not None:
            taken, quality = await early.take(sample)
            if taken:
                return quality
        async with gate:
            return await score_one(sample, models, spec=spec, plan=plan, role=role)

    return [q for q in await asyncio.gather(*(score(s) for s in samples)) if q is not None]


def _reason_key(check: str, reason: str, issues: list[str] | None = None) -> str:
    if issues and check in ("inspector", "solver"):
        return ", ".join(sorted(set(issues)))
    return re.sub(r"'[^']*'|\"[^\"]*\"|\([^)]*\)", "…", reason)[:120].strip()


def summarize_checks(records: list[CheckRecord], build: BuildReport | None = None) -> list[CheckSummary]:
    """Counts and drop reasons per check, from the gate's records and (for parse/schema/duplicate/judge) the build."""
    known = set(get_args(CheckName)) - _GATE_CHECKS  # the gate's own checks are counted from its records only
    summaries: dict[str, CheckSummary] = {}
    if build is not None:
        for stage in build.stages:
            if stage.stage in known:
                summaries[stage.stage] = CheckSummary(check=stage.stage, attempted=stage.attempted,  # type: ignore[arg-type]
                                                      passed=stage.passed, dropped=stage.dropped)
        for drop in build.drops:
            if drop.check not in known:
                continue
            entry = summaries.setdefault(drop.check, CheckSummary(check=drop.check))
            key = _reason_key(drop.check, drop.reason)
            entry.drop_reasons[key] = entry.drop_reasons.get(key, 0) + 1
    for record in records:
        entry = summaries.setdefault(record.check, CheckSummary(check=record.check))
        entry.attempted += 1
        setattr(entry, record.outcome, getattr(entry, record.outcome) + 1)
        if record.outcome == "dropped":
            key = _reason_key(record.check, record.reasons[0] if record.reasons else "no reason", list(record.issues))
            entry.drop_reasons[key] = entry.drop_reasons.get(key, 0) + 1
    order = {name: i for i, name in enumerate(get_args(CheckName))}
    return sorted(summaries.values(), key=lambda s: order[s.check])


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


async def quality_report(
    samples: list[Sample],
    spec: BenchmarkSpec,
    plan: SubtaskPlan,
    *,
    models: StageModels,
    build_id: str,
    records: list[CheckRecord],
    build: BuildReport | None = None,
    panel: PanelReport | None = None,
    sample_size: int = 20,
    role: Role = "judge",
    concurrency: int = 4,
    as_accepted: dict[str, Sample] | None = None,
    early: EarlyScores | None = None,
) -> QualityReport:
    """Score a sample of the benchmark with the judge and gather every quality figure into one report. The judge
    sees each picked item in its `as_accepted` form where one is given (its options before the positions were
    balanced); `early` holds the scores taken while the build ran."""
    picked = [(as_accepted or {}).get(s.id, s) for s in pick_for_scoring(samples, sample_size, seed=build_id)]
    scored = await score_items(picked, spec, plan, models=models, role=role, concurrency=concurrency, early=early)
    dimensions = {d: round(fmean(getattr(q.scores, d) for q in scored), 1) for d in QUALITY_DIMENSIONS} if scored else {}
    solver = [r for r in records if r.check == "solver" and r.agreed is not None]
    executed = [r for r in records if r.check == "executed"]
    voided = sum(len(r.voided) for r in records)
    wrong = voided + sum(1 for r in records if r.check in ("inspector", "solver") and "wrong_answer" in r.issues)
    report = QualityReport(
        build_id=build_id, judge_model=models.names.get(role, "?"), generator_model=models.names.get("generator", "?"),
        items=len(samples), scored=len(scored), dimensions=dimensions, item_scores=scored,  # type: ignore[arg-type]
        checks=summarize_checks(records, build), resolved=len(solver),
        agreement_rate=_rate(sum(1 for r in solver if r.agreed), len(solver)), executed=len(executed),
        executed_pass_rate=_rate(sum(1 for r in executed if r.outcome == "passed"), len(executed)),
        voided_verdicts=voided, voided_rate=_rate(voided, wrong), without_solution=unexecuted(samples),
        options_computed=len(computed := [s for s in samples if s.choices and _executed(s)]),
        options_judged=sum(1 for s in samples if s.choices) - len(computed),
        constraint_misses=dict(Counter(c for r in records if r.check == "constraints" for c in r.constraints)),
        answer_positions=position_distribution(samples), positions_balanced=positions_balanced(samples),
        panel=panel, created_at=datetime.now(UTC))
    return report.model_copy(update={"warnings": _warnings(report, models, role, min(sample_size, len(samples)))})


def _executed(sample: Sample) -> bool:
    return "executed" in sample.metadata.get("qc", {}).get("checks", [])


def unexecuted(samples: list[Sample]) -> list[str]:
    """Ids of the numeric items whose answer no program computed (kept because solutions were not required)."""
    return [s.id for s in samples if s.metadata.get("qc", {}).get("solution_program") is False]


def unexecuted_note(ids: list[str]) -> str:
    return (f"{len(ids)} numeric items carry no solution program, so their answers were never computed "
            "(BENCHMARK_AGENT_REQUIRE_SOLUTIONS=false): " + ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else ""))


def _warnings(report: QualityReport, models: StageModels, role: Role, wanted: int) -> list[str]:
    notes = []
    if report.without_solution:
        notes.append(unexecuted_note(report.without_solution))
    if report.voided_verdicts:
        notes.append(f"{report.voided_verdicts} wrong-answer verdicts contradicted themselves (their own answer was the "
                     "gold answer) and were set aside; the judge is unreliable at that rate.")
    if models.names.get(role) == models.names.get("generator"):
        notes.append(f"The quality judge is the generator model ({report.judge_model}); its scores may favour its own "
                     "items. Set a different judge model for an independent report.")
    if report.scored < wanted:
        notes.append(f"{wanted - report.scored} of {wanted} items got no valid scores from the judge.")
    if report.resolved == 0:
        notes.append("No item was re-solved independently (no solver model configured).")
    if report.positions_balanced is False:
        notes.append("Correct answers are not spread evenly over the option positions.")
    if report.panel is not None:
        notes += report.panel.notes
    return notes


def quality_chart_svg(report: QualityReport, *, width: int = 420) -> str:
    """A horizontal bar chart of the six dimension scores (0-100), as a standalone SVG document."""
    bar, gap, left, right = 22, 8, 48, 40
    rows = [(DIMENSION_LABELS[d][0], report.dimensions.get(d)) for d in QUALITY_DIMENSIONS]  # type: ignore[call-overload]
    height = len(rows) * (bar + gap) + gap
    span = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">']
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar + gap)
        length = 0 if value is None else span * value / 100
        color = "#2e7d32" if (value or 0) >= 70 else "#f9a825" if (value or 0) >= 50 else "#c62828"
        parts += [f'<text x="4" y="{y + 16}">{label}</text>',
                  f'<rect x="{left}" y="{y}" width="{span}" height="{bar}" fill="#eeeeee"/>',
                  f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{color}"/>',
                  f'<text x="{left + span + 4}" y="{y + 16}">{"–" if value is None else f"{value:.0f}"}</text>']
    return "\n".join([*parts, "</svg>"]) + "\n"
