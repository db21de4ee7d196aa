from __future__ import annotations

from typing import Any

import pytest

from tests.scripted import Script
from tests.tools.qc_fixtures import NUM, SPEC, make, with_solver
from tools.contracts import SampleDraft, SubtaskPlan
from tools.engine.budget import Price, cost_of
from tools.finish.panel import calibrate_difficulty, difficulty_report, panel_accuracy, to_harden

PLAN = SubtaskPlan(subtasks=[NUM])
TRUTH = {f"How many pens are in {n} boxes of 7 pens each, counted twice over?": str(14 * n) for n in range(1, 7)}
QUESTIONS = list(TRUTH)


def panelist(knows: set[str]) -> Script:
    """A panel model that answers the questions in `knows` correctly and the rest wrongly."""
    def answer(prompt: str) -> dict[str, Any]:
        question = next((q for q in [*TRUTH, *HARDER] if q in prompt), "")
        right = TRUTH.get(question) or HARDER.get(question, "0")
        return {"reasoning": "", "answer": right if question in knows else str(int(right) + 1)}
    return Script(submit_answer=[answer])


HARDER = {f"A crate has {n} boxes of 7 pens; 3 boxes are removed, then it is refilled to twice as many. How many pens?":
          str(14 * (n - 3) if n > 3 else 14) for n in range(10, 16)}


def samples(count: int) -> list[Any]:
    return [make(NUM, question=q, answer=TRUTH[q]) for q in QUESTIONS[:count]]


async def test_difficulty_and_separability_follow_the_panel_accuracies() -> None:
    items = samples(3)
    q1, q2, _ = (s.question for s in items)
    panel = {"a": panelist({q1, q2}).model(), "b": panelist({q1}).model(), "c": panelist({q1, q2}).model()}
    accuracy = await panel_accuracy(items, panel)
    report = difficulty_report(items, accuracy, names=list(panel))
    by_id = {i.sample_id: i for i in report.items}
    assert [by_id[s.id].difficulty for s in items] == [0.0, 0.0, 1.0]
    assert by_id[items[1].id].separability == pytest.approx(4 / 9) and by_id[items[0].id].separability == 0
    assert report.overall.accuracy == pytest.approx({"a": 2 / 3, "b": 1 / 3, "c": 2 / 3})
    assert report.overall.difficulty == pytest.approx(1 / 3) and report.overall.separability == pytest.approx(4 / 27)
    assert report.subtasks[0].subtask_id == "num" and report.overall.saturated == 1


async def test_a_saturated_item_is_chosen_for_hardening_only_when_the_benchmark_is_above_its_band() -> None:
    items = samples(4)
    everyone = set(QUESTIONS)
    panel = {"a": panelist(everyone).model(), "b": panelist({items[0].question}).model()}
    accuracy = await panel_accuracy(items, panel)
    easy = difficulty_report(items, accuracy, names=list(panel), band=(0.2, 0.5))
    assert easy.accuracy == pytest.approx(5 / 8) and easy.in_band is False
    assert to_harden(easy, items) == [items[0].id]  # the one item every panel model solves
    assert to_harden(difficulty_report(items, accuracy, names=list(panel), band=(0.2, 0.7)), items) == []


async def test_calibration_hardens_saturated_items_until_the_benchmark_lands_in_the_band() -> None:
    items = samples(4)
    harder = iter(HARDER.items())
    generator = Script(submit_samples=[lambda _: {"samples": [dict(zip(("question", "answer"), next(harder), strict=True))]}])
    strong, weak = set(QUESTIONS) | set(list(HARDER)[:2]), set(QUESTIONS)
    panel = {"strong": panelist(strong).model(), "weak": panelist(weak).model()}
    calibrated, report = await calibrate_difficulty(items, SPEC, PLAN, panel=panel, models=with_solver(generator),
                                                    band=(0.2, 0.6))
    assert report.in_band and 0.2 <= report.accuracy <= 0.6
    assert report.hardened >= 3 and len(calibrated) == 4
    assert sum("hardened_from" in s.metadata for s in calibrated) == report.hardened
    assert "Every model of a test panel answers" not in generator.calls["submit_samples"][0]  # instructions, not prompt
    assert "Gold answer: " in generator.calls["submit_samples"][0]


async def test_a_hardened_item_the_checks_reject_leaves_the_original_in_place() -> None:
    items = samples(2)
    generator = Script(submit_samples=[{"samples": [{"question": "A harder question about pens and boxes?", "answer": "3"}]}])
    seen: list[tuple[SampleDraft, str]] = []

    async def admit(draft: SampleDraft, subtask: Any, replaced: Any) -> None:
        seen.append((draft, replaced.id))
        return None

    panel = {"a": panelist(set(QUESTIONS)).model()}
    calibrated, report = await calibrate_difficulty(items, SPEC, PLAN, panel=panel, models=with_solver(generator),
                                                    band=(0.2, 0.6), admit=admit, max_rounds=1)
    assert calibrated == items and report.hardened == 0 and report.hardening_failed == 2
    assert {rid for _, rid in seen} == {s.id for s in items}
    assert report.notes and "above the target band" in report.notes[0]


async def test_a_panels_tokens_are_priced_as_its_own_models_so_the_reported_cost_covers_them() -> None:
    items = samples(2)
    panel = {"openai:panel-a": panelist(set(QUESTIONS)).model(), "openai:panel-b": panelist(set()).model()}
    models = with_solver(Script())
    await panel_accuracy(items, panel, models=models)
    a, b = models.usage["panel:openai:panel-a"], models.usage["panel:openai:panel-b"]
    assert a.requests == b.requests == 2 and a.input_tokens > 0
    prices = {"function:script": Price(0.0, 0.0), "openai:panel-a": Price(1.0, 2.0), "openai:panel-b": Price(3.0, 4.0)}
    cost = cost_of(models.usage, models.names, prices)
    assert cost is not None and cost > 0
    assert cost == pytest.approx(Price(1.0, 2.0).cost(a) + Price(3.0, 4.0).cost(b))
    assert cost_of(models.usage, models.names, {"function:script": Price(0.0, 0.0)}) is None, "an unpriced panel model"
