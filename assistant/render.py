"""Markdown for what the chat shows besides the model's words: the spec card, the plan, the build result."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from assistant.session import ThreadState
from assistant.shortfall import short_subtasks
from tools.contracts import BenchmarkSpec, BuildReport, PreviewItem, QualityReport, Sample, SubtaskPlan
from tools.errors import BenchmarkAgentError
from tools.export.rows import samples_from_rows

# The zip first: every format (Hugging Face, lm-eval, Inspect, pydantic_evals) in one download; then the single files.
DOWNLOADS = ("benchmark.zip", "benchmark.jsonl", "benchmark.csv", "report.json", "README.md", "quality.json")
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
    if spec.needs_material:
        rows.append(("Needs the material", "yes: items a model answers without it are dropped"))
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
    known = any(s.overlaps for s in plan.subtasks)  # the column appears when the catalog found something close
    extra, rule = (" closest known benchmark |", "---|") if known else ("", "")
    lines = ["**Plan**", "", f"| subtask | what it tests | format | quota |{extra}", f"|---|---|---|---|{rule}"]
    for s in plan.subtasks:
        closest = f" {s.overlaps[0].name} ({s.overlaps[0].score:.2f}) |" if s.overlaps else " none close |"
        lines.append(f"| {s.name} | {s.description} | {s.answer_format.replace('_', ' ')} | {s.quota} |"
                     + (closest if known else ""))
    lines.append(f"| **total** | | | **{plan.total}** |" + (" |" if known else ""))
    differences = [f"- {s.name} vs {s.overlaps[0].name}: {s.overlaps[0].how_we_differ}"
                   for s in plan.subtasks if s.overlaps and s.overlaps[0].how_we_differ]
    return "\n".join(lines + (["", *differences] if differences else []))


def version_line(state: ThreadState) -> str:
    version = state.version
    if version is None:
        return ""
    origin = f" from v{version.parent}" if version.parent and not version.note.startswith("undo") else ""
    changed = ": " + "; ".join(version.changes) if version.changes else ""
    return f"_Plan v{version.number}{origin} ({version.note[:80]}){changed}_"


def review_line(state: ThreadState) -> str:
    """How the preview went, and which subtasks carry the user's instructions into the build."""
    lines = []
    if state.previews:
        counts = Counter(p.status for p in state.previews)
        done = ", ".join(f"{counts[k]} {k}" for k in ("accepted", "rejected", "edited") if counts[k])
        lines.append(f"**Preview**: {len(state.previews)} samples" + (f", {done}" if done else "")
                     + (f", {counts['pending']} to review" if counts["pending"] else ""))
    if state.preview_problems:
        lines.append(f"Not shown ({len(state.preview_problems)} dropped by the checks): "
                     + "; ".join(state.preview_problems[:5]) + ("; ..." if len(state.preview_problems) > 5 else ""))
    guided = [f"{s.name} ({len(s.guidance)})" for s in (state.plan.subtasks if state.plan else []) if s.guidance]
    if guided:
        lines.append("Instructions for the build's generator: " + ", ".join(guided))
    return "\n\n".join(lines)


