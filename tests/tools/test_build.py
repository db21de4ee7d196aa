from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory.embeddings import HashEmbedder
from memory.files import read_jsonl
from memory.store import SampleStore
from tests.scripted import Script, stage_models
from tests.tools.samples import ACCEPT, arithmetic_item, batch_for
from tools.contracts import BenchmarkSpec, BuildEvent, Subtask, SubtaskPlan
from tools.engine.batches import BuildOptions
from tools.engine.build import run_build

SPEC = BenchmarkSpec(goal="arithmetic", capability="arithmetic", domain="word problems",
                     answer_format="multiple_choice", size=6)
PLAN = SubtaskPlan(subtasks=[
    Subtask(id="adding", name="Adding", description="d", answer_format="multiple_choice", quota=4),
    Subtask(id="mixing", name="Mixing", description="d", answer_format="multiple_choice", quota=2),
])
OPTIONS = BuildOptions(batch_size=4, max_rounds_per_sample=3, dedup_threshold=0.95)


async def _build(tmp_path: Path, store: SampleStore, generator: Script, judge: Script | None = None, **kw):  # type: ignore[no-untyped-def]
    events: list[BuildEvent] = []
    samples, report = await run_build(SPEC, PLAN, build_id="b1", models=stage_models(generator, judge), store=store,
                                      directory=tmp_path / "out", options=kw.get("options", OPTIONS), on_event=events.append)
    return samples, report, events


async def test_build_meets_every_quota_and_checkpoints_each_accepted_sample(tmp_path: Path, store: SampleStore) -> None:
    samples, report, events = await _build(tmp_path, store, Script(submit_samples=[batch_for], submit_verdict=[ACCEPT]))
    assert report.status == "complete" and report.accepted == 6
    assert [s.subtask_id for s in samples] == ["adding"] * 4 + ["mixing"] * 2
    saved = list(read_jsonl(tmp_path / "out" / "checkpoints" / "accepted.jsonl"))
    assert [r["id"] for r in saved] == [s.id for s in samples]
    assert events[-1].kind == "finished" and sum(e.kind == "accepted" for e in events) == 6
    assert store.count("b1") == 6


async def test_judge_rejections_are_replenished_and_reported(tmp_path: Path, store: SampleStore) -> None:
    reject = {"verdict": "reject", "reasons": ["two options are correct"]}
    judge = Script(submit_verdict=[reject, ACCEPT, reject, ACCEPT])
    samples, report, events = await _build(tmp_path, store, Script(submit_samples=[batch_for]), judge)
    assert report.status == "complete" and len(samples) == 6
    assert report.drop_reasons == {"judge: two options are correct": 2}
    assert any(e.kind == "replenishing" for e in events)
    generation_prompts = " ".join(judge.calls["submit_verdict"])
    assert "Proposed answer" in generation_prompts


async def test_rejection_reasons_reach_the_generator_prompt(tmp_path: Path, store: SampleStore) -> None:
    generator = Script(submit_samples=[batch_for])
    judge = Script(submit_verdict=[{"verdict": "reject", "reasons": ["answer leaked in the question"]}] * 6 + [ACCEPT])
    await _build(tmp_path, store, generator, judge)
    prompts = generator.calls["submit_samples"]
    first, later = prompts[:2], prompts[2:]  # batches planned before any decision, then replacements
    assert later and not any("answer leaked" in p for p in first)
    assert any("Lessons from rejected samples: answer leaked in the question" in p for p in later)


async def test_duplicates_are_dropped_and_named(tmp_path: Path, store: SampleStore) -> None:
    item = arithmetic_item("multiple_choice")
    reworded = {**item, "question": item["question"].replace("How many", "how many")}
    generator = Script(submit_samples=[{"samples": [item, reworded]}, batch_for])
    samples, report, _ = await _build(tmp_path, store, generator, Script(submit_verdict=[ACCEPT]))
    dup = [d for d in report.drops if d.check == "duplicate"]
    # Both subtasks' first batches are in flight at once, so either may get the scripted pair.
    original = [s.id for s in samples if s.question.casefold() == item["question"].casefold()]
    assert len(dup) == 1 and len(original) == 1 and dup[0].duplicate_of == original[0]
    assert report.accepted == 6


