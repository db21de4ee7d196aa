from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.exceptions import ModelConnectionError, ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tools.contracts import JudgeVerdict
from tools.errors import BudgetReached
from tools.llm.resilience import CachedModel, CallCache, RateLimiter, ResilientModel, RetryPolicy, Slots, call_priority
from tools.llm.stage import StageModels, run_stage

AGENT = Agent(output_type=ToolOutput(JudgeVerdict, name="submit_verdict"))


class Flaky:
    """Raises the queued errors first, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ModelResponse(parts=[ToolCallPart("submit_verdict", {"verdict": "accept"})])


def _http(status: int, retry_after: str | None = None) -> ModelHTTPError:
    headers = {"Retry-After": retry_after} if retry_after else None
    return ModelHTTPError(status_code=status, model_name="m", body={"error": "x"}, headers=headers)


async def test_rate_limits_and_server_errors_are_retried_honouring_retry_after() -> None:
    flaky, slept = Flaky(_http(429, "3"), _http(500), _http(503)), []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    model = ResilientModel(FunctionModel(flaky), sleep=sleep, seed=1)
    result = await AGENT.run("x", model=model)
    assert result.output.verdict == "accept" and flaky.calls == 4 and model.retries == 3
    assert 3.0 <= slept[0] <= 3.25, "Retry-After is honoured"
    assert all(s <= RetryPolicy().max_delay_s for s in slept)


async def test_a_request_the_endpoint_rejects_is_not_retried() -> None:
    flaky = Flaky(_http(401))
    with pytest.raises(ModelHTTPError):
        await AGENT.run("x", model=ResilientModel(FunctionModel(flaky)))
    assert flaky.calls == 1


async def test_an_endpoint_down_past_the_limit_raises_the_last_error() -> None:
    flaky = Flaky(*[_http(500)] * 50)

    async def sleep(seconds: float) -> None:
        return None

    with pytest.raises(ModelHTTPError):
        await AGENT.run("x", model=ResilientModel(FunctionModel(flaky), policy=RetryPolicy(give_up_after_s=0.0), sleep=sleep))
    assert flaky.calls == 1


async def test_a_never_reached_endpoint_fails_fast_but_a_known_one_gets_patience() -> None:
    refused = ModelConnectionError("m", "connection refused")
    policy = RetryPolicy(give_up_after_s=60.0, first_contact_give_up_s=0.0)

    async def sleep(seconds: float) -> None:
        return None

    fresh = ResilientModel(FunctionModel(Flaky(refused)), policy=policy, sleep=sleep)
    with pytest.raises(ModelConnectionError):
        await AGENT.run("x", model=fresh)
    flaky = Flaky()
    known = ResilientModel(FunctionModel(flaky), policy=policy, sleep=sleep)
    await AGENT.run("x", model=known)
    flaky.errors = [refused, refused]
    await AGENT.run("x", model=known)
    assert known.retries == 2


async def test_rate_limiter_holds_requests_over_the_per_minute_limit() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(rpm=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await limiter.acquire(10)
    assert waits == [60.0]
    tokens = RateLimiter(tpm=100, clock=lambda: now[0], sleep=sleep)
    await tokens.acquire(80)
    await tokens.acquire(80)
    assert waits[-1] == 60.0


async def test_cached_calls_are_answered_without_the_endpoint_across_processes(tmp_path: Path) -> None:
    flaky = Flaky()
    first = CachedModel(FunctionModel(flaky), CallCache(tmp_path / "calls.jsonl"), "m")
    await AGENT.run("same prompt", model=first)
    assert flaky.calls == 1
    reopened = CallCache(tmp_path / "calls.jsonl")
    again = CachedModel(FunctionModel(flaky), reopened, "m")
    result = await AGENT.run("same prompt", model=again)
    assert result.output.verdict == "accept" and flaky.calls == 1 and reopened.hits == 1
    await AGENT.run("another prompt", model=again)
    assert flaky.calls == 2
    other_model = CachedModel(FunctionModel(flaky), reopened, "another-model")
    await AGENT.run("same prompt", model=other_model)
    assert flaky.calls == 3, "the model is part of the key"


async def test_slots_serve_waiting_requests_earliest_batch_first_and_survive_cancellation() -> None:
    slots, order = Slots(1), []
    await slots.acquire()  # the only slot is taken: everyone below waits

    async def wait_as(priority: int, name: str) -> None:
        call_priority.set(priority)
        async with slots:
            order.append(name)

    tasks = [asyncio.create_task(wait_as(p, n)) for p, n in ((5, "late"), (1, "early"), (5, "late-2"), (0, "gone"))]
    await asyncio.sleep(0)
    tasks[3].cancel()  # a waiter cancelled in the queue must not take (or lose) a slot
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*tasks[:3])
    assert order == ["early", "late", "late-2"], "lowest priority value first, then arrival order"
    assert tasks[3].cancelled() and slots.free == 1, "every slot is back once all holders are done"


async def test_a_limited_model_keeps_at_most_its_slots_in_flight_across_roles() -> None:
    in_flight, peak = 0, 0

    async def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return ModelResponse(parts=[ToolCallPart("submit_verdict", {"verdict": "accept"})])

    endpoint = FunctionModel(answer)
    models = StageModels(models={"generator": endpoint, "judge": endpoint}, names={"generator": "g", "judge": "j"})
    limited = models.limited(3)
    runs = [run_stage(AGENT, f"x{i}", models=limited, role="judge" if i % 2 else "generator", stage="t")
            for i in range(12)]
    assert all(v.verdict == "accept" for v in await asyncio.gather(*runs))
    assert peak == 3, f"{peak} requests were in flight at once"
    assert models.usage["judge"].requests == 6, "the limited copy meters into the same usage"


async def test_a_request_that_waited_for_a_slot_is_refused_once_the_budget_is_spent() -> None:
    answered = 0

    async def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal answered
        answered += 1
        await asyncio.sleep(0.01)
        return ModelResponse(parts=[ToolCallPart("submit_verdict", {"verdict": "accept"})])

    limited = StageModels(models={"judge": FunctionModel(answer)}, names={"judge": "j"}).limited(1)
    limited.guard = lambda: "token budget reached" if answered else None
    results = await asyncio.gather(*(run_stage(AGENT, "x", models=limited, role="judge", stage="t") for _ in range(3)),
                                   return_exceptions=True)
    # All three passed the check before their call; the two that waited for the slot are refused at it.
    assert answered == 1 and sum(isinstance(r, BudgetReached) for r in results) == 2


@pytest.mark.parametrize(("status", "first_done"), [(500, "second"), (429, "first")])
async def test_a_retry_gives_its_slot_away_while_it_waits_unless_told_to_slow_down(status: int, first_done: str) -> None:
    done: list[str] = []
    failures = {"first": [_http(status)], "second": []}

    async def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = str(messages[-1].parts[-1].content)  # type: ignore[union-attr]
        if failures[prompt]:
            raise failures[prompt].pop()
        return ModelResponse(parts=[ToolCallPart("submit_verdict", {"verdict": "accept"})])

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0.05)

    endpoint = ResilientModel(FunctionModel(answer), sleep=sleep, seed=1)
    limited = StageModels(models={"judge": endpoint}, names={"judge": "j"}).limited(1)

    async def run(name: str) -> None:
        await run_stage(AGENT, name, models=limited, role="judge", stage="t")
        done.append(name)

    first = asyncio.create_task(run("first"))
    await asyncio.sleep(0)  # the first request takes the only slot
    await asyncio.gather(first, run("second"))
    assert done[0] == first_done and endpoint.retries == 1


def _response(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content=text)])


def test_the_call_cache_answers_from_its_file_what_it_no_longer_holds_in_memory(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.jsonl", recent=2)
    for n in range(5):
        cache.put(f"key-{n}", _response(f"answer {n}"))
    got = cache.get("key-0")  # put in this run, out of the recent ones: read back from the file
    assert isinstance(got, ModelResponse) and got.parts[0].content == "answer 0"  # type: ignore[union-attr]
    assert cache.get("missing") is None and len(cache) == 5
    cache.flush()
    with (tmp_path / "calls.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"key": "torn", "resp')  # a crash mid-write
    reopened = CallCache(tmp_path / "calls.jsonl")
    assert len(reopened) == 5 and reopened.get("torn") is None
    assert [reopened.get(f"key-{n}").parts[0].content for n in range(5)] == [f"answer {n}" for n in range(5)]  # type: ignore[union-attr]
    assert reopened.hits == 5


async def test_a_broken_reply_is_retried_once_the_endpoint_has_answered_but_stops_a_first_contact_that_repeats_it() -> None:
    from pydantic_ai.exceptions import ModelAPIError, UnexpectedModelBehavior

    garbage = ModelAPIError("m", "Failed to decode response as JSON: Expecting value: line 1 column 1 (char 0)")
    shapeless = UnexpectedModelBehavior("Invalid response from openai chat completions endpoint: no choices")

    async def sleep(seconds: float) -> None:
        return None

    flaky = Flaky()
    known = ResilientModel(FunctionModel(flaky), sleep=sleep)
    await AGENT.run("x", model=known)
    flaky.errors = [garbage, shapeless, garbage]
    result = await AGENT.run("x", model=known)
    assert result.output.verdict == "accept" and known.retries == 3
    fresh_flaky = Flaky(garbage, garbage, garbage)
    with pytest.raises(ModelAPIError, match="decode"):  # a URL that is no chat endpoint says so at once
        await AGENT.run("x", model=ResilientModel(FunctionModel(fresh_flaky), sleep=sleep))
    assert fresh_flaky.calls == 2
