"""How structured output reaches an OpenAI-compatible endpoint: one output mode per endpoint and model.

Servers differ in what they honour: tool calls with `tool_choice="required"`, `response_format` of type
`json_schema`, `json_object` (llama.cpp servers take a `schema` beside it), or none of these. Each mode is a
pydantic-ai model profile, so every stage agent keeps its plain output types and pydantic-ai picks the mode:

    tool         output tools, the one tool named in `tool_choice` (servers that ignore "required" honour a name)
    native       `response_format: {"type": "json_schema", ...}`
    json_object  `response_format: {"type": "json_object", "schema": ...}`, schema also in the instructions
    prompted     schema in the instructions only; the text is parsed and validated, a retry quotes the error

With `auto`, the first request to an endpoint waits for a probe: a tiny structured request per mode, in the
order above, until one returns valid output. The winner is remembered per endpoint and model (in memory
and in `endpoints.json` under the data directory) and used by every role on that endpoint.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from openai import AsyncOpenAI
from pydantic import BaseModel, Field
from pydantic_ai import Agent, NativeOutput, PromptedOutput, ToolOutput
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.models.openai import OpenAIChatModel, _ChatCompletion
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings

from memory.files import write_json
from tools.errors import ModelUnavailable

OutputMode = Literal["tool", "native", "json_object", "prompted"]
OUTPUT_MODES: tuple[OutputMode, ...] = get_args(OutputMode)
OUTPUT_MODE_SETTING = "BENCHMARK_AGENT_OUTPUT_MODE"
PREPARED_KEPT = 64  # prepared requests kept per model: a build's stages reuse a few dozen

MODE_PROFILES: dict[OutputMode, ModelProfile] = {
    "tool": {"default_structured_output_mode": "tool"},
    "native": {"default_structured_output_mode": "native", "supports_json_schema_output": True},
    "json_object": {"default_structured_output_mode": "prompted", "supports_json_object_output": True},
    "prompted": {"default_structured_output_mode": "prompted", "supports_json_object_output": False},
}


class EndpointChatModel(OpenAIChatModel):
    """An OpenAI-compatible chat model in one output mode, sending only message shapes every server accepts.

    - an assistant turn that made tool calls carries `content: ""`, never `null` (llama-cpp-python's server
      refuses `null`, OpenAI, vLLM and Ollama take both);
    - a forced choice among a single tool names that tool instead of sending `"required"`;
    - in `json_object` mode the output schema travels beside the type, as llama.cpp's servers read it.
    """

    def __init__(self, model_name: str, *, client: AsyncOpenAI, mode: OutputMode) -> None:
        super().__init__(model_name, provider=OpenAIProvider(openai_client=client), profile=MODE_PROFILES[mode])
        self.output_mode: OutputMode = mode
        self.sent = [0, 0, 0]  # requests sent, input and output tokens answered: what a probe books
        self._prepared: dict[tuple[int, int], tuple[Any, Any, tuple[ModelSettings | None, ModelRequestParameters]]] = {}

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        self.sent[0] += 1
        response = await super().request(messages, model_settings, model_request_parameters)
        self.sent[1] += response.usage.input_tokens
        self.sent[2] += response.usage.output_tokens
        return response

    def _validate_completion(self, response: Any) -> Any:
        if type(response) is _ChatCompletion:  # validated as such when it was read (tools.llm.lean_client)
            return response
        return super()._validate_completion(response)

    def _process_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        # A completion without choices is a broken reply (pydantic-ai would fail on it with an IndexError): said as
        # pydantic-ai says of other broken replies, so the retries treat it the same (tools.llm.resilience).
        if getattr(response, "choices", None) == []:
            raise UnexpectedModelBehavior(f"Invalid response from {self.system} chat completions endpoint: no choices")
        return super()._process_response(response, **kwargs)

    class _MapModelResponseContext(OpenAIChatModel._MapModelResponseContext):
        def _into_message_param(self) -> Any:
            message = super()._into_message_param()
            if message is not None and message.get("tool_calls") and message.get("content") is None:
                message["content"] = ""
            return message

    def _get_tool_choice(self, model_settings: Any, model_request_parameters: ModelRequestParameters) -> Any:
        tools, choice = super()._get_tool_choice(model_settings, model_request_parameters)
        if choice == "required" and len(tools) == 1:
            choice = {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
        return tools, choice

    def prepare_request(self, model_settings: ModelSettings | None,
                        model_request_parameters: ModelRequestParameters) -> tuple[ModelSettings | None, ModelRequestParameters]:
        # A stage's calls after its first send the same settings and parameters objects (tools.llm.call), and
        # preparing them (merging settings, walking each tool's JSON schema for the profile) was a twelfth of the
        # event loop's CPU at 64 in flight: what they prepared to is kept, by identity (pydantic-ai does not
        # change either in place, nor what it returns).
        key = (id(model_settings), id(model_request_parameters))
        known = self._prepared.get(key)
        if known is not None and known[0] is model_settings and known[1] is model_request_parameters:
            return known[2]
        prepared = self._prepare(model_settings, model_request_parameters)
        self._prepared[key] = (model_settings, model_request_parameters, prepared)
        while len(self._prepared) > PREPARED_KEPT:
            del self._prepared[next(iter(self._prepared))]
        return prepared

    def _prepare(self, model_settings: ModelSettings | None,
                 model_request_parameters: ModelRequestParameters) -> tuple[ModelSettings | None, ModelRequestParameters]:
        settings, params = super().prepare_request(model_settings, model_request_parameters)
        if self.output_mode == "json_object" and params.output_mode == "prompted" and params.output_object is not None:
            schema = params.output_object.json_schema
            extra = {**cast(dict[str, Any], (settings or {}).get("extra_body") or {}),
                     "response_format": {"type": "json_object", "schema": schema}}
            settings = cast(ModelSettings, {**(settings or {}), "extra_body": extra})
        return settings, params


# --- what is remembered --------------------------------------------------------------------


def endpoint_key(base_url: str | None, model_name: str) -> str:
    return f"{(base_url or 'https://api.openai.com/v1').rstrip('/')}|{model_name}"


class ModeMemory:
    """The output mode found for each endpoint and model, kept in a JSON file so a restart does not re-probe."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.modes: dict[str, OutputMode] = {}
        if path is not None and path.is_file():
            try:
                stored = json.loads(path.read_text())
            except (OSError, ValueError):
                stored = {}
            if isinstance(stored, dict):
                self.modes = {k: v for k, v in stored.items() if v in OUTPUT_MODES}

    def get(self, key: str) -> OutputMode | None:
        return self.modes.get(key)

    def put(self, key: str, mode: OutputMode) -> None:
        self.modes[key] = mode
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.path, self.modes)


