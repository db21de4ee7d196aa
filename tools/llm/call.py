"""One stage call without the agent graph, where the answer is valid at once (most calls of a build).

`Agent.run` costs the event loop about 8 ms of CPU per call (run setup, its graph, its hooks), several times the
request itself, and a build makes two to three calls per sample. `call_agent` asks the model directly
(`Model.request`, so the injected model and its wrappers are the same) with the request `Agent.run` makes:
the first call of a stage with an endpoint's model (whatever build wraps it) goes through `Agent.run`, which is
watched, and its request's settings,
parameters (output tool or schema, output mode) and instructions are kept for the next calls, which only put
their own prompt in. Their answer is validated with pydantic-ai's own output processors, built once per output
type. An answer that is not valid output at once (a validation error, text where a tool call was wanted, a
truncated reply) goes on through `Agent.run`, its first answer replayed from memory rather than asked again,
so retry prompts, their limits, the errors raised and the usage are pydantic-ai's.

Only a plain stage agent takes this path: static instructions, no tools, no output validators, an output that
is one or more pydantic models (as a tool, a `NativeOutput` or a `PromptedOutput`). Any other agent is run by
`Agent.run` every time.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from pydantic_ai import Agent
from pydantic_ai._instructions import SourcedInstruction
from pydantic_ai._output import ObjectOutputProcessor, OutputSchema, StructuredTextOutputSchema, ToolOutputSchema
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    UserContent,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings

from tools.llm.resilience import CachedModel, ResilientModel, SlotModel


@dataclass
class Spent:
    """What one stage call cost: requests, input and output tokens (retries included)."""

    requests: int
    input_tokens: int
    output_tokens: int


@dataclass
class _Request:
    """The request `Agent.run` made for a stage's first call with a model: reused by the next calls."""

    instructions: str | None
    settings: ModelSettings | None
    params: ModelRequestParameters


@dataclass
class _Output:
    """How an answer becomes the stage's output: the processor of each output tool, or of the text."""

    tools: dict[str, ObjectOutputProcessor[Any]]
    text: ObjectOutputProcessor[Any] | None


# By (agent, output type, model that shapes the request). Agents and output types are held in the value, so their
# ids are not reused while they are a key; a model is not: its entries go when it does.
_requests: dict[tuple[int, int, int], tuple[Agent[Any, Any], Any, _Request]] = {}
_outputs: dict[int, tuple[Any, _Output | None]] = {}


def plain(agent: Agent[Any, Any]) -> bool:
    """True for an agent whose request is the same for every prompt and whose output needs no hook of its own."""
    instructions = agent._instructions
    return (not agent._output_validators and not agent._function_toolset.tools and not agent._user_toolsets
            and not agent._dynamic_toolsets and not agent._system_prompts and not agent._system_prompt_functions
            and not agent._cap_toolsets and not agent._cap_instructions and agent.model_settings is None
            and all(isinstance(i, SourcedInstruction) and isinstance(i.instruction, str) and not i.dynamic
                    for i in instructions))


def _output(output_type: Any) -> _Output | None:
    """The processors for `output_type`, or None where an output needs more than a pydantic model's validation."""
    if (known := _outputs.get(id(output_type))) is not None and known[0] is output_type:
        return known[1]
    schema = OutputSchema.build(output_type)
    found: _Output | None = None
    if not (schema.allows_none or schema.allows_deferred_tools or schema.allows_image
            or schema.allows_pending_model_response):
        if isinstance(schema, ToolOutputSchema) and schema.toolset is not None and schema.text_processor is None:
            found = _Output(tools=dict(schema.toolset.processors), text=None)
        elif isinstance(schema, StructuredTextOutputSchema) and isinstance(schema.processor, ObjectOutputProcessor):
            found = _Output(tools={}, text=schema.processor)
        if found is not None and not all(map(_simple, [*found.tools.values(), found.text])):
            found = None
    _outputs[id(output_type)] = (output_type, found)
    return found


def _simple(processor: ObjectOutputProcessor[Any] | None) -> bool:
    return processor is None or (processor._function_schema is None and processor._choice_values is None)


