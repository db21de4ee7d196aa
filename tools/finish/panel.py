"""Difficulty with a model panel: who solves what, how hard and how separating each item and subtask is.

Each panel model answers each accepted item (the solver agent, without the gold answer).
difficulty = 1 - the best panel model's accuracy; separability = mean absolute deviation of the panel
models' accuracies (AutoBencher's definitions), per item, per subtask and overall. With a target
accuracy band, items every panel model solves are hardened (a harder version replaces the item,
once it passes the same checks) until the panel's mean accuracy lands in the band or the rounds run out.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable
from statistics import fmean

from pydantic_ai import Agent, ToolOutput
from pydantic_ai.models import Model

from tools.contracts import (
    BenchmarkSpec,
    ItemDifficulty,
    PanelReport,
    Sample,
    SampleBatch,
    SampleDraft,
    Subtask,
    SubtaskDifficulty,
    SubtaskPlan,
    TokenUsage,
)
from tools.engine.budget import panel_key
from tools.errors import BudgetReached, StageFailed
from tools.finish.scoring import scored
from tools.llm.resilience import CallCache
from tools.llm.stage import StageModels, run_stage
from tools.qc.inspection import sample_lines
from tools.qc.schema import CheckFailed, to_sample
from tools.qc.solve import solve_sample

Accuracy = dict[str, dict[str, float]]  # sample id -> panel model -> share of attempts answered correctly
Admit = Callable[[SampleDraft, Subtask, Sample], Awaitable[Sample | None]]

_HARDEN = """\
Every model of a test panel answers this benchmark item correctly: it is too easy. Write one harder
version that tests the same skill in the same subtask and answer format: add a reasoning hop, make the
solver combine facts, or bring the wrong options closer to the correct one, without making it ambiguous,
tricky or unanswerable. The new item has its own correct answer: work it out carefully; for computed
answers also write solution_code. Call submit_samples exactly once, with exactly one sample."""

hardener_agent: Agent[None, SampleBatch] = Agent(
    output_type=ToolOutput(SampleBatch, name="submit_samples"), instructions=_HARDEN, retries=2, name="hardener"
)


async def panel_accuracy(samples: list[Sample], panel: dict[str, Model], *, models: StageModels | None = None,
                         attempts: int = 1, concurrency: int = 4, cache: CallCache | None = None,
                         guard: Callable[[dict[str, TokenUsage]], str | None] | None = None,
                         judge: StageModels | None = None, ungraded: list[tuple[str, str]] | None = None) -> Accuracy:
    """Each panel model answers each sample `attempts` times; a model giving no valid answer scores it wrong.

    With a `cache`, answers are kept as they come and a second run asks only what the first did not. `guard`
    sees the usage so far (the panel's by `panel_key`, the judge's grading by its role) before every call; once
    it gives a reason, no more calls are made and `BudgetReached` is raised with how many answers were made (all
    kept in the cache). A code item is scored by its tests in the sandbox; with a `judge`, an open answer is
    graded (tools.finish.scoring), once every answer is in. When the guard stops the judge (grading is paid from
    the same budget), each answer it did not grade is put in `ungraded` as (sample id, model) and not counted
    correct: the caller leaves it out rather than score it wrong. Without `ungraded`, that stop raises
    `BudgetReached` too."""
    members = {name: StageModels(models={"solver": model}, names={"solver": name}) for name, model in panel.items()}
    if cache is not None:
        members = {name: member.with_cache(cache) for name, member in members.items()}

    def spent() -> dict[str, TokenUsage]:
        totals = {}
        for name, member in members.items():
            totals[panel_key(name)] = total = TokenUsage()
            for used in member.usage.values():
                total.add(used)
        for role, used in (judge.spent() if judge is not None else {}).items():  # the grading calls, by role
            totals.setdefault(role, TokenUsage()).add(used)
        return totals

    for member in members.values():
        member.guard = (lambda: guard(spent())) if guard is not None else None
    if judge is not None and guard is not None:
        judge.guard = lambda: guard(spent())
    gate = asyncio.Semaphore(concurrency)
    stopped: list[str] = []

    async def answer_of(sample: Sample, name: str) -> str | None:
        async with gate:
            try:
                return (await solve_sample(sample, models=members[name])).answer
            except StageFailed:
                return None  # no valid answer: scored wrong
            except BudgetReached as exc:
                stopped.append(str(exc))
                return None

    async def correct(sample: Sample, name: str, answer: str | None) -> bool | None:
        if answer is None:
            return False
        async with gate:
            try:
                return await scored(sample, answer, judge=judge)
            except StageFailed:
                return False  # the judge gave no grade: not counted as solved
            except BudgetReached as exc:
                if ungraded is None:
                    stopped.append(str(exc))
                return None

    jobs = [(s, name) for s in samples for name in panel for _ in range(attempts)]
    answers = await asyncio.gather(*(answer_of(s, name) for s, name in jobs))
    if stopped:
        made = sum(1 for a in answers if a is not None)
        raise BudgetReached(f"{stopped[0]} after {made} of {len(answers)} answers")
    results = await asyncio.gather(*(correct(s, name, a) for (s, name), a in zip(jobs, answers, strict=True)))
    if stopped:
        raise BudgetReached(f"{stopped[0]} while grading, after {sum(r is not None for r in results)} of "
                            f"{len(results)} answers were scored")
    _book(members, models)
    hits: dict[str, dict[str, int]] = {s.id: dict.fromkeys(panel, 0) for s in samples}
    for (sample, name), ok in zip(jobs, results, strict=True):
        hits[sample.id][name] += bool(ok)
        if ok is None and ungraded is not None and (sample.id, name) not in ungraded:
            ungraded.append((sample.id, name))
    return {sid: {name: n / attempts for name, n in per.items()} for sid, per in hits.items()}


def _book(members: dict[str, StageModels], models: StageModels | None) -> None:
    """Each panel model's tokens under its own key, so the report prices them."""
    if models is None:
        return
    for name, member in members.items():
        meter = models.usage.setdefault(panel_key(name), TokenUsage())
        for used in member.usage.values():
            meter.add(used)