# --- the probe -----------------------------------------------------------------------------


class EndpointProbe(BaseModel):
    """A short test answer."""

    word: str = Field(max_length=20, description="The word 'ready'.")
    number: int = Field(description="The number 7.")


_PROBE_PROMPT = "This is a connection test. Answer with the word ready and the number 7."
_probe_agent: Agent[None, EndpointProbe] = Agent(output_type=EndpointProbe, retries=1, defer_model_check=True)


@dataclass
class ProbeAttempt:
    mode: OutputMode
    error: str | None  # None: valid output
    seconds: float


def server_message(exc: BaseException) -> str:
    """The server's own words from a failed request: the `message` of its error body when it sent one."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        if text:
            status = getattr(exc, "status_code", None)
            return f"HTTP {status}: {text}" if status else str(text)
    if isinstance(exc, UnexpectedModelBehavior):
        return f"no valid output ({exc.message})"
    return str(exc) or exc.__class__.__name__


def fatal_for_every_mode(exc: BaseException) -> bool:
    """Failures no other output mode can fix: the server is not there, refuses the key, or has no such model."""
    if isinstance(exc, ModelConnectionError | ModelAuthenticationError):
        return True
    return isinstance(exc, ModelHTTPError) and exc.status_code in (401, 403, 404)


@dataclass
class Endpoint:
    """One endpoint and model: its output mode (found once, under a lock) and the models that serve each mode."""

    base_url: str | None
    model_name: str
    make: Callable[[OutputMode], Model]  # the model in one mode, wrapped for the probe (retries, fail fast)
    client_model: Callable[[OutputMode], EndpointChatModel]
    memory: ModeMemory
    mode: OutputMode | None = None
    how: str = ""  # "probed", "remembered", "set"
    attempts: list[ProbeAttempt] = field(default_factory=list)
    # What the probe spent (requests, input and output tokens), until whoever triggered it books it.
    unbooked: tuple[int, int, int] = (0, 0, 0)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _models: dict[OutputMode, EndpointChatModel] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return endpoint_key(self.base_url, self.model_name)

    def model_for(self, mode: OutputMode) -> EndpointChatModel:
        if mode not in self._models:
            self._models[mode] = self.client_model(mode)
        return self._models[mode]

    def note(self) -> str:
        where = self.base_url or "the OpenAI API"
        how = {"probed": "found by probing at first contact", "remembered": "found by an earlier probe",
               "set": f"set by {OUTPUT_MODE_SETTING}"}.get(self.how, self.how)
        return f"Structured output for '{self.model_name}' at {where}: {self.mode} ({how})."

    async def negotiate(self) -> OutputMode:
        if self.mode is not None:  # found: every request asks, and the lock would cost each of them a wait
            return self.mode
        async with self._lock:
            if self.mode is None:
                remembered = self.memory.get(self.key)
                if remembered is not None:
                    self.mode, self.how = remembered, "remembered"
                else:
                    self.mode, self.how = await self._probe(), "probed"
                    self.memory.put(self.key, self.mode)
            return self.mode

    async def _probe(self) -> OutputMode:
        self.attempts = []
        for mode in OUTPUT_MODES:
            started = time.monotonic()
            model = self.make(mode)
            try:
                await _probe_agent.run(_PROBE_PROMPT, model=model)
            except (ModelAPIError, UnexpectedModelBehavior) as exc:
                self._spent(model)
                self.attempts.append(ProbeAttempt(mode, server_message(exc), time.monotonic() - started))
                if fatal_for_every_mode(exc):
                    raise  # no other mode fixes it; the stage says which role and setting it concerns
                continue
            self._spent(model)
            self.attempts.append(ProbeAttempt(mode, None, time.monotonic() - started))
            return mode
        raise ModelUnavailable(self._no_mode_works())

    def _spent(self, model: Model) -> None:
        """Add what one attempt sent (every request, retries included) to what is still to be booked."""
        while isinstance(model, WrapperModel):
            model = model.wrapped
        if isinstance(model, EndpointChatModel):
            requests, input_tokens, output_tokens = model.sent
            r, i, o = self.unbooked
            self.unbooked = (r + requests, i + input_tokens, o + output_tokens)

    def take_spend(self) -> tuple[int, int, int]:
        """What the probe spent that nobody has booked yet; booked once, by the caller."""
        spent, self.unbooked = self.unbooked, (0, 0, 0)
        return spent

    def _no_mode_works(self) -> str:
        tried = "; ".join(f"{a.mode}: {a.error}" for a in self.attempts)
        return (
            f"The server at {self.base_url or 'the OpenAI API'} gave no valid structured output for model "
            f"'{self.model_name}' in any output mode ({tried}). Check the model name, or set {OUTPUT_MODE_SETTING} "
            f"to one of {', '.join(OUTPUT_MODES)} if you know what the server supports."
        )


class NegotiatedModel(WrapperModel):
    """The endpoint's model in the mode its probe found; before that, the tool-calling one.

    A stage runs `await negotiate(model)` before building its request (`run_stage` does), because pydantic-ai
    reads the output mode from the profile while it prepares the request."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint.model_for("tool"))
        self.endpoint = endpoint

    @property
    def answered(self) -> bool:
        """True once the probe got a valid answer: the endpoint worked, so later faults are transient."""
        return self.endpoint.mode is not None and self.endpoint.how == "probed"

    async def negotiate(self) -> OutputMode:
        mode = await self.endpoint.negotiate()
        self.wrapped = self.endpoint.model_for(mode)
        return mode

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        await self.negotiate()
        return await self.wrapped.request(messages, model_settings, model_request_parameters)