def _valid(processor: ObjectOutputProcessor[Any], data: str | dict[str, Any] | None) -> tuple[bool, Any]:
    try:
        value = processor.validate(data)
    except ValidationError:
        return False, None
    return True, value[processor.outer_typed_dict_key] if processor.outer_typed_dict_key else value


def accepted(output: _Output, response: ModelResponse) -> tuple[bool, Any]:
    """The output in `response` where pydantic-ai would end the run on it at once; (False, None) otherwise."""
    if response.finish_reason == "length" or response.state == "suspended":
        return False, None
    if any(not isinstance(part, TextPart | ThinkingPart | ToolCallPart) for part in response.parts):
        return False, None
    calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
    if output.tools:  # one call, of an output tool, with valid arguments
        if len(calls) != 1 or calls[0].tool_name not in output.tools:
            return False, None
        args = cast(str | dict[str, Any] | None, calls[0].args)
        return _valid(output.tools[calls[0].tool_name], args)
    text = "".join(part.content for part in response.parts if isinstance(part, TextPart))
    if calls or not text or output.text is None:
        return False, None
    return _valid(output.text, text)


def _shaper(model: Model) -> Model:
    """The model that decides how a request is built: the first inside the build's own wrappers, which pass a
    request on as they get it. A build wraps the endpoint's model anew; what was learnt of it holds for the next."""
    while isinstance(model, SlotModel | CachedModel | ResilientModel | _Watched):
        model = model.wrapped
    return model


class _Watched(WrapperModel):
    """The model as `Agent.run` is given it: its first request's shape is kept, and a first answer already had
    is replayed instead of asked again."""

    def __init__(self, wrapped: Model, *, replay: ModelResponse | None = None) -> None:
        super().__init__(wrapped)
        self.replay = replay
        self.first: _Request | None = None

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        if self.first is None and len(messages) == 1 and isinstance(messages[0], ModelRequest):
            self.first = _Request(messages[0].instructions, model_settings, model_request_parameters)
        if self.replay is not None:
            response, self.replay = self.replay, None
            return response
        return await self.wrapped.request(messages, model_settings, model_request_parameters)


async def _agent_run(agent: Agent[Any, Any], prompt: str | Sequence[UserContent], model: Model,
                     output_type: Any) -> tuple[Any, Spent]:
    if output_type is agent.output_type:
        result = await agent.run(prompt, model=model)
    else:
        result = await agent.run(prompt, model=model, output_type=output_type)
    usage = result.usage
    return result.output, Spent(usage.requests, usage.input_tokens, usage.output_tokens)


async def call_agent(agent: Agent[Any, Any], prompt: str | Sequence[UserContent], *, model: Model,
                     output_type: Any) -> tuple[Any, Spent]:
    """What `agent.run(prompt, model=model, output_type=output_type)` returns, and what it spent."""
    output = _output(output_type) if plain(agent) else None
    if output is None:
        return await _agent_run(agent, prompt, model, output_type)
    shaper = _shaper(model)
    key = (id(agent), id(output_type), id(shaper))
    known = _requests.get(key)
    if known is None or known[0] is not agent or known[1] is not output_type:
        watched = _Watched(model)
        try:
            return await _agent_run(agent, prompt, watched, output_type)
        finally:  # a run that failed still made its first request as the agent makes it
            if watched.first is not None and key not in _requests:
                _requests[key] = (agent, output_type, watched.first)
                weakref.finalize(shaper, _requests.pop, key, None)
    shape = known[2]
    part = UserPromptPart(prompt if isinstance(prompt, str) else list(prompt))
    messages: list[ModelMessage] = [ModelRequest(parts=[part], instructions=shape.instructions)]
    response = await model.request(messages, shape.settings, shape.params)
    ok, value = accepted(output, response)
    if ok:
        return value, Spent(1, response.usage.input_tokens, response.usage.output_tokens)
    return await _agent_run(agent, prompt, _Watched(model, replay=response), output_type)
