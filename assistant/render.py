"""Markdown for what the chat shows besides the model's words: the spec card, the plan, the build result."""

from __future__ import annotations

from assistant.session import ThreadState
from tools.models import BenchmarkSpec, SubtaskPlan

CONFIRM_LABELS = {
    "clarifying": "Use the defaults and plan",
    "spec_ready": "Confirm spec and plan subtasks",
    "planned": "Build the benchmark",
}


def spec_card(spec: BenchmarkSpec, *, draft: bool = False) -> str:
    title = "Draft spec" if draft else "Spec"
    rows = [
        ("Capability", spec.capability), ("Domain", spec.domain), ("Format", spec.answer_format.replace("_", " ")),
        ("Size", str(spec.size)), ("Difficulty", spec.difficulty), ("Language", spec.language),
        ("Modalities", ", ".join(spec.modalities)),
    ]
    lines = [f"**{title}**", "", "| field | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    if spec.constraints:
        lines += ["", "Constraints: " + "; ".join(spec.constraints)]
    if spec.assumptions:
        lines += ["", "Assumed: " + "; ".join(spec.assumptions)]
    if spec.unsupported_requests:
        lines += ["", "**Cannot do:** " + "; ".join(spec.unsupported_requests)]
    return "\n".join(lines)


def questions_block(state: ThreadState) -> str:
    lines = ["**Questions** (answer any, or accept the defaults)"]
    lines += [f"{i}. {q.question} _(default: {q.default})_" for i, q in enumerate(state.questions, 1)]
    return "\n".join(lines)


def plan_table(plan: SubtaskPlan) -> str:
    lines = ["**Plan**", "", "| subtask | what it tests | format | quota |", "|---|---|---|---|"]
    lines += [f"| {s.name} | {s.description} | {s.answer_format.replace('_', ' ')} | {s.quota} |" for s in plan.subtasks]
    lines.append(f"| **total** | | | **{plan.total}** |")
    return "\n".join(lines)


def state_view(state: ThreadState) -> str:
    """What the thread holds now, shown under each reply."""
    parts: list[str] = []
    if state.phase == "clarifying" and state.questions:
        parts.append(questions_block(state))
    if state.spec is not None and state.phase in ("clarifying", "spec_ready", "planned"):
        parts.append(spec_card(state.spec, draft=state.phase == "clarifying"))
    if state.plan is not None and state.phase == "planned":
        parts.append(plan_table(state.plan))
    if state.build is not None and state.phase in ("built", "planned"):
        build = state.build
        status = {"complete": "complete", "short": "fell short", "failed": "failed",
                  "stopped": "stopped early; build again to resume it"}[build.status]
        parts.append(f"**Build {build.build_id}**: {build.accepted}/{build.requested} samples, {status}."
                     + (f"\n\n{build.message}" if build.message else ""))
    return "\n\n".join(parts)
