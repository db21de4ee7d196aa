"""The OpenAI client the product calls endpoints with: the SDK's own, less its request-body transform.

`chat.completions.create` walks every request body against the SDK's TypedDicts (`async_maybe_transform`), to
rename aliased keys and encode formatted values (dates, base64 files), before it posts the body. The chat
completion parameters have neither (`tests/tools/test_lean_client.py` checks the SDK's types for any), so the
walk returns the body it was given, less the omitted values; at 16 requests in flight it was about a tenth of the
event loop's CPU in a build. `LeanAsyncOpenAI` posts a non-streaming chat completion's body as given, omitted
values dropped, through the SDK's own `_post`: the same URL, headers, auth, timeout and errors. A completion that
is valid as pydantic-ai's `_ChatCompletion` is validated as that when it is read, instead of being built field by
field and then dumped and validated again. Streaming calls and every other resource are the SDK's, unchanged.

Its HTTP transport is aiohttp, as the SDK's own `DefaultAioHttpClient` has it (the SDK's vendored
`httpx_aiohttp`): httpcore's connection pool looks at every idle connection's socket on each request, so its
cost grows with the requests in flight, and at 64 in flight the aiohttp transport took about a fifth less of the
event loop's CPU in a build. An aiohttp session belongs to one event loop: `LoopSessionTransport` keeps one per
loop and closes it when that loop shuts its async generators down, as `asyncio.run` and uvicorn do on the way out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import cached_property
from typing import Any

import aiohttp
import httpx2
import pydantic
from aiohttp import ClientSession
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient, omit
from openai._base_client import DEFAULT_CONNECTION_LIMITS, make_request_options
from openai._utils import is_given
from openai._vendor.httpx_aiohttp import AiohttpTransport
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.chat.completions.completions import validate_response_format
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic_ai.models.openai import _ChatCompletion

_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
STALE_RETRIES = 8  # kept-alive connections found closed by the server, tried past, per request


class LeanCompletions(AsyncCompletions):
    """`chat.completions` whose non-streaming `create` posts the body without the SDK's transform."""

    async def create(self, **params: Any) -> Any:  # type: ignore[override]
        if params.get("stream") or "messages" not in params or "model" not in params:
            return await super().create(**params)
        options = {name: params.pop(name) for name in _OPTIONS if name in params}
        validate_response_format(params.get("response_format", omit))
        body = {key: value for key, value in params.items() if is_given(value)}
        return await self._post(
            "/chat/completions", body=body,
            options=make_request_options(security={"bearer_auth": True}, **options),
            cast_to=ChatCompletion, stream=False, stream_cls=AsyncStream[ChatCompletionChunk])


class LeanChat(AsyncChat):
    @cached_property
    def completions(self) -> LeanCompletions:  # type: ignore[override]
        return LeanCompletions(self._client)


class LeanAsyncOpenAI(AsyncOpenAI):
    """`AsyncOpenAI` whose `chat.completions.create` skips the request-body transform (module docstring)."""

    @cached_property
    def chat(self) -> LeanChat:  # type: ignore[override]
        return LeanChat(self)

    def _process_response_data(self, *, data: object, cast_to: Any, response: httpx2.Response) -> Any:
        # The SDK builds a completion field by field without validating it (`construct_type`, a twentieth of the
        # loop's CPU at 64 in flight), and pydantic-ai then dumps it and validates the dump as its `_ChatCompletion`.
        # A body that validates as that at once is given as it is (`EndpointChatModel` takes it without the dump);
        # any other is built as the SDK builds it, so pydantic-ai's own validation says what is wrong with it.
        if cast_to is ChatCompletion and isinstance(data, dict):
            try:
                return _ChatCompletion.model_validate(data)
            except pydantic.ValidationError:
                pass
        return super()._process_response_data(data=data, cast_to=cast_to, response=response)

    @property
    def user_agent(self) -> str:  # the SDK names the client's class: the servers see the SDK's own name
        return f"AsyncOpenAI/Python {self._version}"


async def _closed_at_shutdown(session: ClientSession, done: Callable[[], object]) -> AsyncIterator[None]:
    """Started in a loop, it waits there for the loop's `shutdown_asyncgens`, which closes the session."""
    try:
        yield
    finally:
        await session.close()
        done()


class LoopSessionTransport(AiohttpTransport):
    """The SDK's aiohttp transport with a session per event loop, each closed at its loop's shutdown."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"limits": DEFAULT_CONNECTION_LIMITS, **kwargs})
        # By loop: its session, and what closes it (a loop holds its async generators weakly).
        self._sessions: dict[asyncio.AbstractEventLoop, tuple[ClientSession, AsyncIterator[None]]] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        loop = asyncio.get_running_loop()
        held = self._sessions.get(loop)
        if held is None or held[0].closed:
            self.client = None
            session = self.get_client()
            closer = _closed_at_shutdown(session, lambda: self._sessions.pop(loop, None))
            await anext(closer)
            self._sessions[loop] = held = (session, closer)
        for attempt in range(STALE_RETRIES + 1):
            self.client = held[0]  # the parent sends through `self.client` before it first awaits
            try:
                return await super().handle_async_request(request)
            except httpx2.ConnectTimeout as exc:
                # The vendored map calls every connection error a connect timeout: a refused or dropped connection
                # is said as httpx says it, so that it reads as a connection error (refused endpoints fail fast).
                cause = exc.__cause__
                if cause is None or isinstance(cause, TimeoutError):
                    raise
                if isinstance(cause, aiohttp.ServerDisconnectedError) and attempt < STALE_RETRIES:
                    # A kept-alive connection the server had closed meanwhile (httpcore looks before it reuses
                    # one; aiohttp finds out by sending): it is dropped, and the request goes on another.
                    continue
                error = httpx2.ConnectError if isinstance(cause, aiohttp.ClientConnectorError) else httpx2.RemoteProtocolError
                raise error(str(cause)) from cause
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        held = self._sessions.pop(asyncio.get_running_loop(), None)
        if held is not None:
            await held[0].close()


def lean_client(*, base_url: str | None, api_key: str, timeout: float, max_retries: int = 0) -> LeanAsyncOpenAI:
    """The client the product calls an endpoint with: the SDK's defaults (limits, redirects), aiohttp below."""
    http = DefaultAioHttpClient(timeout=timeout, transport=LoopSessionTransport())
    return LeanAsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries,
                           http_client=http)
