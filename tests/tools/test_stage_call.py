"""A stage call without the agent graph sends what `Agent.run` sends and ends as `Agent.run` ends, in every mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic_ai.models
import pytest
from pydantic_ai import Agent, BinaryContent
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RequestUsage

from assistant.model_registry import stage_models
from assistant.settings import Settings
from tests.fake_llm import FakeLLMServer
from tools.finish.panel import hardener_agent
from tools.finish.quality import quality_agent
from tools.finish.scoring import grader_agent
from tools.llm import call as stage_call
from tools.llm.call import call_agent
from tools.llm.endpoints import MODE_PROFILES, OUTPUT_MODES, OutputMode, served_as
from tools.llm.resilience import _stable, call_key
from tools.llm.stage import run_stage
from tools.qc.closed_book import closed_book_agent
from tools.qc.dedup_judge import same_item_agent
from tools.qc.inspection import inspector_agent, repair_agent
from tools.qc.solve import adjudicator_agent, solver_agent
from tools.qc.verify import judge_agent
from tools.stages.brief import brief_agent
from tools.stages.design import design_agent
from tools.stages.generate import GENERATOR_OUTPUTS, GROUNDED_OUTPUTS, generator_agent
from tools.stages.refine import refine_agent
from tools.stages.requirements import spec_agent

STAGES: list[tuple[Agent[Any, Any], Any]] = [
    (agent, agent.output_type) for agent in (
        judge_agent, closed_book_agent, solver_agent, adjudicator_agent, same_item_agent, inspector_agent, repair_agent,
        hardener_agent, grader_agent, quality_agent, design_agent, spec_agent, brief_agent, refine_agent)
] + [(generator_agent, output) for output in [*GENERATOR_OUTPUTS.values(), *GROUNDED_OUTPUTS.values()]]

Answer = Callable[[int, AgentInfo], ModelResponse]


class _Keys(WrapperModel):
    """Notes the call key (what the call cache keys a response by) of every request, as the cache would see it."""

    def __init__(self, wrapped: FunctionModel) -> None:
        super().__init__(wrapped)
        self.keys: list[str] = []

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        self.keys.append(call_key("m", messages, model_settings, model_request_parameters))
        return await self.wrapped.request(messages, model_settings, model_request_parameters)


def _model(mode: OutputMode, answer: Answer) -> tuple[_Keys, list[dict[str, Any]]]:
    """A scripted model in `mode`, and what each request it got looked like once prepared."""
    seen: list[dict[str, Any]] = []

    def function(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        params = info.model_request_parameters
        seen.append({
            "messages": _stable(ModelMessagesTypeAdapter.dump_python(messages, mode="json")),
            "instructions": info.instructions, "settings": info.model_settings, "mode": params.output_mode,
            "output_tools": params.output_tools, "output_object": params.output_object,
            "template": params.prompted_output_template, "text": params.allow_text_output,
            "function_tools": params.function_tools, "native_tools": params.native_tools,
        })
        return answer(len(seen) - 1, info)

    return _Keys(FunctionModel(function, profile=MODE_PROFILES[mode], settings={"max_tokens": 900})), seen


def _reply(content: str, info: AgentInfo, tokens: int = 7) -> ModelResponse:
    """`content` as a tool call where the request offers an output tool, else as text."""
    usage = RequestUsage(input_tokens=10 * tokens, output_tokens=tokens)
    if info.output_tools:
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, content, tool_call_id="call-1")], usage=usage)
    return ModelResponse(parts=[TextPart(content)], usage=usage)


def _outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "output", asyncio.run(run())
    except UnexpectedModelBehavior as exc:
        return "failed", exc.message


def _both(agent: Agent[Any, Any], output: Any, mode: OutputMode, answer: Answer, prompt: Any = "Second item."
          ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The same call through `Agent.run` and through `call_agent` (its second with that model, so no longer watched):
    what each sent and how each ended."""
    served = served_as(output, mode)
    oracle, oracle_seen = _model(mode, answer)

    async def by_agent() -> Any:
        result = await agent.run(prompt, model=oracle, output_type=served)
        return result.output, (result.usage.requests, result.usage.input_tokens, result.usage.output_tokens)

    expected = _outcome(by_agent)
    ours, ours_seen = _model(mode, answer)
    _outcome(lambda: call_agent(agent, "First item.", model=ours, output_type=served))
    ours_seen.clear()
    ours.keys.clear()

    async def direct() -> Any:
        value, spent = await call_agent(agent, prompt, model=ours, output_type=served)
        return value, (spent.requests, spent.input_tokens, spent.output_tokens)

    got = _outcome(direct)
    return (expected, oracle_seen, oracle.keys), (got, ours_seen, ours.keys)


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    yield
    stage_call._requests.clear()


