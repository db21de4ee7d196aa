"""The product's OpenAI client posts exactly what the SDK's own client posts, without the SDK's body transform."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pydantic_ai.models
import pytest
from openai import APIConnectionError, APITimeoutError, AsyncOpenAI
from openai._utils._transform import PropertyInfo
from openai.types.chat import ChatCompletion, completion_create_params
from pydantic_ai import BinaryContent
from pydantic_ai.exceptions import ModelHTTPError, ModelRequestRejectedError
from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.openai import _ChatCompletion

from assistant.model_registry import _Endpoints
from assistant.settings import Settings
from tests.fake_llm import FakeLLMServer
from tests.tools.test_stage_call import STAGES
from tools.llm.call import call_agent
from tools.llm.endpoints import OUTPUT_MODES, EndpointChatModel, OutputMode
from tools.llm.lean_client import LeanAsyncOpenAI, LeanCompletions, LoopSessionTransport, lean_client

REJECTED = (ModelHTTPError, ModelRequestRejectedError)  # what a 400 from the endpoint becomes
COMPLETION = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def _annotations(tp: Any, seen: set[int]) -> list[PropertyInfo]:
    """Every PropertyInfo (alias, format, discriminator) the SDK's transform would act on, anywhere in `tp`."""
    if id(tp) in seen:
        return []
    seen.add(id(tp))
    found: list[PropertyInfo] = []
    if typing.get_origin(tp) is typing.Annotated:
        found += [meta for meta in tp.__metadata__ if isinstance(meta, PropertyInfo)]
    if isinstance(tp, type) and typing.is_typeddict(tp):
        for hint in typing.get_type_hints(tp, include_extras=True).values():
            found += _annotations(hint, seen)
    for arg in typing.get_args(tp):
        found += _annotations(arg, seen)
    return found


def test_the_sdks_chat_completion_parameters_have_nothing_the_transform_would_change() -> None:
    found = _annotations(completion_create_params.CompletionCreateParamsNonStreaming, set())
    changing = [info for info in found if info.alias is not None or info.format is not None]
    assert not changing, "the SDK now renames or encodes a chat parameter: the lean client must transform again"


class _Recorder:
    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx2.Request] = []
        self.status = status

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(self.status, json=COMPLETION if self.status == 200 else {"error": {"message": "no"}})


def _clients(status: int = 200) -> tuple[tuple[AsyncOpenAI, _Recorder], tuple[AsyncOpenAI, _Recorder]]:
    made = []
    for cls in (AsyncOpenAI, LeanAsyncOpenAI):
        recorder = _Recorder(status)
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(recorder))
        made.append((cls(base_url="http://endpoint.test/v1", api_key="sk-test", max_retries=0, http_client=http),
                     recorder))
    return made[0], made[1]


def _sent(request: httpx2.Request) -> tuple[str, str, dict[str, str], Any]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("x-stainless-retry-count",)}
    return request.method, str(request.url), headers, json.loads(request.content)


@pytest.fixture(autouse=True)
def _requests_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)


@pytest.mark.parametrize("mode", OUTPUT_MODES)
async def test_every_stage_agent_posts_the_same_request_through_either_client(mode: OutputMode) -> None:
    (stock, stock_seen), (lean, lean_seen) = _clients(status=400)  # the first request is all that is compared
    for agent, output_type in STAGES:
        for client in (stock, lean):
            model = EndpointChatModel("served-model", client=client, mode=mode)
            with pytest.raises(REJECTED):
                await agent.run("Question: what is 2 + 3?", model=model, output_type=output_type)
    assert len(stock_seen.requests) == len(lean_seen.requests) == len(STAGES)
    for stock_request, lean_request in zip(stock_seen.requests, lean_seen.requests, strict=True):
        assert _sent(lean_request) == _sent(stock_request)


def _counted(prepare: Any, calls: list[Any]) -> Any:
    def counted(*args: Any) -> Any:
        calls.append(args)
        return prepare(*args)
    return counted


@pytest.mark.parametrize("mode", OUTPUT_MODES)
async def test_a_stages_later_calls_post_what_agent_run_posts(mode: OutputMode) -> None:
    """Later calls skip the agent graph and reuse the prepared request (tools.llm.call, EndpointChatModel): each
    posts what a fresh `Agent.run` on a fresh model posts for its prompt."""
    for agent, output_type in STAGES:
        (fresh, fresh_seen), (reused, reused_seen) = _clients(status=400)
        model = EndpointChatModel("served-model", client=reused, mode=mode)
        prepared: list[Any] = []
        model._prepare = _counted(model._prepare, prepared)  # type: ignore[method-assign]
        for prompt in ("Question: what is 2 + 3?", "Question: name a prime above 10.", "Question: 7 * 6?"):
            with pytest.raises(REJECTED):
                await call_agent(agent, prompt, model=model, output_type=output_type)
            with pytest.raises(REJECTED):
                await agent.run(prompt, model=EndpointChatModel("served-model", client=fresh, mode=mode),
                                output_type=output_type)
        assert [_sent(r) for r in reused_seen.requests] == [_sent(r) for r in fresh_seen.requests]
        assert len(prepared) == 1, "the first run's request was prepared once, and every later call reused it"


