"""Scripted models for stage tests: each answers the output tool on offer from a queue or a function."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tools.llm.stage import StageModels

Answer = dict[str, Any] | str | Callable[[str], dict[str, Any] | str]


def last_user_prompt(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        for part in getattr(message, "parts", []):
            if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                return part.content
    return ""


def _retry_pending(messages: list[ModelMessage]) -> bool:
    parts = getattr(messages[-1], "parts", [])
    return any(part.part_kind == "retry-prompt" for part in parts)


class Script:
    """Answers per output tool name, consumed in order; a callable gets the last user prompt.

    A string answer is sent as raw (possibly malformed) JSON arguments, to exercise validation.
    """

    def __init__(self, **answers: list[Answer]) -> None:
        self.answers = {name: list(queue) for name, queue in answers.items()}
        self.calls: dict[str, list[str]] = {}

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        tools = [t.name for t in info.output_tools] or [t.name for t in info.function_tools]
        name = next((t for t in tools if t in self.answers), None)
        if name is None:
            raise AssertionError(f"script has no answer for tools {tools}")
        prompt = last_user_prompt(messages)
        self.calls.setdefault(name, []).append(prompt)
        queue = self.answers[name]
        answer = queue[0] if len(queue) == 1 else queue.pop(0)
        if callable(answer):
            answer = answer(prompt)
        args = answer if isinstance(answer, str) else json.dumps(answer)
        return ModelResponse(parts=[ToolCallPart(name, args)])

    def model(self) -> FunctionModel:
        return FunctionModel(self)


def stage_models(script: Script, judge: Script | None = None) -> StageModels:
    model = script.model()
    judge_model = judge.model() if judge else model
    return StageModels(
        models={"chat": model, "generator": model, "judge": judge_model},
        names={"chat": "function:script", "generator": "function:script", "judge": "function:judge" if judge else "function:script"},
    )


def chat_turns(*turns: list[str] | str) -> Callable[[list[ModelMessage], AgentInfo], ModelResponse]:
    """An orchestrator that calls the named tool on a user turn and replies with text after a tool returns."""
    queue = list(turns)

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        if any(isinstance(p, ToolReturnPart) for p in last.parts):
            returned = next(p for p in last.parts if isinstance(p, ToolReturnPart))
            return ModelResponse(parts=[TextPart(f"OK. {returned.content}")])
        offered = [t.name for t in info.function_tools]
        wanted = queue.pop(0)
        names = [wanted] if isinstance(wanted, str) else wanted
        name = next((n for n in names if n in offered), None)
        if name is None:
            return ModelResponse(parts=[TextPart(f"(no step: offered {offered})")])
        return ModelResponse(parts=[ToolCallPart(name, {})])

    return respond
