"""Stage 4: verification by the judge model, which did not write the sample."""

from __future__ import annotations

import json

from pydantic_ai import Agent, ToolOutput

from tools.contracts import BenchmarkSpec, JudgeVerdict, Sample, Verdict
from tools.llm.stage import StageModels, run_stage

_INSTRUCTIONS = """\
You are a strict reviewer of benchmark samples. Solve the question yourself first, then compare with
the proposed answer. Reject the sample if the proposed answer is wrong, if the question cannot be
answered from what is given, if it is ambiguous or has more than one correct answer (for multiple
choice: more than one correct option), if the question gives the answer away, or if it does not test
the stated capability. Otherwise accept. When rejecting, give short reasons. Call submit_verdict exactly once."""

judge_agent: Agent[None, JudgeVerdict] = Agent(
    output_type=ToolOutput(JudgeVerdict, name="submit_verdict"), instructions=_INSTRUCTIONS, retries=2, name="judge"
)


def judge_prompt(sample: Sample, spec: BenchmarkSpec) -> str:
    lines = [
        f"Capability under test: {spec.capability}",
        f"Domain: {spec.domain}",
        f"Answer format: {sample.answer_format}",
    ]
    if sample.context:
        lines.append(f"Context: {sample.context}")
    lines.append(f"Question: {sample.question}")
    if sample.choices:
        lines.append(f"Choices: {json.dumps(sample.choices, ensure_ascii=False)}")
    lines.append(f"Proposed answer: {sample.answer}")
    return "\n".join(lines)


async def judge_sample(sample: Sample, spec: BenchmarkSpec, *, models: StageModels) -> Verdict:
    """The judge's decision on one sample, with its reasons."""
    decision = await run_stage(judge_agent, judge_prompt(sample, spec), models=models, role="judge", stage="verification")
    accepted = decision.verdict == "accept"
    reasons = list(decision.reasons)
    if not accepted and not reasons:
        reasons = ["judge rejected without a reason"]
    return Verdict(sample_id=sample.id, check="judge", accepted=accepted, reasons=[] if accepted else reasons)
