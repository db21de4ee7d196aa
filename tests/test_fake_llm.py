"""The fake OpenAI-compatible server speaks the wire format real clients expect, and says useful things."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import openai
import pydantic_ai.models
import pytest
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)
from pydantic import BaseModel
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.fake_llm import FakeLLMServer
from tests.fake_llm_content import ContentState, judge_verdict
from tools.contracts import (
    ChoiceBatch,
    JudgeVerdict,
    NumericBatch,
    SampleBatch,
    SampleDraft,
    SpecDraft,
    SubtaskProposal,
    YesNoBatch,
)

BATCHES: dict[str, type[BaseModel]] = {
    "multiple_choice": ChoiceBatch, "numeric": NumericBatch, "yes_no": YesNoBatch, "short_answer": SampleBatch,
}


def drafts(batch: Any) -> list[SampleDraft]:
    """The generator's format-specific drafts in the general form the pipeline checks."""
    return [s if isinstance(s, SampleDraft) else s.to_draft() for s in batch.samples]

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T", bound=BaseModel)
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "lookup_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "note": {"type": "string"},
            },
            "required": ["city", "days", "unit"],
        },
    },
}


@pytest.fixture(autouse=True)
def allow_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # requests only go to 127.0.0.1


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=0) as fake:
        yield fake


def chat_model(server: FakeLLMServer) -> OpenAIChatModel:
    return OpenAIChatModel("fake-model", provider=OpenAIProvider(base_url=server.base_url, api_key="test"))


def stage_agent(server: FakeLLMServer, output: type[T], tool_name: str) -> Agent[None, T]:
    return Agent(chat_model(server), output_type=ToolOutput(output, name=tool_name), instructions="Use the tool.")


def first_call_arguments(completion: ChatCompletion) -> tuple[str, str]:
    calls = completion.choices[0].message.tool_calls
    assert calls and calls[0].type == "function"
    return calls[0].function.name, calls[0].function.arguments


def lines(**fields: object) -> str:
    return "\n".join(f"{key.replace('_', ' ').capitalize()}: {value}" for key, value in fields.items())


def sample_prompt(answer_format: str, count: int, subtask: str, domain: str) -> str:
    return lines(answer_format=answer_format, number_of_samples=count, subtask=subtask, domain=domain)


# --- wire format, raw openai client -----------------------------------------------------------


@pytest.mark.asyncio
async def test_models_endpoint_lists_the_fake_model(server: FakeLLMServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as client:
        models = await client.models.list()
    assert [m.id for m in models.data] == ["fake-model"]


@pytest.mark.asyncio
async def test_openai_client_gets_a_tool_call_for_the_offered_tool(server: FakeLLMServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as client:
        completion = await client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=[WEATHER_TOOL]
        )
    assert completion.choices[0].finish_reason == "tool_calls"
    name, arguments = first_call_arguments(completion)
    assert name == "lookup_weather"
    assert json.loads(arguments) == {"city": "auto", "days": 2, "unit": "celsius"}
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens > 0
    assert server.stats.by_tool == Counter({"lookup_weather": 1})


@pytest.mark.asyncio
async def test_openai_client_gets_text_after_a_tool_result_and_without_tools(server: FakeLLMServer) -> None:
    call: ChatCompletionMessageFunctionToolCallParam = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup_weather", "arguments": "{}"},
    }
    history: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Oslo: 4 degrees and rain"},
    ]
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as client:
        after_tool = await client.chat.completions.create(model="fake-model", messages=history, tools=[WEATHER_TOOL])
        plain = await client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "Tell me about tide tables"}]
        )
    assert after_tool.choices[0].message.content == "Done: Oslo: 4 degrees and rain"
    assert after_tool.choices[0].finish_reason == "stop"
    assert "tide tables" in (plain.choices[0].message.content or "")


@pytest.mark.asyncio
async def test_streamed_tool_call_arrives_as_openai_chunks_with_usage(server: FakeLLMServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as client:
        stream = await client.chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER_TOOL],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    arguments = "".join(
        call.function.arguments or ""
        for chunk in chunks
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or []
        if call.function
    )
    assert json.loads(arguments)["unit"] == "celsius"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


# --- pipeline stages through pydantic-ai --------------------------------------------------------


