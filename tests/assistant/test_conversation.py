from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from assistant.conversation import respond, run_next_step
from assistant.deps import AssistantDeps
from assistant.flow import allowed_tools
from assistant.session import ThreadState
from assistant.settings import Settings
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.assistant.threads import thread_store
from tests.scripted import Script, chat_turns
from tests.tools.samples import ACCEPT, SPEC_CLEAR, SPEC_VAGUE, SUBTASKS, batch_for
from tools.llm.stage import StageModels


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as opened:
        yield opened


class Chat:
    """A scripted conversation: the orchestrator calls the named tools, stages answer from `script`."""

    def __init__(self, tmp_path: Path, store: SampleStore, script: Script, *turns: str | list[str]) -> None:
        self.offered: list[list[str]] = []
        respond_fn = chat_turns(*turns)

        def orchestrator(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
            if info.output_tools:  # a stage agent run on the chat model (requirements, design)
                return script(messages, info)
            self.offered.append([t.name for t in info.function_tools])
            return respond_fn(messages, info)

        # The conversation is under test here, not quality control: one judge verdict per sample.
        self.settings = Settings(data_dir=tmp_path / "data", batch_size=4, qc=False, design_briefs=False,
                                 quality_sample_size=0)
        models = StageModels(models={"chat": FunctionModel(orchestrator), "generator": script.model(), "judge": script.model()},
                             names={"chat": "function:chat", "generator": "function:gen", "judge": "function:judge"})
        self.threads = thread_store(self.settings.data_dir)
        self.deps = AssistantDeps(settings=self.settings, models=models, store=store,
                                  state=ThreadState(thread_id="t1"))
        self.script = script

    async def say(self, text: str) -> str:
        return (await respond(self.deps, text, self.threads)).text


def _script(spec: dict) -> Script:  # type: ignore[type-arg]
    return Script(submit_spec=[spec], submit_subtasks=[SUBTASKS], submit_samples=[batch_for], submit_verdict=[ACCEPT])


async def test_vague_request_gets_questions_then_go_plans_then_go_builds(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_VAGUE), "analyze_request", "design_plan", "build_benchmark")
    reply = await chat.say("a hard reasoning benchmark")
    state = chat.deps.state
    assert state.phase == "clarifying" and state.questions and state.questions[0].question in reply
    await chat.say("go")
    assert state.phase == "planned" and state.plan is not None and state.plan.total == state.spec.size  # type: ignore[union-attr]
    assert chat.offered[-2] == ["design_plan"], "a confirmation offers only the next step"
    await chat.say("yes")
    assert state.phase == "built" and state.build is not None and state.build.status == "complete"
    assert (Path(state.build.directory) / "benchmark.jsonl").exists()


async def test_clear_request_reaches_a_plan_after_one_confirmation(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await chat.say("40 hard multiple-choice arithmetic word problems")
    assert chat.deps.state.phase == "spec_ready" and chat.deps.state.spec.size == 40  # type: ignore[union-attr]
    await chat.say("looks good")
    assert chat.deps.state.phase == "planned" and chat.deps.state.plan.total == 40  # type: ignore[union-attr]


async def test_a_step_runs_once_per_turn_and_then_the_model_only_replies(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request")
    await chat.say("40 arithmetic word problems")
    assert chat.offered == [["analyze_request"], []]


async def test_state_survives_reloading_the_thread(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await chat.say("40 arithmetic word problems")
    await chat.say("go")
    reloaded = await thread_store(chat.settings.data_dir).load("t1")  # as a new server process reads it
    assert reloaded.spec == chat.deps.state.spec and reloaded.plan == chat.deps.state.plan
    assert reloaded.phase == "planned" and len(reloaded.history()) == len(chat.deps.state.history())


async def test_later_size_wins_and_the_user_is_told(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "analyze_request")
    await chat.say("50 arithmetic items")
    reply = await respond(chat.deps, "make it 100 items", chat.threads)
    assert chat.deps.state.spec.size == 100  # type: ignore[union-attr]
    assert any("from 50 to 100" in n for n in reply.notices)


@pytest.mark.parametrize("message", ["", "   ", "🎉🎉🎉", "a" * 200_000])
async def test_unusable_messages_get_guidance_and_change_nothing(tmp_path: Path, store: SampleStore, message: str) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "analyze_request")
    await chat.say("40 arithmetic word problems")
    before = chat.deps.state.model_copy(deep=True)
    reply = await chat.say(message)
    assert reply and chat.deps.state.spec == before.spec and chat.deps.state.phase == before.phase
    assert len(chat.offered) == 2, "no model call for an unusable message"


async def test_confirm_button_runs_the_next_step_without_the_chat_model(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request")
    await chat.say("40 arithmetic word problems")
    calls = len(chat.offered)
    reply = await run_next_step(chat.deps, chat.threads)
    assert chat.deps.state.phase == "planned" and len(chat.deps.state.plan.subtasks) == 2, reply.text  # type: ignore[union-attr]
    assert len(chat.offered) == calls


def test_each_phase_offers_only_its_tools() -> None:
    assert allowed_tools("gathering", "go") == ("analyze_request",)
    assert allowed_tools("clarifying", "go") == ("design_plan",)
    assert allowed_tools("spec_ready", "make it 30 items") == ("analyze_request",)
    assert allowed_tools("planned", "Yes!") == ("build_benchmark",)
    assert allowed_tools("building", "go") == ()


async def test_a_build_interrupted_by_a_restart_resumes_in_its_own_directory(tmp_path: Path, store: SampleStore) -> None:
    from assistant.session import BuildSummary
    from assistant.steps import recover_interrupted

    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await chat.say("8 arithmetic word problems")
    await chat.say("go")
    directory = tmp_path / "data" / "builds" / "build-0001"
    directory.mkdir(parents=True)
    state = chat.deps.state
    state.phase = "building"  # as saved by a server that died mid-build
    state.build = BuildSummary(build_id="b", directory=str(directory), status="stopped", accepted=0, requested=8)
    await recover_interrupted(chat.deps)
    assert state.phase == "planned" and any("interrupted" in n for n in state.notices)
    reply = await run_next_step(chat.deps, chat.threads)
    assert state.phase == "built" and state.build.directory == str(directory), reply.text  # type: ignore[union-attr]
    assert (directory / "benchmark.jsonl").exists()


async def test_a_second_build_of_the_same_thread_is_refused_while_one_runs(tmp_path: Path, store: SampleStore) -> None:
    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await chat.say("8 arithmetic word problems")
    await chat.say("go")
    chat.deps.active_builds.add("t1")
    reply = await run_next_step(chat.deps, chat.threads)
    assert "already running" in reply.text and chat.deps.state.phase == "planned"


async def test_the_plan_is_shown_with_the_cost_estimate_before_the_build(tmp_path: Path, store: SampleStore) -> None:
    from assistant.render import state_view
    from assistant.steps import plan_estimate

    chat = Chat(tmp_path, store, _script(SPEC_CLEAR), "analyze_request", "design_plan")
    await chat.say("40 arithmetic word problems")
    assert plan_estimate(chat.deps) is None, "nothing to price before there is a plan"
    await chat.say("go")
    estimate = plan_estimate(chat.deps)
    assert estimate is not None and estimate.startswith("Estimate: ") and "model calls" in estimate
    assert estimate in state_view(chat.deps.state, estimate)