def _mad(values: list[float]) -> float:
    mean = fmean(values)
    return fmean(abs(v - mean) for v in values)


def _summary(subtask_id: str, rows: list[dict[str, float]], names: list[str]) -> SubtaskDifficulty:
    accuracy = {n: fmean(r[n] for r in rows) if rows else 0.0 for n in names}
    return SubtaskDifficulty(
        subtask_id=subtask_id, items=len(rows), accuracy=accuracy, difficulty=1 - max(accuracy.values(), default=0.0),
        separability=_mad(list(accuracy.values())) if accuracy else 0.0,
        saturated=sum(1 for r in rows if r and min(r.values()) >= 1.0))


def difficulty_report(samples: list[Sample], accuracy: Accuracy, *, names: list[str], attempts: int = 1,
                      band: tuple[float, float] | None = None) -> PanelReport:
    """Difficulty and separability per item, per subtask and overall, and where the benchmark sits against `band`."""
    items = [ItemDifficulty(sample_id=s.id, subtask_id=s.subtask_id, accuracy=accuracy[s.id],
                            difficulty=1 - max(accuracy[s.id].values()), separability=_mad(list(accuracy[s.id].values())))
             for s in samples]
    subtask_ids = list(dict.fromkeys(s.subtask_id for s in samples))
    subtasks = [_summary(sid, [accuracy[s.id] for s in samples if s.subtask_id == sid], names) for sid in subtask_ids]
    overall = _summary("all", [accuracy[s.id] for s in samples], names)
    mean = fmean(overall.accuracy.values()) if overall.accuracy else 0.0
    in_band = None if band is None else band[0] <= mean <= band[1]
    return PanelReport(models=names, attempts=attempts, items=items, subtasks=subtasks, overall=overall,
                       accuracy=mean, band=band, in_band=in_band)