def negotiated_parts(model: Model) -> list[NegotiatedModel]:
    """The negotiated endpoint models inside a chain of wrappers (none for fakes and the embedded model)."""
    found: list[NegotiatedModel] = []
    while isinstance(model, WrapperModel):
        if isinstance(model, NegotiatedModel):
            found.append(model)
        model = model.wrapped
    return found


def output_for(output_type: Any, model: Model) -> Any:
    """A stage's output type as `model`'s endpoint serves it, once negotiated. A stage names its output as a tool
    (`ToolOutput`), which pydantic-ai always sends as a tool: on an endpoint in native mode it becomes a
    `NativeOutput` (a `json_schema` response format), in json_object or prompted mode a `PromptedOutput`, with
    the same name and description, which travel as the schema's title. Anything else is returned unchanged."""
    parts = negotiated_parts(model)
    return served_as(output_type, parts[0].endpoint.mode if parts else None)


def served_as(output_type: Any, mode: OutputMode | None) -> Any:
    """`output_type` as an endpoint in `mode` serves it (see `output_for`)."""
    if mode in (None, "tool") or not isinstance(output_type, ToolOutput):
        return output_type
    # The same object every time for the same output and mode: pydantic-ai's schema for it is built once.
    known = _served.get((id(output_type), mode == "native"))
    if known is not None and known[0] is output_type:
        return known[1]
    served: Any
    if mode == "native":
        served = NativeOutput(output_type.output, name=output_type.name, description=output_type.description,
                              strict=output_type.strict)
    else:
        served = PromptedOutput(output_type.output, name=output_type.name, description=output_type.description)
    _served[(id(output_type), mode == "native")] = (output_type, served)
    return served


_served: dict[tuple[int, bool], tuple[ToolOutput[Any], Any]] = {}


async def negotiate(model: Model) -> list[str]:
    """Find the output mode of every endpoint inside `model` (once each); returns a note per endpoint."""
    notes = []
    for part in negotiated_parts(model):
        await part.negotiate()
        notes.append(part.endpoint.note())
    return notes
