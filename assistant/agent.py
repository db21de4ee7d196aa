"""The orchestrating agent: one tool per pipeline step, offered according to the thread's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_ai import Agent, RunContext
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.tools import ToolDefinition

from assistant import previews, refinement, shortfall, steps
from assistant.deps import AssistantDeps
from assistant.flow import ANALYZE, BUILD, DESIGN, PREVIEW, REFINE, SHORTFALL, UNDO, allowed_tools

_INSTRUCTIONS = """\
You are Benchmark Agent, an assistant that builds evaluation benchmarks for language models.
Work in steps: understand the request (analyze_request), design subtasks (design_plan), let the user
refine the plan (refine_plan, undo_plan) and preview samples (preview_samples), then build
(build_benchmark). If the build fell short, the user may keep what a short subtask has or drop it
(settle_shortfall). Call the one tool that fits the user's message, then reply in two or three short
sentences that pass on what the tool said: questions to ask, the plan to confirm, or the result.
Never invent samples, numbers or results that a tool did not give you."""


@dataclass
class FlowControl(AbstractCapability[AssistantDeps]):
    """Offers only the tools the thread's phase allows, and none once a step has run this turn."""

    async def prepare_tools(self, ctx: RunContext[AssistantDeps], tool_defs: list[ToolDefinition]) -> list[ToolDefinition]:
        if ctx.deps.acted:
            return []
        return [t for t in tool_defs if t.name in _allowed(ctx.deps)]

    def get_model_settings(self) -> Any:
        # Before a step has run, a tool call is required: a weak model cannot just chat past the request.
        def settings(ctx: RunContext[AssistantDeps]) -> dict[str, Any]:
            allowed = _allowed(ctx.deps)
            return {"tool_choice": list(allowed)} if allowed and not ctx.deps.acted else {}

        return settings


def _allowed(deps: AssistantDeps) -> tuple[str, ...]:
    state = deps.state
    can_undo = state.version is not None and state.version.parent is not None
    return allowed_tools(state.phase, state.last_message, can_undo=can_undo,
                         short_build=bool(shortfall.short_subtasks(state)))


chat_agent: Agent[AssistantDeps, str] = Agent(
    deps_type=AssistantDeps, output_type=str, instructions=_INSTRUCTIONS, capabilities=[FlowControl()], name="orchestrator"
)


@chat_agent.tool(name=ANALYZE)
async def analyze_request(ctx: RunContext[AssistantDeps]) -> str:
    """Read the user's latest message and create or update the benchmark spec from it. Use it for a new
    request, for answers to your questions, and for any change to size, format, difficulty or topic."""
    ctx.deps.acted = True
    ctx.deps.summary = await steps.analyze_step(ctx.deps)
    return ctx.deps.summary


@chat_agent.tool(name=DESIGN)
async def design_plan(ctx: RunContext[AssistantDeps]) -> str:
    """Design the subtasks of the confirmed spec, with a quota for each. Use it when the user confirms the spec
    or asks for a different split into subtasks."""
    ctx.deps.acted = True
    ctx.deps.summary = await steps.design_step(ctx.deps)
    return ctx.deps.summary


@chat_agent.tool(name=BUILD)
async def build_benchmark(ctx: RunContext[AssistantDeps]) -> str:
    """Generate, verify and export the benchmark for the confirmed plan. Use it when the user confirms the plan."""
    ctx.deps.acted = True
    ctx.deps.summary = await steps.build_step(ctx.deps)
    return ctx.deps.summary


@chat_agent.tool(name=REFINE)
async def refine_plan(ctx: RunContext[AssistantDeps]) -> str:
    """Change the current plan as the user's latest message asks: drop, add, rename, split into easy and hard,
    merge, change a quota or the total size, make harder, or change the answer format. Makes a new plan version."""
    ctx.deps.acted = True
    ctx.deps.summary = await refinement.refine_step(ctx.deps)
    return ctx.deps.summary


@chat_agent.tool(name=UNDO)
async def undo_plan(ctx: RunContext[AssistantDeps]) -> str:
    """Undo the last change to the plan, going back to the previous plan version (or to the version the user names)."""
    ctx.deps.acted = True
    ctx.deps.summary = await refinement.undo_step(ctx.deps, refinement.version_in(ctx.deps.state.last_message))
    return ctx.deps.summary


@chat_agent.tool(name=PREVIEW)
async def preview_samples(ctx: RunContext[AssistantDeps]) -> str:
    """Generate a few preview samples per subtask for the user to accept, reject or edit before the build."""
    ctx.deps.acted = True
    ctx.deps.summary = await previews.preview_step(ctx.deps)
    return ctx.deps.summary


@chat_agent.tool(name=SHORTFALL)
async def settle_shortfall(ctx: RunContext[AssistantDeps]) -> str:
    """The last build fell short of a subtask's quota. As the user's latest message says, either keep the samples
    that subtask has (its quota becomes that number, the benchmark gets smaller) or drop the subtask (the other
    subtasks get its samples), then finish the same build without redoing anything. Use it for messages like
    'keep what Fractions has', 'relax Fractions' or 'drop Fractions'."""
    ctx.deps.acted = True
    ctx.deps.summary = await shortfall.shortfall_from_words(ctx.deps)
    return ctx.deps.summary
