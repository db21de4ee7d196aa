"""A build that fell short: keep what the short subtask has, or drop it, and the same build finishes.

The generator writes the 'Mixed operations' items with a marker word; the judge rejects them, except
the first `keep` ones, so that subtask runs out of attempts with `keep` of its 2 samples.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.flow import SHORTFALL, allowed_tools
from assistant.render import card_buttons, state_view
from assistant.session import BuildSummary, ThreadState
from assistant.shortfall import read_choice, shortfall_step
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.assistant.test_conversation import Chat
from tests.scripted import Script
from tests.tools.samples import ACCEPT, SPEC_CLEAR, SUBTASKS, batch_for
from tools.contracts import BenchmarkSpec, Subtask, SubtaskOutcome, SubtaskPlan

MARK = "Altogether,"
REJECT = {"verdict": "reject", "reasons": ["two options are correct"]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as opened:
        yield opened


def _script(keep: int) -> Script:
    lock, kept = threading.Lock(), [0]

    def generate(prompt: str) -> dict[str, Any]:
        batch = batch_for(prompt)
        if "Subtask: Mixed operations" in prompt:
            batch["samples"] = [{**s, "question": f"{MARK} {s['question']}"} for s in batch["samples"]]
        return batch

    def judge(prompt: str) -> dict[str, Any]:
        if MARK not in prompt:
            return ACCEPT
        with lock:
            kept[0] += 1
            return ACCEPT if kept[0] <= keep else REJECT

    return Script(submit_spec=[SPEC_CLEAR], submit_subtasks=[SUBTASKS], submit_samples=[generate],
                  submit_verdict=[judge])


async def _short_build(tmp_path: Path, store: SampleStore, keep: int, *turns: str) -> Chat:
    chat = Chat(tmp_path, store, _script(keep), "analyze_request", "design_plan", "build_benchmark", *turns)
    await chat.say("6 arithmetic word problems")
    await chat.say("go")
    await chat.say("go")
    state = chat.deps.state
    assert state.phase == "built" and state.build is not None and state.build.status == "short", state.build
    assert [(o.subtask_id, o.accepted, o.quota) for o in state.build.shortfalls] == [("mixed-operations", keep, 2)]
    return chat


def _rows(directory: str) -> list[dict[str, Any]]:
    lines = (Path(directory) / "benchmark.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


async def test_keeping_what_a_short_subtask_has_finishes_the_same_build_without_generating(
        tmp_path: Path, store: SampleStore) -> None:
    chat = await _short_build(tmp_path, store, 1)
    state, short = chat.deps.state, chat.deps.state.build
    assert short is not None
    before = {name: len(prompts) for name, prompts in chat.script.calls.items()}
    first_rows = _rows(short.directory)

    reply = await shortfall_step(chat.deps, "mixed-operations", "relax")

    build = state.build
    assert build is not None and build.status == "complete", reply
    assert (build.build_id, build.directory) == (short.build_id, short.directory), "the same build, not a new one"
    assert build.accepted == build.requested == 5 and state.plan.total == 5 and state.spec.size == 5  # type: ignore[union-attr]
    assert {s.id: s.quota for s in state.plan.subtasks} == {"addition-chains": 4, "mixed-operations": 1}  # type: ignore[union-attr]
    assert {name: len(prompts) for name, prompts in chat.script.calls.items()} == before, "no model call at all"
    assert sorted(r["id"] for r in _rows(build.directory)) == sorted(r["id"] for r in first_rows)
    assert state.version is not None and state.version.note.startswith("relaxed after a short build")
    assert "'Mixed operations': 2 → 1 samples" in reply and "total: 6 → 5 samples" in reply
    assert not build.shortfalls and card_buttons(state) == []


async def test_dropping_a_short_subtask_refills_the_others_in_the_same_build(tmp_path: Path, store: SampleStore) -> None:
    chat = await _short_build(tmp_path, store, 1)
    state, short = chat.deps.state, chat.deps.state.build
    assert short is not None
    kept = [r["id"] for r in _rows(short.directory) if r["subtask"] == "addition-chains"]
    generated = len(chat.script.calls["submit_samples"])

    reply = await shortfall_step(chat.deps, "mixed-operations", "drop")

    build = state.build
    assert build is not None and build.status == "complete", reply
    assert (build.build_id, build.directory) == (short.build_id, short.directory)
    assert build.accepted == build.requested == 6 and [s.id for s in state.plan.subtasks] == ["addition-chains"]  # type: ignore[union-attr]
    rows = _rows(build.directory)
    assert {r["subtask"] for r in rows} == {"addition-chains"} and not any(MARK in r["question"] for r in rows)
    assert [r["id"] for r in rows][:4] == kept, "what was accepted before is kept, with the same ids"
    new_prompts = chat.script.calls["submit_samples"][generated:]
    assert new_prompts and all("Subtask: Addition chains" in p for p in new_prompts)
    assert sum(int(p.split("Number of samples: ")[1].split()[0]) for p in new_prompts) <= 4, "only what is missing"
    assert state.version is not None and state.version.note.startswith("dropped after a short build")
    report = json.loads((Path(build.directory) / "report.json").read_text())
    assert report["status"] == "complete" and [s["subtask_id"] for s in report["subtasks"]] == ["addition-chains"]
    assert store.count(build.build_id) == 6, "the dropped subtask's sample is no longer remembered for de-duplication"


async def test_saying_keep_what_it_has_reaches_the_same_step(tmp_path: Path, store: SampleStore) -> None:
    chat = await _short_build(tmp_path, store, 1, SHORTFALL)
    before = len(chat.script.calls["submit_samples"])
    directory = chat.deps.state.build.directory  # type: ignore[union-attr]

    await chat.say("ok, keep what mixed operations has")

    assert chat.offered[-2] == [SHORTFALL], "the message narrows the tools to the shortfall step"
    build = chat.deps.state.build
    assert build is not None and build.status == "complete" and build.directory == directory
    assert build.accepted == 5 and len(chat.script.calls["submit_samples"]) == before


async def test_a_short_subtask_with_nothing_accepted_can_only_be_dropped(tmp_path: Path, store: SampleStore) -> None:
    chat = await _short_build(tmp_path, store, 0)
    state = chat.deps.state
    assert [(label, payload["choice"]) for _, label, payload in card_buttons(state)] == [
        ("Drop Mixed operations", "drop")]
    reply = await shortfall_step(chat.deps, "mixed-operations", "relax")
    assert "only be dropped" in reply and state.build.status == "short" and state.version.number == 1  # type: ignore[union-attr]


# --- what the card offers, and how words are read ----------------------------------------------

_SPEC = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=12)


def _state(quotas: dict[str, int], accepted: dict[str, int], status: str = "short") -> ThreadState:
    plan = SubtaskPlan(subtasks=[Subtask(id=i, name=i.capitalize(), description="d", answer_format="numeric", quota=q)
                                 for i, q in quotas.items()])
    state = ThreadState(thread_id="t")
    state.commit(plan, _SPEC.model_copy(update={"size": plan.total}), "designed", [])
    outcomes = [SubtaskOutcome(subtask_id=i, quota=quotas[i], accepted=n, rounds=3, top_drop_reasons=[f"judge: bad {i}"])
                for i, n in accepted.items()]
    state.phase = "built"
    state.build = BuildSummary(build_id="b", directory="/nowhere", status=status, accepted=sum(accepted.values()),  # type: ignore[arg-type]
                               requested=plan.total, shortfalls=[o for o in outcomes if o.short])
    return state


def test_buttons_are_offered_only_for_short_subtasks_and_only_where_they_can_work() -> None:
    state = _state({"fractions": 4, "decimals": 4, "ratios": 4}, {"fractions": 4, "decimals": 2, "ratios": 0})
    buttons = card_buttons(state)
    assert [(label, p["subtask"], p["choice"]) for name, label, p in buttons if name == "shortfall"] == [
        ("Decimals: keep the 2 it has", "decimals", "relax"), ("Drop Decimals", "decimals", "drop"),
        ("Drop Ratios", "ratios", "drop")]
    assert all(p["phase"] == "built" and p["version"] == 1 for _, _, p in buttons), "stale buttons are refused"
    view = state_view(state)
    assert "**Fell short**" in view and "- Decimals: 2 of 4. Most frequent drop reasons: judge: bad decimals" in view
    assert "Fractions:" not in view.split("**Fell short**")[1]

    alone = _state({"fractions": 4}, {"fractions": 3})
    assert [label for _, label, _ in card_buttons(alone)] == ["Fractions: keep the 3 it has"]
    assert card_buttons(_state({"fractions": 4}, {"fractions": 4}, status="complete")) == []
    assert "Fell short" not in state_view(_state({"fractions": 4}, {"fractions": 4}, status="complete"))


def test_short_build_words_narrow_to_the_shortfall_step_and_name_the_subtask() -> None:
    assert allowed_tools("built", "drop the fractions subtask", short_build=True) == (SHORTFALL,)
    assert allowed_tools("built", "relax fractions", short_build=True) == (SHORTFALL,)
    assert allowed_tools("built", "now 30 geography questions", short_build=True) == ("analyze_request", SHORTFALL,
                                                                                    "evaluate_models", "refresh_benchmark",
                                                                                    "publish_benchmark")
    assert allowed_tools("built", "drop the fractions subtask") == ("analyze_request", "evaluate_models",
                                                                    "refresh_benchmark", "publish_benchmark"), \
        "only after a short build"

    state = _state({"fractions": 4, "decimals": 4, "ratios": 4}, {"fractions": 1, "decimals": 2, "ratios": 4})
    assert read_choice("drop the fractions subtask", state) == ("fractions", "drop")
    assert read_choice("keep what decimals has", state) == ("decimals", "relax")
    assert read_choice("relax 2", state) == ("decimals", "relax")
    assert read_choice("Keep the 2 decimals has.", state) == ("decimals", "relax")
    assert read_choice("drop fractions, keep the rest", state) == ("fractions", "drop")
    assert "Which subtask?" in read_choice("keep what it has", state)  # type: ignore[operator]
    # A negated word is not the choice: "don't drop" asks for nothing, or for the other choice when it is named.
    assert read_choice("don't drop fractions, keep what it has", state) == ("fractions", "relax")
    assert read_choice("do not remove decimals; relax it", state) == ("decimals", "relax")
    assert read_choice("I'd rather not keep fractions, drop it", state) == ("fractions", "drop")
    assert "Say which" in read_choice("don't drop fractions", state)  # type: ignore[operator]
    assert "could not tell" in read_choice("drop geometry", state)  # type: ignore[operator]
    one = _state({"fractions": 4, "decimals": 4}, {"fractions": 1, "decimals": 4})
    assert read_choice("keep the 1 it has", one) == ("fractions", "relax")


async def test_a_short_builds_summary_gives_each_warning_as_a_sentence_of_its_own(
        tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(1), "analyze_request", "design_plan", "build_benchmark")
    await chat.say("6 arithmetic word problems")
    await chat.say("go")
    reply = await chat.say("go")
    build = chat.deps.state.build
    assert build is not None and build.status == "short" and build.message, build
    assert "It fell short. " in reply, reply
    for text in (reply, build.message):
        assert ".;" not in text and ". ." not in text and ".." not in text.replace("...", ""), text