def _answering(body: dict[str, Any]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(lambda request: httpx2.Response(200, json=body)))


def _choice(message: dict[str, Any], finish: Any = "stop", **extra: Any) -> dict[str, Any]:
    return {"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}, **extra}


BODIES = {
    "text": COMPLETION,
    "tool call": {**COMPLETION, "choices": [_choice({"content": None, "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "submit_answer", "arguments": '{"answer": "7"}'}}]},
        "tool_calls")]},
    "a provider's own service tier, metadata and extra fields": {
        **COMPLETION, "service_tier": "on_demand", "metadata": {"weights": [1, 2]}, "system_fingerprint": "fp",
        "timings": {"prompt_ms": 3.5}, "choices": [_choice({"content": "hi", "reasoning_content": "think"})]},
    "no usage, no id, a float created": {k: v for k, v in {**COMPLETION, "created": 1.5}.items()
                                          if k not in ("usage", "id")},
    "an unknown finish reason and logprobs": {**COMPLETION, "choices": [_choice(
        {"content": "hi"}, "eos", logprobs={"content": [{"token": "hi", "logprob": -0.1, "bytes": None,
                                                          "top_logprobs": []}]})]},
    "cut-off reply": {**COMPLETION, "choices": [_choice({"content": "h"}, "length")]},
    "no choices": {**COMPLETION, "choices": []},
    "choices of the wrong shape": {**COMPLETION, "choices": [{"index": "first", "message": "hi"}]},
}


@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
async def test_a_completion_is_read_as_the_sdks_client_reads_it(body: str) -> None:
    outcomes = []
    for cls in (AsyncOpenAI, LeanAsyncOpenAI):
        http = _answering(BODIES[body])
        model = EndpointChatModel("served-model", client=cls(base_url="http://endpoint.test/v1", api_key="k",
                                                              max_retries=0, http_client=http), mode="tool")
        try:
            reply = await model.request([ModelRequest.user_text_prompt("hi")], None, ModelRequestParameters())
        except Exception as exc:  # noqa: BLE001  (the two clients must fail alike, whatever the error)
            outcomes.append((type(exc), str(exc)))
        else:
            outcomes.append((reply.parts, reply.usage, reply.finish_reason, reply.provider_response_id,
                             reply.provider_details, reply.model_name))
    assert outcomes[0] == outcomes[1]


async def test_a_retry_with_an_image_tool_calls_and_settings_is_posted_the_same() -> None:
    (stock, stock_seen), (lean, lean_seen) = _clients()
    messages = [
        ModelRequest(parts=[UserPromptPart(["Read the chart.", BinaryContent(b"\x89PNG\r\n", media_type="image/png")])],
                     instructions="Answer from the chart."),
        ModelResponse(parts=[TextPart("looking"), ToolCallPart("submit_answer", {"answer": "7"}, tool_call_id="t1")]),
        ModelRequest(parts=[ToolReturnPart("submit_answer", "answer must be a number", tool_call_id="t1",
                                           outcome="retried")]),
    ]
    settings = {"temperature": 0.3, "max_tokens": 500, "seed": 7, "extra_body": {"top_k": 20},
                "extra_headers": {"X-Lab": "a"}, "timeout": 12.5}
    replies = []
    for client in (stock, lean):
        model = EndpointChatModel("served-model", client=client, mode="tool")
        replies.append(await model.request(messages, settings, ModelRequestParameters()))  # type: ignore[arg-type]
    assert _sent(lean_seen.requests[0]) == _sent(stock_seen.requests[0])
    assert lean_seen.requests[0].extensions["timeout"] == stock_seen.requests[0].extensions["timeout"]
    assert replies[0].parts == replies[1].parts and replies[0].usage == replies[1].usage


async def test_a_streamed_completion_goes_through_the_sdks_own_create() -> None:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}]}
    stream_body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
    seen: list[list[httpx2.Request]] = []
    texts = []
    for cls in (AsyncOpenAI, LeanAsyncOpenAI):
        requests: list[httpx2.Request] = []
        seen.append(requests)

        def answer(request: httpx2.Request, requests: list[httpx2.Request] = requests) -> httpx2.Response:
            requests.append(request)
            return httpx2.Response(200, content=stream_body, headers={"content-type": "text/event-stream"})

        client = cls(base_url="http://endpoint.test/v1", api_key="sk-test", max_retries=0,
                     http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(answer)))
        stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                      stream=True)
        texts.append([c.choices[0].delta.content async for c in stream])
    assert texts[0] == texts[1] == ["hi"]
    assert _sent(seen[1][0]) == _sent(seen[0][0])


