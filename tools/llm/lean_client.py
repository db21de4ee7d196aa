"""The OpenAI client the product calls endpoints with: the SDK's own, less its request-body transform.

`chat.completions.create` walks every request body against the SDK's TypedDicts (`async_maybe_transform`), to
rename aliased keys and encode formatted values (dates, base64 files), before it posts the body. The chat
completion parameters have neither (`tests/tools/test_lean_client.py` checks the SDK's types for any), so the
walk returns the body it was given, less the omitted values; at 16 requests in flight it was about a tenth of the
event loop's CPU in a build. `LeanAsyncOpenAI` posts a non-streaming chat completion's body as given, omitted
values dropped, through the SDK's own `_post`: the same URL, headers, auth, timeout, errors and `ChatCompletion`
parsing. Streaming calls and every other resource are the SDK's, unchanged.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from openai import AsyncOpenAI, AsyncStream, omit
from openai._base_client import make_request_options
from openai._utils import is_given
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.chat.completions.completions import validate_response_format
from openai.types.chat import ChatCompletion, ChatCompletionChunk

_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")


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

    @property
    def user_agent(self) -> str:  # the SDK names the client's class: the servers see the SDK's own name
        return f"AsyncOpenAI/Python {self._version}"