@pytest.mark.parametrize("mode", OUTPUT_MODES)
@pytest.mark.parametrize(("agent", "output"), STAGES, ids=lambda v: getattr(v, "name", None) or type(v).__name__)
def test_every_stage_sends_what_agent_run_sends_and_retries_as_it_does(agent: Agent[Any, Any], output: Any,
                                                                       mode: OutputMode) -> None:
    # An empty object is invalid output for every stage but one: the retry prompts are pydantic-ai's.
    expected, got = _both(agent, output, mode, lambda n, info: _reply("{}", info))
    assert got == expected
    assert expected[1] and expected[1][0]["instructions"]


def _solver_answers(script: list[str]) -> Answer:
    return lambda n, info: _reply(script[min(n, len(script) - 1)], info, tokens=n + 1)


VALID = json.dumps({"reasoning": "85 minutes.", "answer": "85"})
SCRIPTS = {
    "valid": [VALID],
    "in_fences": [f"```json\n{VALID}\n```"],
    "invalid_then_valid": [json.dumps({"reasoning": "x"}), VALID],
    "not_json_then_valid": ["The answer is 85.", VALID],
    "extra_field_then_valid": [json.dumps({"answer": "85", "confidence": 1}), VALID],
    "never_valid": ["{}"],
}


@pytest.mark.parametrize("mode", OUTPUT_MODES)
@pytest.mark.parametrize("script", SCRIPTS, ids=str)
def test_an_answer_ends_the_call_as_agent_run_ends_it(mode: OutputMode, script: str) -> None:
    expected, got = _both(solver_agent, solver_agent.output_type, mode, _solver_answers(SCRIPTS[script]))
    assert got == expected
    if script == "valid":
        assert expected[0] == ("output", (solver_agent.output_type.output(reasoning="85 minutes.", answer="85"),
                                          (1, 10, 1)))
    if script == "never_valid":
        assert expected[0][0] == "failed" and len(expected[1]) == 3  # two retries, as the agent allows


def test_text_beside_a_tool_call_and_a_call_to_an_unknown_tool_are_handled_as_agent_run_handles_them() -> None:
    def answer(n: int, info: AgentInfo) -> ModelResponse:
        if n == 0:
            return ModelResponse(parts=[TextPart("Let me answer."), ToolCallPart("lookup", "{}", tool_call_id="c0")])
        return ModelResponse(parts=[TextPart("Here."), ToolCallPart(info.output_tools[0].name, VALID, tool_call_id="c1")])

    expected, got = _both(solver_agent, solver_agent.output_type, "tool", answer)
    assert got == expected and expected[0][0] == "output" and len(expected[1]) == 2


def test_a_prompt_with_an_image_is_sent_as_agent_run_sends_it() -> None:
    prompt = ["Write one item about this picture.", BinaryContent(b"\x89PNG\r\n\x1a\n", media_type="image/png")]
    expected, got = _both(generator_agent, GENERATOR_OUTPUTS["numeric"], "tool", lambda n, info: _reply("{}", info),
                          prompt=prompt)
    assert got == expected


def test_a_valid_answer_after_the_first_call_is_taken_without_agent_run(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [VALID]
    model, seen = _model("tool", lambda n, info: _reply(answers.pop(0) if len(answers) > 1 else answers[0], info))
    asyncio.run(call_agent(solver_agent, "First.", model=model, output_type=solver_agent.output_type))
    runs: list[object] = []
    real_run = solver_agent.run

    async def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(args)
        return await real_run(*args, **kwargs)

    monkeypatch.setattr(solver_agent, "run", counted)
    for n in range(3):
        value, spent = asyncio.run(call_agent(solver_agent, f"Item {n}.", model=model, output_type=solver_agent.output_type))
        assert value.answer == "85" and (spent.requests, spent.input_tokens, spent.output_tokens) == (1, 70, 7)
    assert runs == [] and len(seen) == 4
    # An invalid answer goes on through the agent, which gets the answer already had instead of asking again.
    answers[:] = ["{}", VALID]
    value, spent = asyncio.run(call_agent(solver_agent, "Item 4.", model=model, output_type=solver_agent.output_type))
    assert value.answer == "85" and len(runs) == 1 and len(seen) == 6 and spent.requests == 2
    retry = seen[-1]["messages"][-1]["parts"][0]  # the validation error, back to the model as the tool's answer
    assert retry["tool_name"] == "submit_answer" and retry["content"][0]["msg"] == "Field required"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    fake = FakeLLMServer(port=0, quirks={"no_tools", "no_json_schema", "think_tags"})
    fake.start()
    yield fake
    fake.stop()


def test_reasoning_in_think_tags_is_not_taken_as_the_answer_on_the_direct_path(server: FakeLLMServer, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    settings = Settings(model="openai:fake-model", openai_base_url=server.base_url, data_dir=tmp_path,
                        output_mode="prompted")
    models = stage_models(settings)

    async def three() -> list[Any]:
        return [await run_stage(solver_agent, f"Question: what is {n} + {n}?", models=models, role="judge",
                                stage="solve") for n in range(3)]

    answers = asyncio.run(three())
    assert all(a.answer for a in answers) and server.stats.completions == 3
    assert models.usage["judge"].requests == 3