async def test_malformed_generator_output_is_a_drop_not_a_crash(tmp_path: Path, store: SampleStore) -> None:
    def answer(prompt: str) -> str | dict:  # type: ignore[type-arg]
        return '{"samples": [{"question": "cut' if "Batch: adding/batch 1 " in prompt else batch_for(prompt)

    generator = Script(submit_samples=[answer])
    samples, report, _ = await _build(tmp_path, store, generator, Script(submit_verdict=[ACCEPT]))
    assert report.accepted == 6
    assert report.drop_reasons.get("parse: The generator model 'function:script' gave no valid output for generation for adding after retries", 0) >= 1


async def test_a_subtask_that_cannot_be_filled_stops_at_its_limit_and_says_why(tmp_path: Path, store: SampleStore) -> None:
    reject = {"verdict": "reject", "reasons": ["wrong answer"]}
    options = BuildOptions(batch_size=4, max_rounds_per_sample=1, dedup_threshold=0.95)
    samples, report, _ = await _build(tmp_path, store, Script(submit_samples=[batch_for]), Script(submit_verdict=[reject]),
                                      options=options)
    assert report.status == "short" and samples == []
    assert all(o.accepted == 0 and o.rounds >= 1 for o in report.subtasks)
    # quota 4 and 2 at one candidate per sample: at most quota + 1 candidates each, then it stops
    assert [sum(d.subtask_id == s for d in report.drops) for s in ("adding", "mixing")] == [5, 3]
    assert any("adding is 4 short of 4: judge: wrong answer" in w for w in report.warnings)


async def test_rerun_over_the_same_directory_keeps_what_was_accepted(tmp_path: Path, store: SampleStore) -> None:
    first, _, _ = await _build(tmp_path, store, Script(submit_samples=[batch_for], submit_verdict=[ACCEPT]))
    generator = Script(submit_samples=[batch_for], submit_verdict=[ACCEPT])
    again, report, _ = await _build(tmp_path, store, generator)
    assert [s.id for s in again] == [s.id for s in first]
    assert generator.calls == {}
    assert len(list(read_jsonl(tmp_path / "out" / "checkpoints" / "accepted.jsonl"))) == 6
    assert json.loads((tmp_path / "out" / "checkpoints" / "plan.json").read_text())["subtasks"][0]["quota"] == 4


async def test_a_resumed_build_keeps_its_remembered_samples_without_embedding_them_again(
        tmp_path: Path, store: SampleStore) -> None:
    await _build(tmp_path, store, Script(submit_samples=[batch_for], submit_verdict=[ACCEPT]))
    # An entry of a batch that was never decided (a build killed after remembering, before its done marker).
    store.add("stray", "Question: undecided", build_id="b1", subtask_id="adding")
    embedder = store.embedder
    assert isinstance(embedder, HashEmbedder)
    embedded = embedder.calls
    await _build(tmp_path, store, Script(submit_samples=[batch_for], submit_verdict=[ACCEPT]))
    assert embedder.calls == embedded, "the decided samples are in the memory already"
    assert store.count("b1") == 6 and "stray" not in store.build_ids("b1")


