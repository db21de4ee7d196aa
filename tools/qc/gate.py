"""The quality gate: every check a candidate sample goes through after the schema and duplicate checks.

Order, cheapest and most exact first: leakage (string match) -> evidence (grounded items: every quoted
span found in the material) -> executed answers (sandbox) -> constraints -> inspector, repair and fixer
(judge + generator) -> independent re-solve and adjudication (solver + judge) -> closed-book solve
(grounded items: the solver asked without the material). Each check leaves a `CheckRecord` with its reasons,
whether it passed, repaired or dropped the sample. A repaired sample goes on through the remaining checks; a
dropped one stops there. An item is grounded when it carries evidence or its subtask has material; the
evidence and closed-book checks leave no record on any other item.

A model that cannot be reached (`ModelUnavailable`) propagates: the build should stop and say so.
A model that gives no valid output (`StageFailed`) costs the candidate, not the build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tools.contracts import (
    FATAL_ISSUES,
    BenchmarkSpec,
    CheckName,
    CheckRecord,
    GateResult,
    Issue,
    IssueKind,
    Sample,
    SampleBrief,
    Subtask,
)
from tools.errors import StageFailed
from tools.llm.stage import StageModels
from tools.qc.closed_book import ask_closed_book, closed_book_record, flagged
from tools.qc.constraints import check_constraints, read_constraints
from tools.qc.evidence import MaterialSource, check_evidence
from tools.qc.executed import applies, check_executed
from tools.qc.inspection import describe, inspect_sample, repair_sample
from tools.qc.leakage import find_leak
from tools.qc.sandbox import SandboxLimits
from tools.qc.schema import CheckFailed
from tools.qc.solve import resolve, solvable, void_verdicts
from tools.qc.verify import judge_sample
from tools.stages.brief import render_brief

NO_SOLUTION = "a numeric item without a solution program: its answer cannot be computed"


@dataclass(frozen=True)
class QCOptions:
    """Which checks run. The re-solve also needs a 'solver' model in `StageModels`; without one it is skipped."""

    leakage: bool = True
    executed: bool = True
    constraints: bool = True  # the spec's constraints, measured where code can (tools.qc.constraints)
    # A numeric item without a solution program is dropped; when False it is kept and flagged
    # (`metadata.qc.solution_program` False, counted in the reports).
    require_solution_code: bool = True
    inspect: bool = True
    repair: bool = True
    resolve: bool = True
    evidence: bool = True  # grounded items: every cited unit and quoted span is in the material
    closed_book: bool = True  # grounded items: asked without the material (needs a 'solver' model, like the re-solve)
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)


async def quality_gate(
    sample: Sample,
    spec: BenchmarkSpec,
    subtask: Subtask,
    *,
    models: StageModels,
    options: QCOptions = QCOptions(),
    brief: SampleBrief | None = None,
    material: MaterialSource | None = None,
) -> GateResult:
    """Run the enabled checks on `sample`; the result holds the sample to accept (maybe repaired) or None.
    `material`: the build's material (`tools.sources.MaterialView`), which grounded items are checked against."""
    return await _Gate(sample, spec, subtask, models, options, brief, material).run()


async def check_candidate(
    sample: Sample,
    spec: BenchmarkSpec,
    subtask: Subtask,
    *,
    models: StageModels,
    options: QCOptions | None,
    brief: SampleBrief | None = None,
    material: MaterialSource | None = None,
) -> GateResult:
    """What every candidate goes through, in a build and in a preview alike: the quality gate (then one judge
    verdict when the gate runs no inspector), or with `options` None a single judge verdict. A judge giving no
    valid verdict drops the candidate; `ModelUnavailable` propagates."""
    if options is not None:
        gated = await quality_gate(sample, spec, subtask, models=models, options=options, brief=brief,
                                   material=material)
        if options.inspect or gated.sample is None or gated.dropped is not None:
            return gated
        judged = await _judge(gated.sample, spec, models)
        return GateResult(sample=judged.sample, records=[*gated.records, *judged.records])
    return await _judge(sample, spec, models)