@pytest.mark.asyncio
async def test_specific_request_gets_size_format_difficulty_and_topic(server: FakeLLMServer) -> None:
    async with stage_agent(server, SpecDraft, "submit_spec") as agent:
        result = await agent.run("Request: Build 50 hard multiple-choice questions on arithmetic word problems")
    spec = result.output
    assert (spec.size, spec.answer_format, spec.difficulty) == (50, "multiple_choice", "hard")
    assert spec.capability == "multi-step arithmetic" and spec.domain == "grade-school word problems"
    assert spec.questions == [] and spec.modalities == ["text"]
    assert "50 hard multiple-choice" in spec.goal


@pytest.mark.asyncio
async def test_vague_request_gets_questions(server: FakeLLMServer) -> None:
    async with stage_agent(server, SpecDraft, "submit_spec") as agent:
        result = await agent.run("Request: make a benchmark")
    spec = result.output
    assert spec.capability is None and spec.domain is None and spec.size is None
    assert 1 <= len(spec.questions) <= 3
    assert {q.field for q in spec.questions} >= {"capability"}


@pytest.mark.asyncio
async def test_subtasks_follow_the_capability_and_the_maximum(server: FakeLLMServer) -> None:
    prompt = lines(capability="multi-step arithmetic", domain="grade-school word problems", maximum_subtasks=3)
    async with stage_agent(server, SubtaskProposal, "submit_subtasks") as agent:
        three = (await agent.run(prompt)).output.subtasks
        two = (
            await agent.run(lines(capability="poetry analysis", domain="sonnets", maximum_subtasks=2))
        ).output.subtasks
    assert [s.name for s in three][:2] == [
        "Multi-step addition and subtraction",
        "Multiplication and division word problems",
    ]
    assert len(three) == 3 and len({s.name for s in three}) == 3
    assert len(two) == 2 and all("poetry analysis" in s.name for s in two)
    assert all(1 <= s.weight <= 3 for s in three + two)


@pytest.mark.asyncio
@pytest.mark.parametrize("answer_format", ["multiple_choice", "short_answer", "numeric", "yes_no"])
@pytest.mark.parametrize(
    "subtask, domain",
    [
        ("Fractions and percentages", "grade-school word problems"),
        ("Capital cities", "world geography"),
    ],
)
async def test_pydantic_ai_agent_gets_valid_samples_for_each_answer_format(
    server: FakeLLMServer, answer_format: str, subtask: str, domain: str
) -> None:
    async with stage_agent(server, BATCHES[answer_format], "submit_samples") as agent:
        samples = drafts((await agent.run(sample_prompt(answer_format, 7, subtask, domain))).output)
    assert len(samples) == 7
    assert len({s.question for s in samples}) == 7
    for sample in samples:
        assert sample.rationale
        if answer_format == "multiple_choice":
            assert sample.choices is not None and len(set(sample.choices)) == len(sample.choices) == 4
            assert sample.choices.count(sample.answer) == 1
        else:
            assert sample.choices is None
        if answer_format == "numeric":
            float(sample.answer)
        if answer_format == "yes_no":
            assert sample.answer in ("Yes", "No")


@pytest.mark.asyncio
async def test_samples_vary_between_calls(server: FakeLLMServer) -> None:
    prompt = sample_prompt("numeric", 10, "Multi-step addition and subtraction", "grade-school word problems")
    async with stage_agent(server, SampleBatch, "submit_samples") as agent:
        first, second = [(await agent.run(prompt)).output.samples for _ in range(2)]
    questions = [s.question for s in first + second]
    assert len(set(questions)) == 20
    openings = Counter(" ".join(q.split()[2:5]) for q in questions)  # past the name: template wording
    assert len(openings) >= 5


