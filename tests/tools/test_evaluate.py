"""Evaluating models on a finished benchmark: exact accuracies and Wilson intervals, rank agreement, history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tests.tools.test_harness_exports import PROVENANCE
from tools.contracts import Sample
from tools.errors import InvalidRequest
from tools.finish.evaluate import EVALUATIONS, describe, evaluate_models, latest, rank_agreement, save, wilson_interval
from tools.llm.stage import StageModels

QUESTIONS = [f"Item {n}: what is {n} + {n}?" for n in range(1, 6)]
SAMPLES = [Sample(id=f"sums-{n:012d}", subtask_id="sums" if n <= 3 else "more", answer_format="multiple_choice",
                  question=q, choices=[str(2 * n + 1), str(2 * n), str(2 * n - 1)], answer=str(2 * n), answer_index=1,
                  provenance=PROVENANCE) for n, q in enumerate(QUESTIONS, start=1)]


def answering(right_on: set[int]) -> FunctionModel:
    """A model that picks the correct letter (B) for the items numbered in `right_on`, and C otherwise."""

    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = str(messages[-1].parts[-1].content)  # type: ignore[union-attr]
        number = int(re.search(r"Item (\d+):", prompt).group(1))  # type: ignore[union-attr]
        letter = "B" if number in right_on else "C"
        return ModelResponse(parts=[ToolCallPart("submit_answer", {"reasoning": "", "answer": letter})])

    return FunctionModel(reply)


MODELS = {"strong": answering({1, 2, 3, 4}), "middle": answering({1, 2}), "weak": answering(set())}


async def test_each_model_gets_its_exact_accuracy_wilson_interval_and_subtask_scores() -> None:
    usage = StageModels(models={}, names={})
    board = await evaluate_models(SAMPLES, MODELS, build_id="b1", usage=usage, concurrency=2,
                                  expected_order=["strong", "middle", "weak"])
    scores = {s.model: s for s in board.scores}
    assert [s.model for s in board.scores] == ["strong", "middle", "weak"]
    assert (scores["strong"].correct, scores["middle"].correct, scores["weak"].correct) == (4, 2, 0)
    # Published 95 % Wilson intervals for 4/5, 2/5 and 0/5.
    assert scores["strong"].interval == pytest.approx((0.3755, 0.9638), abs=1e-3)
    assert scores["middle"].interval == pytest.approx((0.1176, 0.7693), abs=1e-3)
    assert scores["weak"].interval == pytest.approx((0.0, 0.4345), abs=1e-3)
    assert scores["middle"].subtasks == {"sums": pytest.approx(2 / 3), "more": 0.0}
    assert board.unsolved == [SAMPLES[4].id] and board.difficulty == pytest.approx(0.2)
    assert board.consistency is not None and board.consistency.spearman == 1.0 and board.consistency.kendall == 1.0
    assert sum(u.requests for u in usage.usage.values()) == 15, "every model answered every item once"


def test_a_reversed_expectation_gives_a_negative_correlation_and_an_unknown_model_a_message() -> None:
    reversed_order = rank_agreement(["weak", "middle", "strong"], {"strong": 0.8, "middle": 0.4, "weak": 0.0})
    assert reversed_order.spearman == -1.0 and reversed_order.kendall == -1.0
    assert rank_agreement(["a", "b"], {"a": 0.5, "b": 0.5}).spearman is None  # all tied: undefined, not 0
    with pytest.raises(InvalidRequest, match="were not evaluated"):
        rank_agreement(["strong", "gpt-9"], {"strong": 1.0})


def test_the_interval_of_nothing_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


async def test_a_later_evaluation_is_kept_beside_the_first_and_shows_how_models_moved(tmp_path: Path) -> None:
    first = await evaluate_models(SAMPLES, {"middle": MODELS["middle"]}, build_id="b1")
    save(first, tmp_path)
    improved = await evaluate_models(SAMPLES, {"middle": answering({1, 2, 3})}, build_id="b1", previous=latest(tmp_path))
    save(improved, tmp_path)
    assert len(list((tmp_path / EVALUATIONS).glob("*.json"))) == 2
    board = latest(tmp_path)
    assert board is not None and board.scores[0].previous == 0.4 and board.scores[0].accuracy == 0.6
    assert board.previous_at == first.created_at
    assert "| middle | 60% (3/5) |" in describe(board) and "+20%" in describe(board)


async def test_nothing_to_evaluate_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="at least one model"):
        await evaluate_models(SAMPLES, {}, build_id="b1")


def counting(right_on: set[int]) -> tuple[FunctionModel, list[int]]:
    """`answering`, also counting the requests that reach it."""
    calls: list[int] = []
    inner = answering(right_on)

    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        calls.append(1)
        return inner.function(messages, info)  # type: ignore[misc]

    return FunctionModel(reply), calls


async def test_an_evaluation_stops_at_its_token_budget_and_a_rerun_asks_only_what_is_missing(tmp_path: Path) -> None:
    from tools.engine.budget import Budget
    from tools.errors import BudgetReached

    model, calls = counting({1, 2})
    with pytest.raises(BudgetReached, match=r"token budget reached .* after 1 of 5 answers.*kept"):
        await evaluate_models(SAMPLES, {"middle": model}, build_id="b1", concurrency=1,
                              budget=Budget(max_tokens=1), directory=tmp_path)
    assert len(calls) == 1
    board = await evaluate_models(SAMPLES, {"middle": model}, build_id="b1", concurrency=1, directory=tmp_path)
    assert len(calls) == 5  # the first answer came from the kept calls
    assert board.scores[0].correct == 2


async def test_a_dollar_budget_for_a_model_without_a_price_is_refused_before_any_call() -> None:
    from tools.engine.budget import Budget

    model, calls = counting(set())
    with pytest.raises(InvalidRequest, match="BENCHMARK_AGENT_PRICES"):
        await evaluate_models(SAMPLES, {"openai:my-local": model}, build_id="b1", budget=Budget(max_cost=1.0))
    assert not calls


CODE = Sample(id="code-000000000001", subtask_id="code", answer_format="short_answer", question="Write add(a, b).",
              answer="def add(a, b):\n    return a + b", provenance=PROVENANCE,
              metadata={"kind": "code", "entry_point": "add", "tests": "assert add(2, 3) == 5\nassert add(-1, 1) == 0"})
OPEN = Sample(id="open-000000000001", subtask_id="open", answer_format="short_answer",
              question="Which gas do plants take in for photosynthesis?", answer="carbon dioxide", provenance=PROVENANCE)


def replying(answer: str) -> FunctionModel:
    return FunctionModel(lambda messages, info: ModelResponse(
        parts=[ToolCallPart("submit_answer", {"reasoning": "", "answer": answer})]))


def grading(correct: bool, seen: list[str]) -> FunctionModel:
    def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(str(messages[-1].parts[-1].content))  # type: ignore[union-attr]
        return ModelResponse(parts=[ToolCallPart("submit_grade", {"correct": correct, "reason": "scripted"})])

    return FunctionModel(reply)


async def test_a_code_answer_is_scored_by_running_the_items_tests_in_the_sandbox() -> None:
    models = {"right": replying("```python\ndef add(a, b):\n    return b + a\n```"),
              "wrong": replying("```python\ndef add(a, b):\n    return a - b\n```"),
              "prose": replying("Add the two numbers.")}
    board = await evaluate_models([CODE], models, build_id="b1", usage=StageModels(models={}, names={}))
    assert {s.model: s.correct for s in board.scores} == {"right": 1, "wrong": 0, "prose": 0}


@pytest.mark.parametrize("judged_correct", [True, False])
async def test_an_open_answer_in_other_words_is_graded_by_the_judge_with_the_rubric(judged_correct: bool) -> None:
    seen: list[str] = []
    judge = StageModels(models={"judge": grading(judged_correct, seen)}, names={"judge": "function:judge"})
    models = {"worded": replying("CO2, taken in through the stomata"), "exact": replying("Carbon dioxide")}
    board = await evaluate_models([OPEN], models, build_id="b1", usage=judge)
    assert {s.model: s.correct for s in board.scores} == {"worded": int(judged_correct), "exact": 1}
    assert len(seen) == 1, "only the answer that is not the gold one is graded"
    assert "Reference answer: carbon dioxide" in seen[0] and "Candidate answer: CO2" in seen[0]


async def test_without_a_judge_an_open_answer_counts_only_when_it_is_the_gold_answer() -> None:
    models = {"worded": replying("CO2, taken in through the stomata"), "exact": replying("the carbon dioxide")}
    board = await evaluate_models([OPEN], models, build_id="b1", usage=StageModels(models={}, names={}))
    assert {s.model: s.correct for s in board.scores} == {"worded": 0, "exact": 1}


async def test_scores_on_a_reference_benchmark_are_rank_correlated_with_ours() -> None:
    board = await evaluate_models(SAMPLES, MODELS, build_id="b1", usage=StageModels(models={}, names={}),
                                  reference={"strong": 88.0, "middle": 61.5, "weak": 40.0})
    c = board.consistency
    assert c is not None and c.spearman == pytest.approx(1.0) and c.kendall == pytest.approx(1.0)
    assert c.expected == ["strong", "middle", "weak"] and c.reference == {"strong": 88.0, "middle": 61.5, "weak": 40.0}
    assert "their scores on the reference benchmark (strong 88, middle 61.5, weak 40; 3 models)" in describe(board)
    flipped = await evaluate_models(SAMPLES, MODELS, build_id="b1", usage=StageModels(models={}, names={}),
                                    reference={"strong": 10.0, "middle": 20.0, "weak": 30.0})
    assert flipped.consistency is not None and flipped.consistency.spearman == pytest.approx(-1.0)


def test_reference_scores_are_read_as_model_equals_score_and_a_bad_entry_is_named() -> None:
    from assistant.commands.evaluate import reference_scores

    assert reference_scores("openai:a=71.2, openai:llama3.1:8b=64") == {"openai:a": 71.2, "openai:llama3.1:8b": 64.0}
    with pytest.raises(InvalidRequest, match="'openai:b' is not MODEL=SCORE"):
        reference_scores("openai:a=71.2,openai:b")


async def test_a_dollar_budget_with_an_unpriced_judge_is_refused_before_any_call() -> None:
    from tools.engine.budget import Budget, Price

    seen: list[str] = []
    model, calls = counting(set())
    judge = StageModels(models={"judge": grading(True, seen)}, names={"judge": "openai:my-judge"})
    with pytest.raises(InvalidRequest, match="price of openai:my-judge is unknown"):
        await evaluate_models([OPEN], {"openai:a": model}, build_id="b1", usage=judge, budget=Budget(max_cost=1.0),
                              prices={"openai:a": Price(1.0, 1.0)})
    assert not calls and not seen


async def _answer_tokens(samples: list[Sample], models: dict[str, FunctionModel]) -> int:
    """What answering alone costs (no judge)."""
    usage = StageModels(models={}, names={})
    await evaluate_models(samples, models, build_id="b1", usage=usage)
    return sum(u.input_tokens + u.output_tokens for u in usage.usage.values())


async def test_grading_stopped_by_the_budget_leaves_its_items_out_and_names_them() -> None:
    from tools.engine.budget import Budget
    from tools.errors import BudgetReached

    seen: list[str] = []
    judge = StageModels(models={"judge": grading(True, seen)}, names={"judge": "function:judge"})
    models = {"worded": replying("CO2, taken in through the stomata")}
    items = [OPEN, *SAMPLES[:1]]
    board = await evaluate_models(items, models, build_id="b1", usage=judge, concurrency=1,
                                  budget=Budget(max_tokens=await _answer_tokens(items, models)))  # no room to grade
    assert not seen and board.ungraded == {"worded": [OPEN.id]} and board.items == 1
    assert board.scores[0].correct == 0 and board.scores[0].items == 1, "the open item is out, not wrong"
    assert "1 item is left out of every score (not counted wrong)" in describe(board) and OPEN.id in describe(board)
    with pytest.raises(BudgetReached, match="before any item was graded for every model"):
        await evaluate_models([OPEN], models, build_id="b1", usage=judge,
                              budget=Budget(max_tokens=await _answer_tokens([OPEN], models)))
    board = await evaluate_models(items, models, build_id="b1", usage=judge, budget=Budget(max_tokens=10**6))
    assert len(seen) == 1 and board.ungraded == {} and board.scores[0].correct == 1
    assert judge.usage["judge"].requests == 1, "the grading call is booked as the judge's spend"