async def _judge(sample: Sample, spec: BenchmarkSpec, models: StageModels) -> GateResult:
    try:
        verdict = await judge_sample(sample, spec, models=models)
    except StageFailed:
        return GateResult(sample=None, records=[CheckRecord(sample_id=sample.id, check="judge", outcome="dropped",
                                                            reasons=["no valid verdict"])])
    if not verdict.accepted and (voided := _void_rejection(sample, verdict.reasons)):
        return GateResult(sample=sample, records=[CheckRecord(sample_id=sample.id, check="judge", outcome="passed",
                                                              voided=voided)])
    record = CheckRecord(sample_id=sample.id, check="judge", outcome="passed" if verdict.accepted else "dropped",
                         reasons=verdict.reasons)
    return GateResult(sample=sample if verdict.accepted else None, records=[record])


def _void_rejection(sample: Sample, reasons: list[str]) -> list[str]:
    """A rejection every reason of which names, as the value it calculated, the gold answer itself: void (the
    verdicts are returned as voided); empty when any reason stands."""
    issues = [Issue(kind="wrong_answer", detail=reason[:200]) for reason in reasons]
    kept, voided = void_verdicts(sample, issues)
    return voided if issues and not kept else []


class _Gate:
    def __init__(self, sample: Sample, spec: BenchmarkSpec, subtask: Subtask, models: StageModels,
                 options: QCOptions, brief: SampleBrief | None, material: MaterialSource | None) -> None:
        self.sample, self.original_id, self.spec, self.subtask = sample, sample.id, spec, subtask
        self.models, self.options, self.material = models, options, material
        self.grounded = bool(sample.evidence) or subtask.material is not None
        self.brief = render_brief(brief) if brief else None
        self.brief_model = brief
        self.constraints = read_constraints(spec) if options.constraints else []
        self.judged: list[str] = []  # the constraints left to the inspector
        self.brief_data = brief.model_dump() if brief else None
        self.records: list[CheckRecord] = []

    def record(self, check: CheckName, outcome: Literal["passed", "repaired", "dropped"], reasons: list[str] | None = None,
               issues: list[IssueKind] | None = None, *, agreed: bool | None = None, solver_answer: str | None = None,
               voided: list[str] | tuple[str, ...] = (), constraints: list[str] | None = None) -> None:
        self.records.append(CheckRecord(sample_id=self.original_id, check=check, outcome=outcome, agreed=agreed,
                                        solver_answer=solver_answer, reasons=[r[:300] for r in reasons or []],
                                        issues=issues or [], voided=list(voided), constraints=constraints or []))

    async def run(self) -> GateResult:
        for step in (self._leakage, self._evidence, self._executed, self._constraints, self._inspect, self._resolve,
                     self._closed_book):
            if not await step():
                return GateResult(sample=None, records=self.records)
        return GateResult(sample=self._annotated(), records=self.records)

    def _annotated(self) -> Sample:
        passed = [r.check for r in self.records]
        solver = next((r for r in self.records if r.check == "solver"), None)
        qc: dict[str, object] = {"checks": passed, "repaired": any(r.outcome == "repaired" for r in self.records)}
        if self.sample.answer_format == "numeric" and not applies(self.sample):
            qc["solution_program"] = False  # its answer was never computed: the reports flag it
        if solver is not None:
            qc["solver_agreed"] = solver.agreed
        metadata = {**self.sample.metadata, "qc": {**self.sample.metadata.get("qc", {}), **qc}}
        if self.brief_data:
            metadata["brief"] = self.brief_data
        if self.sample.id != self.original_id:
            metadata["repaired_from"] = self.original_id
        return self.sample.model_copy(update={"metadata": metadata})

    async def _repair(self, issues: list[Issue]) -> Sample:
        """A repaired sample that passes leakage and a fresh inspection; `CheckFailed` otherwise."""
        try:
            repaired = await repair_sample(self.sample, issues, self.spec, self.subtask, models=self.models)
            if self.options.leakage and (leak := find_leak(repaired)):
                raise CheckFailed(f"the repaired sample leaks its answer: {leak}")
            if self.options.inspect:
                again, _ = void_verdicts(repaired, await inspect_sample(repaired, self.spec, self.subtask,
                                                                         models=self.models, brief=self.brief,
                                                                         constraints=self.judged))
                if again:
                    raise CheckFailed("still flawed after repair: " + "; ".join(describe(again)))
        except StageFailed as exc:
            raise CheckFailed(f"repair failed: {str(exc).split(' (')[0]}") from exc
        return repaired

    async def _fix_or_drop(self, check: CheckName, issues: list[Issue], **extra: Any) -> bool:
        reasons, kinds = describe(issues), [i.kind for i in issues]
        if self.options.repair and not any(i.kind in FATAL_ISSUES for i in issues):
            try:
                self.sample = await self._repair(issues)
            except CheckFailed as exc:
                reasons.append(str(exc))
            else:
                self.record(check, "repaired", reasons + [f"repaired: {self.sample.metadata['repairs'][-1]}"], kinds, **extra)
                return True
        self.record(check, "dropped", reasons, kinds, **extra)
        return False

    async def _leakage(self) -> bool:
        if not self.options.leakage:
            return True
        leak = find_leak(self.sample)
        if leak is None:
            self.record("leakage", "passed")
            return True
        return await self._fix_or_drop("leakage", [Issue(kind="answer_leaked", detail=leak[:200])])

    async def _evidence(self) -> bool:
        if not self.options.evidence or not self.grounded:
            return True
        if self.material is None:
            self.record("evidence", "dropped", ["a grounded item, but no material was given to check its evidence against"])
            return False
        multi_hop = self.subtask.material is not None and self.subtask.material.multi_hop
        record = check_evidence(self.sample, self.material, multi_hop=multi_hop)
        self.record("evidence", record.outcome, record.reasons)
        return record.outcome == "passed"

    async def _executed(self) -> bool:
        if not self.options.executed:
            return True
        if not applies(self.sample):
            if self.options.require_solution_code and self.sample.answer_format == "numeric":
                self.record("executed", "dropped", [NO_SOLUTION], ["schema"])
                return False
            return True
        outcome = await check_executed(self.sample, limits=self.options.sandbox)
        self.record("executed", "passed" if outcome.passed else "dropped", [outcome.reason],
                    [] if outcome.passed else [outcome.issue])
        return outcome.passed

    async def _constraints(self) -> bool:
        if not self.constraints:
            return True
        found = check_constraints(self.sample, self.constraints, self.brief_model)
        self.judged = found.for_inspector
        if found.misses:
            self.record("constraints", "dropped", [f"misses the constraint {c.text!r}: {why}" for c, why in found.misses],
                        ["off_intent"], constraints=[c.text for c, _ in found.misses])
            return False
        if len(found.for_inspector) < len(self.constraints):  # something was measured
            self.record("constraints", "passed")
        return True

    async def _inspect(self) -> bool:
        if not self.options.inspect:
            return True
        try:
            issues = await inspect_sample(self.sample, self.spec, self.subtask, models=self.models, brief=self.brief,
                                          constraints=self.judged)
        except StageFailed:
            self.record("inspector", "dropped", ["the inspector gave no valid output"])
            return False
        issues, voided = void_verdicts(self.sample, issues)
        if not issues:
            self.record("inspector", "passed", voided=voided)
            return True
        return await self._fix_or_drop("inspector", issues, voided=voided)

    async def _resolve(self) -> bool:
        if not self.options.resolve or "solver" not in self.models.models or not solvable(self.sample):
            return True
        try:
            outcome = await resolve(self.sample, models=self.models)
        except StageFailed:  # the item is not at fault: it stays, unconfirmed
            self.record("solver", "passed", ["the solver or adjudicator gave no valid output; not re-solved"])
            return True
        extra: dict[str, Any] = {"agreed": outcome.agreed, "solver_answer": outcome.answer.answer[:200],
                                 "voided": outcome.voided}
        said = f"solver answered {outcome.answer.answer[:80]!r}"
        if outcome.keep:
            reasons = [] if outcome.decision is None else [f"{said}; judge: {outcome.decision}. {outcome.reasoning}"]
            self.record("solver", "passed", reasons, **extra)
            return True
        detail = f"{said}; judge: {outcome.decision}. {outcome.reasoning}"[:200]
        if outcome.decision == "ambiguous":
            return await self._fix_or_drop("solver", [Issue(kind="ambiguous", detail=detail)], **extra)
        self.record("solver", "dropped", [detail], ["wrong_answer"], **extra)
        return False

    async def _closed_book(self) -> bool:
        if (not self.options.closed_book or not self.grounded or "solver" not in self.models.models
                or self.sample.metadata.get("kind") == "code"):
            return True
        try:
            outcome = await ask_closed_book(self.sample, models=self.models)
        except StageFailed:  # the item is not at fault: it stays, unflagged
            self.record("closed_book", "passed", ["the solver gave no valid output; not asked without the material"])
            return True
        self.sample = flagged(self.sample, outcome)
        record = closed_book_record(self.sample, outcome, self.spec)
        self.record("closed_book", record.outcome, record.reasons, agreed=record.agreed, solver_answer=record.solver_answer)
        return record.outcome == "passed"