@pytest.mark.asyncio
async def test_judge_accepts_generated_samples_and_rejects_broken_ones(server: FakeLLMServer) -> None:
    prompt = sample_prompt(
        "multiple_choice", 4, "Multiplication and division word problems", "grade-school word problems"
    )
    async with stage_agent(server, ChoiceBatch, "submit_samples") as generator:
        samples = drafts((await generator.run(prompt)).output)

    async def verdict(question: str, choices: list[str] | None, answer: str) -> JudgeVerdict:
        prompt = lines(
            answer_format="multiple_choice", question=question, choices=json.dumps(choices), proposed_answer=answer
        )
        return (await judge.run(prompt)).output

    async with stage_agent(server, JudgeVerdict, "submit_verdict") as judge:
        accepted = [(await verdict(s.question, s.choices, s.answer)).verdict for s in samples]
        good = samples[0]
        wrong = next(c for c in good.choices or [] if c != good.answer)
        missing = await verdict(good.question, good.choices, "not an option")
        duplicated = await verdict(good.question, [good.answer, good.answer, "1", "2"], good.answer)
        incorrect = await verdict(good.question, good.choices, wrong)
    assert accepted == ["accept"] * 4
    assert (missing.verdict, missing.reasons) == ("reject", ["proposed answer is not among the choices"])
    assert (duplicated.verdict, duplicated.reasons) == ("reject", ["duplicate choices"])
    assert incorrect.verdict == "reject" and incorrect.reasons[0].startswith("incorrect answer")


def test_judge_reject_rate_rejects_a_stable_fraction_of_questions() -> None:
    state = ContentState(seed=0, judge_reject_rate=0.3)
    keys = [
        {"answer format": "short_answer", "question": f"Who wrote book number {i}?", "proposed answer": "Ann"}
        for i in range(400)
    ]
    verdicts = [judge_verdict(k, state) for k in keys]
    rejected = [v for v in verdicts if v["verdict"] == "reject"]
    assert 80 <= len(rejected) <= 160
    assert all(v["reasons"] == ["ambiguous wording (injected)"] for v in rejected)
    assert [judge_verdict(k, state) for k in keys] == verdicts


# --- chat agents and streaming through pydantic-ai -----------------------------------------------


@pytest.mark.asyncio
async def test_function_tool_agent_calls_the_tool_then_answers_in_text(server: FakeLLMServer) -> None:
    agent = Agent(chat_model(server), output_type=str)
    seen: list[tuple[str, int]] = []

    @agent.tool_plain
    def start_build(topic: str, size: int) -> str:
        """Start a build."""
        seen.append((topic, size))
        return f"build started on {topic} with {size} samples"

    async with agent:
        result = await agent.run("Please build it")
    assert seen == [("auto", 1)]
    assert result.output == "Done: build started on auto with 1 samples"
    assert [r.get("tool_choice") for r in server.recent_requests] == ["auto", "auto"]


@pytest.mark.asyncio
async def test_streaming_tool_call_round_trips_through_pydantic_ai(server: FakeLLMServer) -> None:
    prompt = sample_prompt("multiple_choice", 5, "Fractions and percentages", "grade-school word problems")
    async with stage_agent(server, ChoiceBatch, "submit_samples") as agent, agent.run_stream(prompt) as stream:
        batch = await stream.get_output()
    assert len(batch.samples) == 5 and all(s.answer in (s.choices or []) for s in drafts(batch))
    request = server.recent_requests[-1]
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert server.stats.streamed == 1


@pytest.mark.asyncio
async def test_streaming_text_round_trips_through_pydantic_ai(server: FakeLLMServer) -> None:
    agent = Agent(chat_model(server), output_type=str)
    async with agent, agent.run_stream("Explain the difference between recall and precision in detail") as stream:
        pieces = [piece async for piece in stream.stream_text(delta=True, debounce_by=None)]
        usage = stream.usage
    assert "recall and precision" in "".join(pieces) and len(pieces) >= 2
    assert usage.output_tokens > 0


# --- faults, latency, command line -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fault_rate_injects_each_kind() -> None:
    with FakeLLMServer(port=0, fault_rate=1.0, seed=3) as fake:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=0.5) as client:

            async def attempt() -> str:
                try:
                    done = await client.chat.completions.create(
                        model="fake-model", messages=[{"role": "user", "content": "go"}], tools=[WEATHER_TOOL]
                    )
                except openai.RateLimitError as error:
                    assert error.response.headers["retry-after"] == "1"
                    return "rate_limit"
                except openai.InternalServerError:
                    return "server_error"
                except openai.APITimeoutError:
                    return "hang"
                _, arguments = first_call_arguments(done)
                with pytest.raises(ValueError):
                    json.loads(arguments)
                return "truncated"

            observed = Counter(await asyncio.gather(*(attempt() for _ in range(16))))
        stats = fake.stats
    assert set(observed) == {"rate_limit", "server_error", "hang", "truncated"}
    assert stats.faults == observed and stats.completions == 16


