"""The LLM tie-break for near-duplicates: asked only when the embedding and text checks cannot decide."""

from __future__ import annotations

from pydantic import Field
from pydantic_ai import Agent, ToolOutput

from tools.contracts import Strict
from tools.errors import StageFailed
from tools.llm.stage import StageModels, run_stage

_INSTRUCTIONS = """\
Two benchmark samples are shown. Decide whether they test the same thing with the same answer, so
that a benchmark should keep only one of them: a paraphrase, or the same question with trivially
different wording, is the same item; a different quantity, entity, condition or answer is not.
Call submit_same_item exactly once."""


class SameItem(Strict):
    """Whether two samples are the same benchmark item."""

    same: bool = Field(description="True when a benchmark should keep only one of the two.")
    reason: str = Field(default="", max_length=200)


same_item_agent: Agent[None, SameItem] = Agent(
    output_type=ToolOutput(SameItem, name="submit_same_item"), instructions=_INSTRUCTIONS, retries=2,
    name="dedup-tie-break",
)


async def same_item(first: str, second: str, *, models: StageModels) -> bool:
    """The judge's call on a near-duplicate pair; an unusable answer keeps both (a drop needs a reason)."""
    prompt = f"Sample A:\n{first}\n\nSample B:\n{second}"
    try:
        decision = await run_stage(same_item_agent, prompt, models=models, role="judge", stage="duplicate tie-break")
    except StageFailed:
        return False
    return decision.same
