"""One build's state and its batches: planning, running, deciding and recording them.

`Build` is what `tools.engine.build.run_build` drives: it plans each batch from the decisions before its
window, runs the generator, the quality gate and de-duplication for it under the concurrency limit, and
decides candidates strictly in plan order, appending every decision to the ledger as it is made.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from memory.dedup import DedupItem, Deduplicator, Duplicate
from memory.files import Journal
from memory.store import SampleStore
from tools.contracts import (
    BenchmarkSpec,
    BuildEvent,
    CheckName,
    CheckRecord,
    Drop,
    EventSink,
    GateResult,
    Sample,
    SampleBrief,
    SampleDraft,
    Spend,
    Subtask,
    SubtaskPlan,
    emit,
)
from tools.engine.budget import cost_of
from tools.engine.ledger import Ledger, Progress, dedup_item
from tools.engine.parts import AcceptListener, Batch, BuildOptions, Candidate, all_judged, failed_call
from tools.engine.units import UnitUse, pick_units
from tools.errors import BudgetReached, ModelUnavailable, StageFailed
from tools.llm.resilience import call_priority
from tools.llm.stage import StageModels
from tools.qc.dedup_judge import same_item
from tools.qc.gate import check_candidate
from tools.qc.schema import Block, CheckFailed, make_provenance, material_blocks, to_grounded_sample, to_sample
from tools.stages.brief import AVOID_SHOWN, design_briefs
from tools.stages.generate import generate_batch

if TYPE_CHECKING:
    from tools.sources import MaterialView

CHECKPOINTS = "checkpoints"
__all__ = ["CHECKPOINTS", "Build", "BuildOptions", "dedup_item"]


class Build:
    def __init__(self, spec: BenchmarkSpec, plan: SubtaskPlan, *, build_id: str, models: StageModels,
                 store: SampleStore, directory: Path, options: BuildOptions, on_event: EventSink | None,
                 material: MaterialView | None = None, early: AcceptListener | None = None) -> None:
        self.spec, self.plan, self.build_id, self.material, self.early = spec, plan, build_id, material, early
        self.store, self.options, self.on_event = store, options, on_event
        # The concurrency limit holds only requests on the wire, not the work between them.
        self.models = models = models.limited(options.concurrency)
        # One writer for the checkpoints and the call cache, so a decision never reaches the disk before its answers.
        self.journal = models.cache.journal if models.cache is not None else Journal()
        self.ledger, self.progress = Ledger(directory, self.journal), Progress(directory, self.journal)
        self.subtasks = {s.id: s for s in plan.subtasks}
        self.stop_reason: str | None = None
        # Checked before every model call, also those inside a quality gate already under way; the build's
        # own copy of the models carries it, so finishing (quality scoring) is not cut off.
        models.guard = lambda: options.budget.exceeded(spent := models.spent(), cost_of(spent, models.names, options.prices))
        tie_break = options.dedup_tie_break or (partial(same_item, models=models) if options.llm_tie_break else None)
        self.dedup = Deduplicator(store.embedder, threshold=options.dedup_threshold, tie_break=tie_break)
        if early is not None:
            early.attach(models)  # the quality judge's early calls share the build's slots and budget

    async def emit(self, **fields: object) -> None:
        await emit(self.on_event, BuildEvent(**fields, spend=self.spend()))  # type: ignore[arg-type]

    def spend(self) -> Spend:
        tokens = {role: u.input_tokens + u.output_tokens for role, u in self.models.usage.items()}
        return Spend(tokens=tokens, cost=self.cost())

    # -- planning -------------------------------------------------------------------------------

    def planned(self, subtask_id: str) -> list[dict[str, object]]:
        return self.progress.planned(subtask_id)

    def requested(self, subtask_id: str) -> int:
        return self.progress.requested(subtask_id)

    def allowed_candidates(self, subtask: Subtask) -> int:
        """Candidates a subtask may ask for in all: its quota times the attempts allowed per sample."""
        return max(subtask.quota + 1, math.ceil(subtask.quota * self.options.max_rounds_per_sample))

    def yield_rate(self, subtask_id: str) -> float:
        """Share of this subtask's decided candidates that were accepted so far (0.9 before any is decided)."""
        accepted, dropped = self.ledger.count(subtask_id), self.ledger.dropped(subtask_id)
        return accepted / (accepted + dropped) if accepted + dropped else 0.9

    def enough(self, subtask_id: str, missing: int) -> float:
        """Candidates to ask for so that `missing` more samples are accepted without another round trip: the
        expected number at the yield so far, and, once some were decided, two standard deviations of the drops
        on top (a late drop otherwise starts a whole chain of calls, brief to verdict, for one sample, while the
        endpoint's slots idle at the end of the build)."""
        rate = max(self.yield_rate(subtask_id), 0.25)
        decided = self.ledger.count(subtask_id) + self.ledger.dropped(subtask_id)
        spread = 2 * math.sqrt(missing * (1 - rate)) / rate if decided else 0.0
        return missing / rate + spread

    def plan_next(self, decided: int) -> Batch | None:
        """The next batch, from the decisions of the first `decided` batches and the batches still out;
        None when no subtask needs more (or may ask for more). A subtask whose candidates keep failing
        is asked for more than it misses, so that fewer replacement round trips are needed.

        The subtask least covered (accepted and on the way, against its quota) goes first, so all of
        them fill together: a build stopped early holds some of every subtask, each subtask's batches
        learn from more decisions of its earlier ones, and the subtasks' last round trips overlap."""
        best: tuple[float, Subtask, int] | None = None
        use = UnitUse.of(self.progress.batches, self.progress.done, self.ledger.units()) if self.material else None
        attempts = max(1, math.ceil(self.options.max_rounds_per_sample))  # candidates one record may be tried for
        for subtask in self.plan.subtasks:
            missing = subtask.quota - self.ledger.count(subtask.id)
            out = sum(int(b["count"]) for b in self.planned(subtask.id)[self.progress.decided_of(subtask.id):])  # type: ignore[call-overload]
            wanted = min(math.ceil(self.enough(subtask.id, missing)), 2 * missing) - out
            count = min(wanted, self.options.batch_size, self.allowed_candidates(subtask) - self.requested(subtask.id))
            if use is not None and subtask.material is not None:  # no more items than units left to write them from
                count = len(pick_units(subtask, count, use, attempts))
            covered = (subtask.quota - missing + out) / subtask.quota
            if count > 0 and (best is None or covered < best[0]):
                best = (covered, subtask, count)
        if best is None:
            return None
        _, subtask, count = best
        seq = len(self.progress.batches)
        units = pick_units(subtask, count, use, attempts) if use is not None else []
        batch = Batch(subtask, seq, f"{subtask.id}/batch {seq + 1}", count, decided, tuple(tuple(g) for g in units))
        entry: dict[str, object] = {"subtask": subtask.id, "label": batch.label, "count": count, "basis": decided}
        self.progress.plan({**entry, "units": units} if units else entry)
        return batch

    def undecided(self) -> list[Batch]:
        """Planned batches without a `done` marker (an interrupted run's), in plan order; those of a subtask no
        longer in the plan are left out (`close_dropped` closes them)."""
        return [Batch(self.subtasks[str(b["subtask"])], seq, str(b["label"]), int(b["count"]), int(b["basis"]),  # type: ignore[call-overload]
                       tuple(tuple(g) for g in b.get("units") or []))  # type: ignore[attr-defined]
                for seq, b in enumerate(self.progress.batches)
                if b["label"] not in self.progress.done and str(b["subtask"]) in self.subtasks]

    def close_dropped(self) -> bool:
        """Mark done, with nothing decided, the undecided batches of subtasks no longer in the plan (it changed
        since an earlier run) that come right after the decided ones, so that those stay a prefix; True when
        it closed any."""
        closed = False
        for batch in self.progress.batches:
            if batch["label"] in self.progress.done:
                continue
            if batch["subtask"] in self.subtasks:
                break
            self.progress.finish_batch(str(batch["label"]), Counter())
            closed = True
        return closed

    async def run_batches(self) -> None:
        """Keep up to `2 x concurrency` batches out; decide each in plan order as soon as it is in."""
        window = 2 * self.options.concurrency
        out: dict[int, tuple[Batch, asyncio.Task[list[Candidate] | None]]] = {
            b.wave: (b, asyncio.create_task(self.run_batch(b))) for b in self.undecided()}
        decided = self.progress.decided()
        replenishing: set[str] = set()
        try:
            while True:
                while self.stop_reason is None and len(self.progress.batches) < decided + window:
                    batch = self.plan_next(decided)
                    if batch is None:
                        break
                    if batch.basis > 0 and batch.subtask.id not in replenishing:
                        replenishing.add(batch.subtask.id)
                        await self.emit(stage="generate", kind="replenishing", subtask_id=batch.subtask.id,
                                        message=f"{batch.subtask.name}: replacing rejected samples")
                    out[batch.wave] = (batch, asyncio.create_task(self.run_batch(batch)))
                if decided not in out:
                    return
                batch, task = out.pop(decided)
                candidates = await task
                if not all_judged(candidates):
                    return  # stopped: this batch and the ones after it are redone on resume
                self.progress.finish_batch(batch.label, await self.decide(batch, candidates))  # type: ignore[arg-type]
                decided += 1
        finally:
            for _, task in out.values():
                task.cancel()

    # -- calls ------------------------------------------------------------------------------------

    def cost(self) -> float | None:
        return cost_of(self.models.usage, self.models.names, self.options.prices)

    async def _call(self, make: Callable[[], Awaitable[object]]) -> object | None:
        """One stage's model call(s); None once the build has been told to stop."""
        if self.stop_reason is None:
            self.stop_reason = self.options.budget.exceeded(self.models.usage, self.cost())
        if self.stop_reason is not None:
            return None
        try:
            return await make()
        except (ModelUnavailable, BudgetReached) as exc:
            self.stop_reason = self.stop_reason or str(exc)
            return None

    async def run_batch(self, batch: Batch) -> list[Candidate] | None:
        """The batch's judged candidates; None when the build stopped before its generation call."""
        # This task's requests: earlier batches are decided first, so served first; but a call with more of its
        # batch's calls still behind it (the brief, then generation, before the checks) goes ahead of the checks of
        # the `lead` batches before it, so that the last batches' chains do not start only once all others are
        # done, with the endpoint's slots idling while they run out one call after another.
        lead = max(1, self.options.concurrency // max(1, self.options.batch_size))
        call_priority.set(batch.wave - 2 * lead)
        subtask = batch.subtask
        avoid = self.ledger.questions(subtask.id, before_batch=batch.basis, last=AVOID_SHOWN)
        lessons = self.ledger.lessons(subtask.id, before_batch=batch.basis)[-3:]
        briefs = await self._briefs(batch, avoid) if self.options.briefs else None
        blocks = material_blocks(self.material, [list(g) for g in batch.units]) if self.material and batch.units else []
        call_priority.set(batch.wave - lead)
        try:
            drafts = await self._call(lambda: generate_batch(self.spec, subtask, batch.count, models=self.models,
                                                             avoid=avoid, guidance=lessons, batch_label=batch.label,
                                                             briefs=briefs, material=blocks or None))
        except StageFailed as exc:
            return [Candidate(subtask, drop=("parse", str(exc).split(" (")[0]))]
        if drafts is None:
            return None
        candidates = [self._schema(batch, draft, blocks[i] if blocks else None, blocks)
                      for i, draft in enumerate(list(drafts)[: batch.count])]  # type: ignore[call-overload]
        for candidate, brief in zip(candidates, briefs or [], strict=False):
            candidate.brief = brief
        call_priority.set(batch.wave)
        await asyncio.gather(*(self._check(c) for c in candidates if c.sample is not None))
        return candidates

    async def _briefs(self, batch: Batch, avoid: list[str]) -> list[SampleBrief] | None:
        try:
            briefs = await self._call(lambda: design_briefs(self.spec, batch.subtask, batch.count, models=self.models,
                                                            avoid=avoid, batch_label=batch.label))
        except StageFailed:
            return None  # the samples are written without briefs rather than not at all
        return briefs  # type: ignore[return-value]

    def _schema(self, batch: Batch, draft: SampleDraft, own: list[Block] | None, blocks: list[list[Block]]) -> Candidate:
        provenance = make_provenance(self.build_id, self.models.names["generator"], self.models.names["judge"],
                                     batch.wave + 1, datetime.now(UTC))
        try:
            if own is None:
                sample = to_sample(draft, batch.subtask, provenance)
            else:
                shown = {b.mid: b for item in blocks for b in item}
                sample = to_grounded_sample(draft, batch.subtask, provenance, own, shown)
        except CheckFailed as exc:
            return Candidate(batch.subtask, drop=("schema", str(exc)), question=draft.question)
        sample.metadata.update(batch=batch.label, wave=batch.wave)
        return Candidate(batch.subtask, sample=sample, question=draft.question)

    async def _check(self, candidate: Candidate) -> None:
        """The quality gate, or the single judge; sets the candidate's records and its drop, if any."""
        sample = candidate.sample
        assert sample is not None
        qc = self.options.qc
        try:
            result = await self._call(lambda: check_candidate(sample, self.spec, candidate.subtask, models=self.models,
                                                              options=qc, brief=candidate.brief, material=self.material))
        except StageFailed:
            result = GateResult(sample=None, records=[CheckRecord(sample_id=sample.id, check="judge", outcome="dropped",
                                                                  reasons=["no valid verdict"])])
        if result is None:
            candidate.unjudged = True
            return
        assert isinstance(result, GateResult)
        candidate.records = result.records
        dropped = result.dropped
        if result.sample is None or dropped is not None:
            check, reasons = (dropped.check, dropped.reasons) if dropped else ("judge", [])
            candidate.drop = (check, "; ".join(reasons) or f"failed the {check} check")
        else:
            keep: dict[str, object] = {k: sample.metadata[k] for k in ("batch", "wave", "units") if k in sample.metadata}
            result.sample.metadata.update(keep)
            candidate.sample = result.sample

    # -- decisions --------------------------------------------------------------------------------

    async def decide(self, batch: Batch, candidates: list[Candidate]) -> Counter[str]:
        counts = Counter({"generate:attempted": 1, f"generate:{'dropped' if failed_call(candidates) else 'passed'}": 1})
        async with self.store.accepting():  # check and store as one step for all builds of this memory scope
            return await self._decide(batch, candidates, counts)

    async def _decide(self, batch: Batch, candidates: list[Candidate], counts: Counter[str]) -> Counter[str]:
        duplicates = await self._duplicates([c.sample for c in candidates if c.sample is not None and c.drop is None])
        accepted: list[DedupItem] = []
        for candidate in candidates:
            check = candidate.drop[0] if candidate.drop else None
            if check != "parse":
                counts["schema:attempted"] += 1
                counts["schema:dropped" if check == "schema" else "schema:passed"] += 1
            for record in candidate.records:
                counts[f"{record.check}:attempted"] += 1
                counts[f"{record.check}:{'dropped' if record.outcome == 'dropped' else 'passed'}"] += 1
            self.ledger.record_checks(batch.label, candidate.records)
            if candidate.drop is not None:
                await self._drop(batch, candidate, *candidate.drop)
                continue
            counts.update(await self._accept_unless_duplicate(batch, candidate, duplicates, accepted))
        if accepted:  # one trip to the memory for the whole batch
            await asyncio.to_thread(self._remember, accepted, batch.subtask.id)
        return counts

    async def _duplicates(self, samples: list[Sample]) -> dict[str, Duplicate]:
        """For a batch's passing samples, in one go: what each duplicates in memory (this build's earlier
        batches and every earlier build) or earlier in the batch; keyed by the later sample's id."""
        unique = {s.id: s for s in reversed(samples)}  # a repeated id is caught against the ledger instead
        items = [dedup_item(s) for s in samples if unique.get(s.id) is s]
        found = {d.b: d for d in await self.dedup.against(items, self.store)}
        found.update({d.b: d for d in await self.dedup.within(items, skip=found)})
        return found

    def _remember(self, items: list[DedupItem], subtask_id: str) -> None:
        self.dedup.remember_all(items, self.store, build_id=self.build_id, subtask_id=subtask_id)

    async def _accept_unless_duplicate(self, batch: Batch, candidate: Candidate, duplicates: dict[str, Duplicate],
                                       accepted: list[DedupItem]) -> list[str]:
        subtask, sample = batch.subtask, candidate.sample
        assert sample is not None
        if self.ledger.count(subtask.id) >= subtask.quota:
            return ["surplus:attempted"]  # the quota filled up earlier
        if sample.id in self.ledger.ids():
            await self._drop(batch, candidate, "duplicate", "same question and answer as an accepted sample",
                             duplicate_of=sample.id)
            return ["duplicate:attempted", "duplicate:dropped"]
        # The question embedding found the candidates, the text check decided (memory/dedup.py).
        match = duplicates.get(sample.id)
        if match is not None:
            where = "this build" if match.build_id in (None, self.build_id) else "an earlier build"
            await self._drop(batch, candidate, "duplicate", f"duplicate of a sample accepted in {where}",
                             duplicate_of=match.a, similarity=match.score)
            return ["duplicate:attempted", "duplicate:dropped"]
        self.ledger.accept(sample)
        if self.early is not None:
            self.early.offer(sample)
        accepted.append(dedup_item(sample))
        done = self.ledger.count(subtask.id)
        await self.emit(stage="verify", kind="accepted", subtask_id=subtask.id, done=done, total=subtask.quota,
                        message=f"{subtask.name}: {done}/{subtask.quota} accepted")
        return ["duplicate:attempted", "duplicate:passed"]

    async def _drop(self, batch: Batch, candidate: Candidate, check: CheckName, reason: str, *,
                    duplicate_of: str | None = None, similarity: float | None = None) -> None:
        sample = candidate.sample
        self.ledger.drop(Drop(subtask_id=batch.subtask.id, check=check, reason=reason[:300],
                              sample_id=sample.id if sample else None,
                              question=sample.question if sample else candidate.question, duplicate_of=duplicate_of, similarity=similarity,
                              batch=batch.label, wave=batch.wave))
        repeats = f" ({sample.id} repeats {duplicate_of})" if sample and duplicate_of and duplicate_of != sample.id else ""
        await self.emit(stage="verify", kind="rejected", subtask_id=batch.subtask.id,
                        message=f"{check}: {reason[:120]}{repeats}")

    async def restore(self) -> None:
        """Load what earlier runs decided. The plan may have changed since (a short build's subtask relaxed or
        dropped): only samples of the plan's subtasks are remembered for de-duplication, and the undecided
        batches of a subtask no longer in it are closed (`close_dropped`)."""
        self.progress.load()
        loaded = self.ledger.load(set(self.progress.done))
        self.close_dropped()
        if self.early is not None:
            for sample in (s for s in loaded if s.subtask_id in self.subtasks):
                self.early.offer(sample)
        await asyncio.to_thread(self._restore_memory, [s for s in loaded if s.subtask_id in self.subtasks])

    def _restore_memory(self, kept: list[Sample]) -> None:
        items = [(s.subtask_id, dedup_item(s)) for s in kept]
        self.dedup.keep_only(items, self.store, build_id=self.build_id)