@pytest.mark.asyncio
async def test_latency_is_slept_in_parallel_across_concurrent_requests() -> None:
    with FakeLLMServer(port=0, latency_ms=300) as fake:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="test") as client:
            started = time.monotonic()
            await asyncio.gather(
                *(
                    client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
                    for _ in range(8)
                )
            )
            elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.2


def test_stop_cuts_a_hang_short() -> None:
    fake = FakeLLMServer(port=0, fault_rate=1.0, fault_kinds=("hang",)).start()
    client = openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=10)
    errors: list[Exception] = []
    caller = threading.Thread(target=lambda: _call_and_keep_error(client, errors))
    started = time.monotonic()
    caller.start()
    time.sleep(0.3)
    fake.stop()
    caller.join(timeout=5)
    assert not caller.is_alive() and time.monotonic() - started < 3
    assert isinstance(errors[0], openai.APIConnectionError)


def _call_and_keep_error(client: openai.OpenAI, errors: list[Exception]) -> None:
    try:
        client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
    except Exception as error:  # noqa: BLE001 - the test inspects it
        errors.append(error)


def test_cli_serves_on_the_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tests.fake_llm", "--port", str(port), "--latency-ms", "10"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 15)
            assert ready, "no listening line within 15 s"
            assert proc.stdout.readline().strip() == f"fake LLM listening on http://127.0.0.1:{port}/v1"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
                assert json.load(response)["data"][0]["id"] == "fake-model"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert proc.returncode == 0


@pytest.mark.parametrize(("kind", "seen"), [
    ("dropped", openai.APIConnectionError), ("stall", openai.APITimeoutError), ("truncated_body", openai.APIConnectionError),
    ("unauthorized", openai.AuthenticationError),
])
def test_each_fault_that_breaks_the_connection_or_the_status_reaches_the_client_as_that(kind: str, seen: type) -> None:
    with FakeLLMServer(port=0, fault_rate=1.0, fault_kinds=(kind,), hang_s=2.0) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=0.5)
        with pytest.raises(seen):
            client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
        assert fake.stats.faults == {kind: 1}


def test_garbage_and_wrong_schema_bodies_are_200s_that_are_no_chat_completion() -> None:
    with FakeLLMServer(port=0, fault_rate=1.0, fault_kinds=("garbage",)) as fake:
        body = urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - 127.0.0.1
            f"{fake.base_url}/chat/completions", data=b'{"model": "m", "messages": []}', method="POST"), timeout=5)
        assert body.status == 200 and body.read().startswith(b"<html>")
        fake.set_faults(1.0, ("wrong_schema",))
        shapes = set()
        for n in range(12):
            request = urllib.request.Request(f"{fake.base_url}/chat/completions", method="POST",
                                             data=json.dumps({"model": "m", "messages": [{"role": "user",
                                                                                          "content": str(n)}]}).encode())
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - 127.0.0.1
                reply = json.load(response)
            assert not reply.get("choices") or "message" not in reply["choices"][0]
            shapes.add(json.dumps(sorted(reply)))
        assert len(shapes) >= 2, "more than one wrong shape is sent"


def test_fault_settings_change_while_the_server_runs_also_over_http() -> None:
    with FakeLLMServer(port=0) as fake:
        request = urllib.request.Request(f"http://127.0.0.1:{fake.port}/faults", method="POST",
                                         data=json.dumps({"rate": 0.5, "kinds": ["dropped", "garbage"]}).encode())
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - 127.0.0.1
            assert json.load(response) == {"rate": 0.5, "kinds": ["dropped", "garbage"]}
        assert fake.fault_rate == 0.5 and fake.fault_kinds == ("dropped", "garbage")
        with pytest.raises(ValueError, match="fault kinds"):
            fake.set_faults(0.1, ("no-such-fault",))
        bad = urllib.request.Request(f"http://127.0.0.1:{fake.port}/faults", method="POST", data=b'{"rate": 7}')
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=5)  # noqa: S310 - 127.0.0.1
        assert refused.value.code == 400 and fake.fault_rate == 0.5
