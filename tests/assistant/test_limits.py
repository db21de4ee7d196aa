"""The limits of a shared server: each refusal names the limit and the setting that sets it."""

from __future__ import annotations

from pathlib import Path

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from assistant.build_slots import BuildSlots
from assistant.conversation import check_message, respond
from assistant.deps import AssistantDeps
from assistant.session import ThreadState
from assistant.settings import Settings
from assistant.steps import _budget_setting
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.assistant.threads import thread_store
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan, TokenUsage
from tools.engine.budget import Budget
from tools.llm.stage import StageModels


def test_build_slots_count_per_user_and_in_all() -> None:
    slots = BuildSlots(per_user=1, total=2)
    assert slots.refusal("alice") is None
    slots.add("a1", "alice")
    assert "BENCHMARK_AGENT_MAX_BUILDS_PER_USER=1" in (slots.refusal("alice") or "")
    assert slots.refusal("bob") is None
    slots.add("b1", "bob")
    assert "BENCHMARK_AGENT_MAX_BUILDS=2" in (slots.refusal("carol") or "")
    slots.discard("a1")
    assert slots.refusal("alice") is None and "a1" not in slots and "b1" in slots and len(slots) == 1
    assert BuildSlots().refusal("anyone") is None, "without limits (the CLI), nothing is refused"


def test_the_defaults_are_limits_a_lab_server_can_live_with() -> None:
    settings = Settings()
    assert settings.max_message_chars == 20_000 and settings.max_builds_per_user == 2 and settings.max_builds == 8
    assert settings.max_tokens == 5_000_000 and settings.max_uploads == 5 and settings.max_upload_mb == 20
    assert settings.origins() == []


def test_a_long_message_is_refused_with_its_setting_before_anything_reads_it() -> None:
    assert check_message("x" * 101, 100) is not None and "BENCHMARK_AGENT_MAX_MESSAGE_CHARS" in check_message("x" * 101, 100)  # type: ignore[operator]
    assert check_message("x" * 100, 100) is None


def test_a_budget_stop_names_the_setting_to_raise() -> None:
    spent = {"generator": TokenUsage(requests=1, input_tokens=900, output_tokens=200)}
    tokens = Budget(max_tokens=1000).exceeded(spent, None)
    cost = Budget(max_cost=0.01).exceeded(spent, 0.5)
    assert "BENCHMARK_AGENT_MAX_TOKENS" in _budget_setting(tokens)
    assert "BENCHMARK_AGENT_MAX_COST" in _budget_setting(cost)
    assert _budget_setting("the endpoint stayed down") == "" and _budget_setting(None) == ""


async def test_a_build_refused_at_the_servers_limit_says_the_limit_whatever_the_chat_model_retells(
        tmp_path: Path) -> None:
    def chatty(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if any(isinstance(p, ToolReturnPart) for p in messages[-1].parts):
            return ModelResponse(parts=[TextPart("All set, your build is on its way!")])  # not what the step said
        return ModelResponse(parts=[ToolCallPart(info.function_tools[0].name, {})])

    spec = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=2)
    state = ThreadState(thread_id="t", owner="alice", phase="planned")
    state.commit(SubtaskPlan(subtasks=[Subtask(id="a", name="A", description="d", answer_format="numeric", quota=2)]),
                 spec, "designed", [])
    slots = BuildSlots(per_user=2, total=1)
    slots.add("someone-elses-build", "bob")
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        deps = AssistantDeps(settings=Settings(data_dir=tmp_path / "data"), store=store, state=state,
                             models=StageModels(models={"chat": FunctionModel(chatty)}, names={"chat": "function:chat"}),
                             active_builds=slots)
        reply = await respond(deps, "go", thread_store(tmp_path / "data"))
    assert "BENCHMARK_AGENT_MAX_BUILDS=1" in reply.text and "on its way" not in reply.text
    assert state.phase == "planned", "nothing of the plan is lost"