async def test_no_checkpoint_write_waits_on_the_disk_in_the_event_loop(tmp_path: Path, store: SampleStore,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import threading

    on_loop: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if threading.current_thread() is threading.main_thread():
            on_loop.append(fd)
        real_fsync(fd)

    monkeypatch.setattr("memory.files.os.fsync", fsync)
    samples, report, _ = await _build(tmp_path, store, Script(submit_samples=[batch_for], submit_verdict=[ACCEPT]))
    assert report.accepted == 6 and len(list(read_jsonl(tmp_path / "out" / "checkpoints" / "accepted.jsonl"))) == 6
    assert on_loop == []


async def test_without_the_inspector_the_gate_is_followed_by_one_judge_verdict(tmp_path: Path, store: SampleStore) -> None:
    from tools.qc.gate import QCOptions

    light = BuildOptions(batch_size=4, max_rounds_per_sample=1.5, dedup_threshold=0.95,
                         qc=QCOptions(inspect=False, repair=False, resolve=False))
    reject = {"verdict": "reject", "reasons": ["ambiguous"]}
    samples, report, _ = await _build(tmp_path, store, Script(submit_samples=[batch_for]),
                                      Script(submit_verdict=[reject, ACCEPT]), options=light)
    checks = {c.stage for c in report.stages}
    assert {"leakage", "judge"} <= checks and "inspector" not in checks
    assert report.drop_reasons.get("judge: ambiguous") == 1 and len(samples) == 6


@pytest.mark.parametrize("open_batches", [["mixing"], ["adding", "mixing", "adding"]])
async def test_a_build_resumed_with_a_subtask_dropped_keeps_the_rest_and_closes_its_open_batches(
        tmp_path: Path, store: SampleStore, open_batches: list[str]) -> None:
    from memory.files import append_jsonl

    first, _, _ = await _build(tmp_path, store, Script(submit_samples=[batch_for], submit_verdict=[ACCEPT]))
    checkpoints = tmp_path / "out" / "checkpoints"
    # Batches planned but never decided, as a stopped build leaves them; then 'mixing' is dropped from the plan.
    planned = len([r for r in read_jsonl(checkpoints / "progress.jsonl") if "batch" in r])
    append_jsonl(checkpoints / "progress.jsonl", [
        {"batch": {"subtask": sub, "label": f"{sub}/batch {planned + i + 1}", "count": 1, "basis": planned}}
        for i, sub in enumerate(open_batches)])
    only = SubtaskPlan(subtasks=[PLAN.subtasks[0].model_copy(update={"quota": 6})])
    generator = Script(submit_samples=[batch_for], submit_verdict=[ACCEPT])
    samples, report = await run_build(SPEC, only, build_id="b1", models=stage_models(generator), store=store,
                                      directory=tmp_path / "out", options=OPTIONS)
    assert report.status == "complete" and [s.subtask_id for s in samples] == ["adding"] * 6
    assert [s.id for s in samples[:4]] == [s.id for s in first if s.subtask_id == "adding"]
    assert all("Subtask: Adding" in p for p in generator.calls["submit_samples"])
    done = [r["done"] for r in read_jsonl(checkpoints / "progress.jsonl") if "done" in r]
    assert f"mixing/batch {planned + open_batches.index('mixing') + 1}" in done
    assert store.count("b1") == 6, "only samples of subtasks still in the plan are remembered"


async def test_every_batch_asks_for_design_briefs_of_its_own(tmp_path: Path, store: SampleStore) -> None:
    brief = {"facts": ["all numbers are in the question"], "hops": ["add", "subtract"], "difficulty_plan": "two steps"}
    generator = Script(submit_briefs=[{"briefs": [brief] * 4}], submit_samples=[batch_for])
    options = BuildOptions(batch_size=2, max_rounds_per_sample=3, dedup_threshold=0.95, briefs=True)
    _, report, _ = await _build(tmp_path, store, generator, Script(submit_verdict=[ACCEPT]), options=options)
    prompts = generator.calls["submit_briefs"]
    # Batches planned from the same decisions must still differ, or the call cache would repeat one's briefs.
    batches = next(c.attempted for c in report.stages if c.stage == "generate")
    assert report.accepted == 6 and batches >= 3 and len(prompts) == batches and len(set(prompts)) == batches


async def test_subtasks_fill_together_not_one_after_another(tmp_path: Path, store: SampleStore) -> None:
    options = BuildOptions(batch_size=1, max_rounds_per_sample=3, dedup_threshold=0.95)
    await _build(tmp_path, store, Script(submit_samples=[batch_for]), Script(submit_verdict=[ACCEPT]), options=options)
    planned = [r["batch"]["subtask"] for r in read_jsonl(tmp_path / "out" / "checkpoints" / "progress.jsonl") if "batch" in r]
    # The least covered subtask goes next: a build stopped early holds some of each, and their tails overlap.
    assert planned[:3] == ["adding", "mixing", "adding"], planned