def card_buttons(state: ThreadState, published: bool | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """The buttons under the spec card: (callback name, label, payload). Each works without the model.
    `published`: whether the finished benchmark is in the shared catalog (None: no finished one, no button)."""
    phase = state.phase
    buttons: list[tuple[str, str, dict[str, Any]]] = []
    if phase == "clarifying":
        for i, q in enumerate(state.questions):
            label = f"{q.field.replace('_', ' ').capitalize()}: {q.default}"
            buttons.append(("answer", label[:60], {"phase": phase, "index": i, "field": q.field}))
    if phase in CONFIRM_LABELS:
        buttons.append(("confirm", CONFIRM_LABELS[phase], {"phase": phase}))
    if phase == "planned" and state.version is not None:
        version = state.version.number
        buttons.append(("preview", "Preview again" if state.previews else "Preview samples", {"version": version}))
        buttons.append(("edit", "Edit the plan", {"version": version}))
        if state.version.parent:
            buttons.append(("undo", f"Undo (back to v{state.version.parent})", {"version": version}))
    if phase == "built" and state.version is not None:
        for short in short_subtasks(state):  # the build continues in its own directory after either choice
            payload = {"phase": phase, "version": state.version.number, "subtask": short.subtask_id}
            if short.can_relax:
                buttons.append(("shortfall", f"{short.name}: keep the {short.accepted} it has"[:60],
                                {**payload, "choice": "relax"}))
            if short.can_drop:
                buttons.append(("shortfall", f"Drop {short.name}"[:60], {**payload, "choice": "drop"}))
        if published is not None:
            label = "Unpublish (make it private)" if published else "Publish to the shared catalog"
            buttons.append(("publish", label, {"phase": phase, "version": state.version.number,
                                               "publish": not published}))
    return buttons


LETTERS = "ABCDEFGHIJ"
_VERDICT_MARKS = {"passed": "✅", "repaired": "🛠️", "dropped": "❌"}  # a check record's outcome (CheckRecord)


def preview_view(item: PreviewItem, number: int, subtask: str) -> str:
    """One preview as the question a model will be asked: its context, the question, each option lettered, then the
    gold answer, the rationale, and each quality-check verdict on a line of its own."""
    status = {"pending": "", "accepted": " · accepted", "rejected": " · rejected", "edited": " · corrected"}[item.status]
    lines = [f"**Preview {number}** · {subtask} · {item.answer_format.replace('_', ' ')}{status}", ""]
    if item.context:
        lines += [f"> {line}" if line.strip() else ">" for line in item.context.splitlines()] + [""]
    lines += [f"**Q{number}.** {item.question}"]
    answer = item.answer
    if item.choices:  # a list, so that the renderer keeps one option a line
        lines += [""] + [f"- **{LETTERS[i]}.** {c}" for i, c in enumerate(item.choices)]
        letter = next((LETTERS[i] for i, c in enumerate(item.choices) if c.strip() == item.answer.strip()), None)
        answer = f"{letter}. {item.answer}" if letter else item.answer
    lines += ["", f"**Answer:** {answer}"]
    if item.rationale:
        lines += ["", f"**Why:** {item.rationale}"]
    if item.evidence:  # an item written from the user's material: what it cites, checked against the files
        lines += ["", "Evidence: " + "; ".join(item.evidence)]
    if item.checks:  # the quality gate's verdicts, as the build's samples get them
        lines += ["", "**Checks**", "", *(f"- {verdict_mark(line)} {line}" for line in item.checks)]
    if item.status == "rejected" and item.reason:
        lines += ["", f"_Rejected: {item.reason}_"]
    return "\n".join(lines)


def verdict_mark(line: str) -> str:
    """The mark of one verdict line ('executed: passed (...)', tools.engine.preview.verdict_line)."""
    outcome = line.partition(": ")[2].split(" ", 1)[0]
    return _VERDICT_MARKS.get(outcome, "•")


def state_view(state: ThreadState, estimate: str | None = None, material: list[str] | None = None) -> str:
    """What the thread holds now, shown under each reply; `estimate` is the build's expected cost, `material` the
    lines that say which files the benchmark is built from and which part feeds each subtask."""
    parts: list[str] = []
    if state.phase == "clarifying" and state.questions:
        parts.append(questions_block(state))
    if state.spec is not None and state.phase != "gathering":
        parts.append(spec_card(state.spec, draft=state.phase == "clarifying"))
    if material and (state.spec is not None or state.plan is not None):
        parts.append("\n".join(material))
    if state.plan is not None and state.phase in ("planned", "building", "built"):
        parts.append(plan_table(state.plan))
        parts += [line for line in (version_line(state), review_line(state)) if line]
        if estimate and state.phase == "planned":  # the cost line, then which roles share a model
            cost, *shared = estimate.splitlines()
            parts += [f"_{cost}_", *(f"**{line}**" for line in shared)]
    if state.build is not None and state.phase in ("built", "planned"):
        build = state.build
        status = {"complete": "complete", "short": "fell short", "failed": "failed",
                  "stopped": "stopped early; build again to resume it"}[build.status]
        parts.append(f"**Build {build.build_id}**: {build.accepted}/{build.requested} samples, {status}."
                     + (f"\n\n{build.message}" if build.message else ""))
        parts += [shortfall_block(state)] if short_subtasks(state) else []
    return "\n\n".join(parts)


def shortfall_block(state: ThreadState) -> str:
    """Which subtasks fell short and why, and what the buttons under the card do about it."""
    lines = ["**Fell short**", ""]
    for short in short_subtasks(state):
        why = "; ".join(short.reasons) or "the generator returned too few samples"
        lines.append(f"- {short.name}: {short.accepted} of {short.quota}. Most frequent drop reasons: {why}")
    lines += ["", "_Keep what a subtask has (its quota becomes that, the benchmark gets smaller) or drop it (the "
                  "other subtasks get its samples); the build then continues where it is, keeping every sample._"]
    return "\n".join(lines)


def built_quality(state: ThreadState) -> QualityReport | None:
    """The finished build's quality report, when it wrote one."""
    if state.phase != "built" or state.build is None:
        return None
    path = Path(state.build.directory) / "quality.json"
    try:
        return QualityReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def built_report(state: ThreadState) -> tuple[BuildReport, list[Sample]] | None:
    """The finished build's report (report.json) and its items (benchmark.jsonl), when it wrote both."""
    if state.phase != "built" or state.build is None:
        return None
    directory = Path(state.build.directory)
    try:
        report = BuildReport.model_validate_json((directory / "report.json").read_text(encoding="utf-8"))
        rows = directory / "benchmark.jsonl"
        return report, samples_from_rows(rows.read_text(encoding="utf-8"), source=str(rows))
    except (OSError, ValueError, BenchmarkAgentError):
        return None