def to_harden(report: PanelReport, samples: list[Sample], *, tried: set[str] | None = None) -> list[str]:
    """Ids of saturated items whose replacement by harder ones would bring the mean accuracy to mid-band."""
    if report.band is None or report.accuracy <= report.band[1]:
        return []
    mid = sum(report.band) / 2
    needed = math.ceil((report.accuracy - mid) * len(samples) / max(1e-9, 1 - mid))
    saturated = [i.sample_id for i in report.items if min(i.accuracy.values()) >= 1.0 and i.sample_id not in (tried or set())]
    saturated.sort(key=lambda sid: hashlib.sha256(sid.encode()).hexdigest())
    return saturated[:needed]


async def harden_sample(sample: Sample, spec: BenchmarkSpec, subtask: Subtask, *, models: StageModels) -> SampleDraft:
    lines = [f"Capability under test: {spec.capability}", f"Domain: {spec.domain}", f"Subtask: {subtask.name}",
             f"Subtask description: {subtask.description}", "Number of samples: 1", *sample_lines(sample, gold=True)]
    batch = await run_stage(hardener_agent, "\n".join(lines), models=models, role="generator", stage="hardening")
    return batch.samples[0]


async def calibrate_difficulty(
    samples: list[Sample],
    spec: BenchmarkSpec,
    plan: SubtaskPlan,
    *,
    panel: dict[str, Model],
    models: StageModels,
    band: tuple[float, float] | None = None,
    admit: Admit | None = None,
    attempts: int = 1,
    max_rounds: int = 2,
    concurrency: int = 4,
) -> tuple[list[Sample], PanelReport]:
    """Measure the benchmark with the panel; with a band, harden saturated items until it lands in the band.

    `admit(draft, subtask, replaced)` turns a hardened draft into an accepted sample or None; the build
    loop passes its own (format, duplicate and quality checks, checkpointing). Without it, a draft is
    accepted when it passes the format checks alone: pass `admit` in production.
    """
    if not panel:
        raise ValueError("calibrate_difficulty needs at least one panel model")
    names, by_id = list(panel), {s.id: s for s in plan.subtasks}
    admit = admit or _format_checked
    accuracy = await panel_accuracy(samples, panel, models=models, attempts=attempts, concurrency=concurrency)
    report = difficulty_report(samples, accuracy, names=names, attempts=attempts, band=band)
    current, tried, hardened, failed, rounds = list(samples), set[str](), 0, 0, 0
    while rounds < max_rounds and (chosen := to_harden(report, current, tried=tried)):
        rounds += 1
        tried.update(chosen)
        for sid in chosen:
            index = next(i for i, s in enumerate(current) if s.id == sid)
            harder = await _harder(current[index], spec, by_id[current[index].subtask_id], models, admit)
            if harder is None:
                failed += 1
                continue
            score = await panel_accuracy([harder], panel, models=models, attempts=attempts, concurrency=concurrency)
            if min(score[harder.id].values()) >= 1.0:
                failed += 1
                continue
            accuracy[harder.id] = score[harder.id]
            current[index] = harder.model_copy(update={"metadata": {**harder.metadata, "hardened_from": sid}})
            hardened += 1
        report = difficulty_report(current, accuracy, names=names, attempts=attempts, band=band)
    notes = _notes(report)
    return current, report.model_copy(update={"hardened": hardened, "hardening_failed": failed, "rounds": rounds,
                                              "notes": notes})


async def _harder(sample: Sample, spec: BenchmarkSpec, subtask: Subtask, models: StageModels, admit: Admit) -> Sample | None:
    try:
        draft = await harden_sample(sample, spec, subtask, models=models)
    except StageFailed:
        return None
    return await admit(draft, subtask, sample)


async def _format_checked(draft: SampleDraft, subtask: Subtask, replaced: Sample) -> Sample | None:
    try:
        return to_sample(draft, subtask, replaced.provenance)
    except CheckFailed:
        return None


def _notes(report: PanelReport) -> list[str]:
    notes = []
    if report.band is not None and not report.in_band:
        low, high = report.band
        side = "above" if report.accuracy > high else "below"
        notes.append(f"Panel accuracy {report.accuracy:.0%} is {side} the target band {low:.0%}-{high:.0%}.")
        if side == "below":
            unsolved = sum(1 for i in report.items if max(i.accuracy.values()) == 0)
            notes.append(f"{unsolved} items no panel model solved: review them (a wrong gold answer is a common cause).")
    return notes
