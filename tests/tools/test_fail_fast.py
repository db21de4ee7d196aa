"""A server that cannot serve is reported within seconds; one that was working is waited for as before."""

from __future__ import annotations

import pytest
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tools.contracts import JudgeVerdict
from tools.errors import ModelUnavailable
from tools.llm.resilience import ResilientModel
from tools.llm.stage import StageModels, run_stage

AGENT = Agent(output_type=ToolOutput(JudgeVerdict, name="submit_verdict"))
SAME_500 = {"message": "Input should be 'text' or 'json_object'", "type": "internal_server_error"}


class Script:
    """Answers per call from a list: an exception to raise, or None for a valid verdict."""

    def __init__(self, *steps: Exception | None) -> None:
        self.steps, self.calls = list(steps), 0

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if step is not None:
            raise step
        return ModelResponse(parts=[ToolCallPart("submit_verdict", {"verdict": "accept"})])


def _http(status: int, body: object) -> ModelHTTPError:
    return ModelHTTPError(status_code=status, model_name="m", body=body)


async def _no_sleep(seconds: float) -> None:
    pass


async def test_the_same_server_error_twice_at_first_contact_is_raised_with_the_servers_message() -> None:
    script = Script(_http(500, SAME_500))
    models = StageModels(models={"judge": ResilientModel(FunctionModel(script), sleep=_no_sleep)}, names={"judge": "j"})
    with pytest.raises(ModelUnavailable) as caught:
        await run_stage(AGENT, "x", models=models, role="judge", stage="judging")
    assert script.calls == 2
    assert "HTTP 500: Input should be 'text' or 'json_object'" in str(caught.value)
    assert "BENCHMARK_AGENT_OUTPUT_MODE" in str(caught.value)


@pytest.mark.parametrize("text", ["tool_choice 'required' is unsupported", "model 'x' not found",
                                  "this model does not support tools"])
async def test_an_error_saying_unsupported_or_not_found_is_not_retried_at_first_contact(text: str) -> None:
    script = Script(_http(500, {"message": text}))
    with pytest.raises(ModelHTTPError):
        await AGENT.run("x", model=ResilientModel(FunctionModel(script), sleep=_no_sleep))
    assert script.calls == 1


async def test_changing_server_errors_at_first_contact_are_still_retried() -> None:
    script = Script(_http(503, {"message": "loading model"}), _http(500, {"message": "busy"}), None)
    model = ResilientModel(FunctionModel(script), sleep=_no_sleep)
    result = await AGENT.run("x", model=model)
    assert result.output.verdict == "accept" and model.retries == 2


async def test_an_endpoint_that_was_working_is_retried_through_repeated_errors() -> None:
    script = Script(None, *[_http(500, SAME_500)] * 4, None)
    model = ResilientModel(FunctionModel(script), sleep=_no_sleep)
    await AGENT.run("x", model=model)
    result = await AGENT.run("x", model=model)
    assert result.output.verdict == "accept" and model.retries == 4