def test_the_product_calls_its_endpoints_through_the_lean_client(tmp_path: Path) -> None:
    endpoints = _Endpoints(Settings(model="openai:served", openai_base_url="http://127.0.0.1:9/v1",
                                    openai_api_key="k", data_dir=tmp_path))
    endpoints.openai_model("served", "generator")
    client = next(iter(endpoints.endpoints.values())).client_model("tool").client
    assert isinstance(client, LeanAsyncOpenAI) and isinstance(client.chat.completions, LeanCompletions)


@pytest.fixture()
def dropping_server() -> Iterator[int]:
    """A port whose server reads a request and closes the connection without answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _error_of(base_url: str) -> BaseException:
    client = lean_client(base_url=base_url, api_key="k", timeout=5)
    with pytest.raises(APIConnectionError) as caught:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    return caught.value


async def test_a_refused_or_dropped_connection_is_a_connection_error_not_a_timeout(dropping_server: int) -> None:
    refused = await _error_of(f"http://127.0.0.1:{_closed_port()}/v1")
    dropped = await _error_of(f"http://127.0.0.1:{dropping_server}/v1")
    for error in (refused, dropped):
        assert not isinstance(error, APITimeoutError), error.__cause__
    assert isinstance(refused.__cause__, httpx2.ConnectError) and "Cannot connect" in str(refused.__cause__)
    assert isinstance(dropped.__cause__, httpx2.RemoteProtocolError)


_COMPLETION = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [
    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}).encode()


@pytest.fixture()
def one_answer_per_connection() -> Iterator[tuple[int, list[int]]]:
    """A port whose server answers the first request on a connection, keeping it alive, and closes the connection
    when a second request comes on it: what a client meets when it reuses a kept-alive connection the server has
    closed meanwhile. Yields the port and, per connection, the requests answered on it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    answered: list[int] = []
    stop = threading.Event()

    def serve(conn: socket.socket, index: int) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            while len(body) < length:
                body += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                         b"Content-Length: " + str(len(_COMPLETION)).encode() + b"\r\n\r\n" + _COMPLETION)
            answered[index] += 1
            conn.recv(65536)  # the next request on this connection: closed unanswered

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            answered.append(0)
            threading.Thread(target=serve, args=(conn, len(answered) - 1), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], answered
    stop.set()
    thread.join()
    listener.close()


async def test_a_request_on_a_kept_alive_connection_the_server_closed_goes_on_another(
        one_answer_per_connection: tuple[int, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    port, answered = one_answer_per_connection
    client = lean_client(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", timeout=5)
    for _ in range(3):
        completion = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert completion.choices[0].message.content == "ok"
    assert answered[:3] == [1, 1, 1]  # each later request met its closed connection, then went on a new one
    monkeypatch.setattr("tools.llm.lean_client.STALE_RETRIES", 0)  # without the retry, that is a failed call
    with pytest.raises(APIConnectionError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


async def test_a_server_that_does_not_answer_in_time_is_a_timeout() -> None:
    listener = socket.socket()  # accepts (the kernel's backlog) and never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        client = lean_client(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1", api_key="k", timeout=0.5)
        with pytest.raises(APITimeoutError):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    finally:
        listener.close()


def test_one_client_serves_successive_event_loops_and_closes_each_loops_session(
        capfd: pytest.CaptureFixture[str]) -> None:
    with FakeLLMServer(port=0, seed=1) as server:
        _serve_two_loops(server)
    gc.collect()
    assert "Unclosed client session" not in capfd.readouterr().err


def _serve_two_loops(server: FakeLLMServer) -> None:
    client = lean_client(base_url=server.base_url, api_key="k", timeout=10)

    async def ask() -> str | None:
        reply = await client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
        return reply.model
    transport = client._client._transport
    assert isinstance(transport, LoopSessionTransport)
    assert asyncio.run(ask()) == asyncio.run(ask())  # a second loop gets a session of its own
    assert not transport._sessions, "each loop's session was closed as the loop shut down"


async def test_a_valid_completion_is_validated_once_as_it_is_read() -> None:
    kinds = []
    for body in ("tool call", "choices of the wrong shape"):
        http = _answering(BODIES[body])
        client = LeanAsyncOpenAI(base_url="http://endpoint.test/v1", api_key="k", max_retries=0, http_client=http)
        reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        kinds.append(type(reply))
    assert kinds == [_ChatCompletion, ChatCompletion]  # the second is built as the SDK builds it, unvalidated
