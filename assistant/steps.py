"""The conversation's steps: each calls one pipeline stage, stores the result in the thread, returns a summary.

The orchestrator's tools and the chat's buttons both call these, so a step behaves the same
whichever way the user asks for it. What goes back to the LLM is a short summary, never a dataset.
"""

from __future__ import annotations

from pathlib import Path

from assistant.deps import AssistantDeps, build_options, finish_options, limits
from assistant.model_registry import model_warnings
from assistant.session import BuildSummary
from tools.design import design_subtasks
from tools.errors import BenchmarkAgentError
from tools.models import BenchmarkSpec, NeedsClarification, SubtaskPlan
from tools.pipeline import build_and_export, build_id_for
from tools.requirements import analyze_request


def describe_spec(spec: BenchmarkSpec) -> str:
    text = (f"{spec.size} {spec.answer_format.replace('_', ' ')} samples testing {spec.capability} "
            f"({spec.domain}), {spec.difficulty} difficulty, in {spec.language}")
    if spec.assumptions:
        text += ". Assumed: " + "; ".join(spec.assumptions)
    if spec.unsupported_requests:
        text += ". Cannot do: " + "; ".join(spec.unsupported_requests)
    return text


def describe_plan(plan: SubtaskPlan) -> str:
    return "; ".join(f"{s.name} ({s.quota})" for s in plan.subtasks)


async def analyze_step(deps: AssistantDeps) -> str:
    state = deps.state
    previous = state.spec if state.phase not in ("gathering", "built") else None
    result = await analyze_request(state.last_message, models=deps.models, previous=previous, **_limits(deps))
    spec = result.draft if isinstance(result, NeedsClarification) else result
    if previous is not None and spec.size != previous.size:
        state.notices.append(f"Size changed from {previous.size} to {spec.size}: your latest message wins.")
    state.spec, state.plan, state.build = spec, None, None
    if isinstance(result, NeedsClarification):
        state.questions, state.phase = list(result.questions), "clarifying"
        asked = " ".join(f"({i}) {q.question} [default: {q.default}]" for i, q in enumerate(result.questions, 1))
        return (f"The request needs clarifying. Ask the user: {asked} They can answer, or say 'go' to use the "
                f"defaults. Draft so far: {describe_spec(spec)}.")
    state.questions, state.phase = [], "spec_ready"
    return f"Spec ready: {describe_spec(spec)}. Ask the user to confirm (say 'go') or to change anything."


async def design_step(deps: AssistantDeps) -> str:
    state = deps.state
    if state.spec is None:
        return "There is no spec yet: ask the user what benchmark they want."
    state.plan = await design_subtasks(state.spec, models=deps.models)
    state.questions, state.phase = [], "planned"
    return (f"Plan with {len(state.plan.subtasks)} subtasks: {describe_plan(state.plan)}. "
            "Ask the user to confirm the build (say 'go') or to change the plan.")


async def build_step(deps: AssistantDeps) -> str:
    state = deps.state
    if state.spec is None or state.plan is None:
        return "There is no confirmed plan yet: design the subtasks first."
    if state.thread_id in deps.active_builds:
        return "A build for this conversation is already running; its progress is shown above."
    resuming = state.build is not None and state.build.status == "stopped" and Path(state.build.directory).exists()
    directory = Path(state.build.directory) if resuming and state.build else _new_build_dir(deps.builds_dir)
    build_id = build_id_for(directory)
    state.phase = "building"
    # Saved before starting, so a restarted server finds the directory and can resume the build.
    state.build = BuildSummary(build_id=build_id, directory=str(directory), status="stopped", accepted=0,
                               requested=state.plan.total, message="in progress")
    _save(deps)
    deps.active_builds.add(state.thread_id)
    try:
        result = await build_and_export(state.spec, state.plan, models=deps.models, store=deps.store,
                                        directory=directory, options=build_options(deps.settings),
                                        on_event=deps.on_event, warnings=model_warnings(deps.models),
                                        finishing=finish_options(deps.settings))
    except BenchmarkAgentError as exc:
        state.phase = "planned"
        state.build = BuildSummary(build_id=build_id, directory=str(directory), status="failed",
                                   accepted=0, requested=state.plan.total, message=str(exc))
        return f"The build failed: {exc}"
    finally:
        deps.active_builds.discard(state.thread_id)
        if state.phase == "building":  # cancelled or crashed: leave the thread where a build can start again
            state.phase = "planned"
    report = result.report
    state.phase = "planned" if report.status == "stopped" else "built"
    state.build = BuildSummary(build_id=report.build_id, directory=str(directory), status=report.status,
                               accepted=report.accepted, requested=report.requested,
                               message="; ".join(report.warnings[-3:]))
    if report.status == "stopped":
        return (f"The build stopped early: {report.stop_reason}. {report.accepted}/{report.requested} samples are "
                "saved; building again resumes it without redoing anything.")
    shortfall = "" if report.status == "complete" else f" It fell short: {'; '.join(report.warnings[-2:])}."
    return (f"Build {report.build_id} finished: {report.accepted}/{report.requested} samples accepted, "
            f"stored as benchmark.jsonl and benchmark.csv with a report and a dataset card.{shortfall}")


def recover_interrupted(deps: AssistantDeps) -> None:
    """A thread saved mid-build whose build is not running here (the server restarted): make it resumable."""
    state = deps.state
    if state.phase == "building" and state.thread_id not in deps.active_builds:
        state.phase = "planned"
        if state.build is not None:
            state.build = state.build.model_copy(update={"status": "stopped"})
        state.notices.append("The last build was interrupted; what it accepted is saved. Build again to resume it.")


def _save(deps: AssistantDeps) -> None:
    if deps.threads is not None:
        deps.threads.save(deps.state)


def _limits(deps: AssistantDeps) -> dict[str, int]:
    lim = limits(deps.settings)
    return {"max_size": lim.max_size, "default_size": lim.default_size}


def _new_build_dir(builds: Path) -> Path:
    builds.mkdir(parents=True, exist_ok=True)
    n = 1 + sum(1 for _ in builds.iterdir())
    while (builds / f"build-{n:04d}").exists():
        n += 1
    return builds / f"build-{n:04d}"
