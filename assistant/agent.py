"""The orchestrating agent: one tool per step of the conversation table, offered as the thread's state allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_ai import Agent, RunContext
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.tools import ToolDefinition

from assistant import flow
from assistant.deps import AssistantDeps

_INSTRUCTIONS = """\
You are Benchmark Agent, an assistant that builds evaluation benchmarks for language models.
Work in steps: understand the request (analyze_request), design subtasks (design_plan), let the user
refine the plan (refine_plan, undo_plan) and preview samples (preview_samples), then build
(build_benchmark). If the build fell short, the user may keep what a short subtask has or drop it
(settle_shortfall). A finished benchmark can be evaluated on models the user names (evaluate_models)
or renewed as a fresh version that shares no item with it (refresh_benchmark).
Call the one tool that fits the user's message, then reply in two or three short
sentences that pass on what the tool said: questions to ask, the plan to confirm, or the result.
Never invent samples, numbers or results that a tool did not give you."""


@dataclass
class FlowControl(AbstractCapability[AssistantDeps]):
    """Offers only the tools the conversation table offers for the thread's phase and latest message, and none
    once a step has run this turn."""

    async def prepare_tools(self, ctx: RunContext[AssistantDeps], tool_defs: list[ToolDefinition]) -> list[ToolDefinition]:
        if ctx.deps.acted:
            return []
        offered = flow.offered_tools(ctx.deps.state)
        return [t for t in tool_defs if t.name in offered]

    def get_model_settings(self) -> Any:
        # Before a step has run, a tool call is required: a weak model cannot just chat past the request.
        def settings(ctx: RunContext[AssistantDeps]) -> dict[str, Any]:
            offered = flow.offered_tools(ctx.deps.state)
            return {"tool_choice": list(offered)} if offered and not ctx.deps.acted else {}

        return settings


chat_agent: Agent[AssistantDeps, str] = Agent(
    deps_type=AssistantDeps, output_type=str, instructions=_INSTRUCTIONS, capabilities=[FlowControl()], name="orchestrator"
)


def _register(step: flow.Step) -> None:
    """Offer `step` to the model as a tool: its name and doc from the table; it runs on the user's latest message."""

    async def run_tool(ctx: RunContext[AssistantDeps]) -> str:
        ctx.deps.acted = True
        result = await flow.run(step, ctx.deps, flow.Given(message=ctx.deps.state.last_message))
        ctx.deps.summary = result.text if isinstance(result, flow.Outcome) else result
        ctx.deps.ran = step.name
        return ctx.deps.summary

    chat_agent.tool(name=step.name, description=step.doc)(run_tool)


for _name in flow.TOOLS:
    _register(flow.STEPS[_name])
