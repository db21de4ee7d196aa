"""The conversation's steps: each calls one pipeline stage, stores the result in the thread, returns a summary.

The orchestrator's tools and the chat's buttons both call these, so a step behaves the same
whichever way the user asks for it. What goes back to the LLM is a short summary, never a dataset.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from assistant import material
from assistant.deps import AssistantDeps, build_options, finish_options, limits
from assistant.leases import BuildLeases
from assistant.model_registry import model_warnings
from assistant.session import BuildSummary
from memory.files import read_jsonl
from tools.contracts import BenchmarkSpec, ChangeFormat, NeedsClarification, PlanEdit, SetSize, SubtaskPlan
from tools.engine.batches import CHECKPOINTS
from tools.engine.ledger import ACCEPTED
from tools.errors import BenchmarkAgentError
from tools.pipeline import build_and_export, build_id_for, describe_estimate, estimate_for
from tools.refresh import refresh_build, refreshed_from
from tools.stages.design import design_subtasks, overlap_summary
from tools.stages.plan_edits import plan_diff
from tools.stages.refine import revise
from tools.stages.requirements import analyze_request, apply_answer
from tools.stages.spec_words import needs_material_in_text

logger = logging.getLogger(__name__)


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


_FIELDS = {"capability": "Capability", "domain": "Domain", "language": "Language", "answer_format": "Answer format",
           "size": "Size", "difficulty": "Difficulty"}
_PLAN_FIELDS = {"size", "answer_format", "difficulty", "constraints", "unsupported_requests", "assumptions"}


def _shown(value: object) -> str:
    return str(value).replace("_", " ")


def changed_fields(old: BenchmarkSpec, new: BenchmarkSpec) -> set[str]:
    """The spec fields that differ, ignoring the goal (which only records what was said)."""
    return {name for name in BenchmarkSpec.model_fields if name != "goal" and getattr(old, name) != getattr(new, name)}


def _change_notices(old: BenchmarkSpec, new: BenchmarkSpec) -> list[str]:
    """Say when a later message overrides something the user had stated (not something we had assumed)."""
    notices = []
    for name, label in _FIELDS.items():
        before, after = getattr(old, name), getattr(new, name)
        assumed = any(a.split(":")[0] == label and a.endswith(("(not specified)", "(inferred, not stated)"))
                      for a in old.assumptions)
        if before != after and not assumed:
            notices.append(f"{label} changed from {_shown(before)} to {_shown(after)}: your latest message wins.")
    notices += [f"Cannot do: {u}" for u in new.unsupported_requests if u not in old.unsupported_requests]
    return notices


async def analyze_step(deps: AssistantDeps) -> str:
    state = deps.state
    previous = state.spec if state.phase not in ("gathering", "built") else None
    lim = limits(deps.settings)
    result = await analyze_request(state.last_message, models=deps.models, previous=previous,
                                   max_size=lim.max_size, default_size=lim.default_size,
                                   material=material.summary(deps))
    if needs_material_in_text(state.last_message):  # "questions that cannot be answered without the document"
        result = _needing_material(result)
    spec = result.draft if isinstance(result, NeedsClarification) else result
    if previous is None:
        state.reset_plan()
        state.notices += [f"Cannot do: {u}" for u in spec.unsupported_requests]
    else:
        changed = changed_fields(previous, spec)
        if not changed and not (isinstance(result, NeedsClarification) and state.phase == "clarifying"):
            return ("That message changes nothing in the spec; it is kept as it was (if it was a question or small "
                    "talk, answer it in one sentence, then steer back to the benchmark). To go on, confirm (say 'go') "
                    f"or say what to change. Current spec: {describe_spec(previous)}.")
        state.notices += _change_notices(previous, spec)
        if state.phase == "planned" and state.plan is not None and changed <= _PLAN_FIELDS:
            return _revise_for_spec(deps, previous, spec)
    state.build = None
    if state.plan is not None:  # the plan was made for another spec; its versions stay, for undo
        state.notices.append("The spec changed in a way the plan cannot follow: the subtasks will be designed again.")
        state.plan = None
    state.spec = spec
    if isinstance(result, NeedsClarification):
        state.questions, state.phase = list(result.questions), "clarifying"
        asked = " ".join(f"({i}) {q.question} [default: {q.default}]" for i, q in enumerate(result.questions, 1))
        return (f"A few questions decide the benchmark: {asked} Answer them, or say 'go' to use the defaults. "
                f"Draft so far: {describe_spec(spec)}.")
    state.questions, state.phase = [], "spec_ready"
    return f"Spec ready: {describe_spec(spec)}. Next: confirm it (say 'go') or change anything."


def _needing_material(result: BenchmarkSpec | NeedsClarification) -> BenchmarkSpec | NeedsClarification:
    if isinstance(result, NeedsClarification):
        return result.model_copy(update={"draft": result.draft.model_copy(update={"needs_material": True})})
    return result.model_copy(update={"needs_material": True})


def _revise_for_spec(deps: AssistantDeps, old: BenchmarkSpec, new: BenchmarkSpec) -> str:
    """A size, format or difficulty change while planned: the plan follows it as a new version, nothing redesigned."""
    state = deps.state
    assert state.plan is not None
    edits: list[PlanEdit] = []
    if new.size != old.size:
        edits.append(SetSize(op="size", size=new.size))
    if new.answer_format != old.answer_format:
        edits.append(ChangeFormat(op="format", answer_format=new.answer_format))
    plan = state.plan
    if new.difficulty != old.difficulty:  # the spec's new difficulty applies to every subtask
        plan = plan.model_copy(update={"subtasks": [s.model_copy(update={"difficulty": None}) for s in plan.subtasks]})
    revision = revise(plan, new.model_copy(update={"goal": old.goal}), edits, max_size=deps.settings.max_size)
    changes = plan_diff(state.plan, revision.plan, revision.spec) or ["the spec's notes"]
    version = state.commit(revision.plan, revision.spec, "spec change", changes)
    return (f"Plan v{version.number}: " + "; ".join(changes) + ". Next: build it (say 'go'), "
            "preview samples, or keep editing.")


async def answer_step(deps: AssistantDeps, index: int, answer: str | None = None) -> str:
    """A clarifying question answered with one click (its default) or with `answer`; no model involved."""
    state = deps.state
    if state.spec is None or not 0 <= index < len(state.questions):
        return "That question has already been answered."
    question = state.questions.pop(index)
    state.spec = apply_answer(state.spec, question, answer or question.default, max_size=deps.settings.max_size)
    if not state.questions:
        state.phase = "spec_ready"
        return f"Spec ready: {describe_spec(state.spec)}. Confirm it to plan the subtasks, or change anything."
    return f"Noted: {question.field.replace('_', ' ')} is {answer or question.default}. {len(state.questions)} question(s) left."


async def design_step(deps: AssistantDeps) -> str:
    state = deps.state
    if state.spec is None:
        return "There is no spec yet: ask the user what benchmark they want."
    plan = await design_subtasks(state.spec, models=deps.models, catalog=deps.catalog, material=material.summary(deps))
    plan, steered = material.ground(deps, plan)  # each subtask's share of the user's material, when there is some
    old = state.version
    version = state.commit(plan, state.spec, "designed", plan_diff(old.plan, plan, state.spec) if old else [])
    state.questions, state.phase, state.pending = [], "planned", None
    known = overlap_summary(plan)
    grounded = (" Each subtask's share of the material is on the plan card; say e.g. 'use only chapter 3' or 'skip "
                "the appendix' to change it." if any(s.material for s in plan.subtasks) else "")
    return (f"Plan v{version.number} with {len(plan.subtasks)} subtasks: {describe_plan(plan)}. "
            + (f"{known} " if known else "") + " ".join(steered) + (" " if steered else "")
            + "Next: build it (say 'go'), preview samples, or change the plan." + grounded)


async def build_step(deps: AssistantDeps, *, continue_short: bool = False, fresh: bool = False) -> str:
    """Build the current plan: in a new directory, or in the last build's own directory when that build stopped
    early or (`continue_short`) fell short and the user has just relaxed or dropped a short subtask. There, every
    accepted sample and every answered model call is kept: only what the plan still misses is generated.
    `fresh`: a new version of the finished benchmark, sharing no item with it or with its earlier versions."""
    state = deps.state
    if state.spec is None or state.plan is None:
        return "There is no confirmed plan yet: design the subtasks first."
    if state.thread_id in deps.active_builds:
        return "A build for this conversation is already running; its progress is shown above."
    if fresh and (state.build is None or state.phase != "built" or not Path(state.build.directory).exists()):
        return "There is no finished benchmark to make a fresh version of yet: build one first."
    refused = deps.active_builds.refusal(state.owner) or _over_budget(deps)
    if refused is not None:
        deps.refused = True  # the limit and its setting are said as written here, not as the chat model retells them
        return refused
    # The slot is taken before anything is awaited: builds asked at once cannot all pass the limit.
    deps.active_builds.add(state.thread_id, state.owner)
    try:
        holder = await deps.leases.take(state.thread_id, state.owner) if deps.leases is not None else None
        # Counted again with the builds of every replica sharing the database, once this one holds its lease: two
        # builds started at once on two replicas both see each other, so the limits are never passed.
        refused = None if holder is not None or deps.leases is None else deps.active_builds.refusal(
            state.owner, besides=state.thread_id,
            elsewhere=await deps.leases.running(state.owner, besides=state.thread_id))
    except BaseException:
        deps.active_builds.discard(state.thread_id)
        if deps.leases is not None:
            await _release(deps.leases, state.thread_id)
        raise
    if holder is not None or refused is not None:
        deps.active_builds.discard(state.thread_id)
        if refused is not None and deps.leases is not None:
            await _release(deps.leases, state.thread_id)
        deps.refused = True
        return running_elsewhere(holder) if holder is not None else str(refused)
    reusable = ("stopped", "short") if continue_short else ("stopped",)
    resuming = (not fresh and state.build is not None and state.build.status in reusable
                and Path(state.build.directory).exists())
    directory = Path(state.build.directory) if resuming and state.build else _new_build_dir(deps.builds_dir)
    # A fresh version replaces the finished build; a stopped fresh version, resumed, still replaces the one before.
    previous = Path(state.build.directory) if fresh and state.build else refreshed_from(directory) if resuming else None
    build_id = build_id_for(directory)
    state.phase = "building"
    # Saved before starting, so a restarted server finds the directory and can resume the build.
    state.build = BuildSummary(build_id=build_id, directory=str(directory), status="stopped", accepted=0,
                               requested=state.plan.total, message="in progress")
    try:
        await _save(deps)
    except BaseException:
        deps.active_builds.discard(state.thread_id)
        if deps.leases is not None:
            await _release(deps.leases, state.thread_id)
        raise
    if (task := asyncio.current_task()) is not None:
        deps.build_tasks[state.thread_id] = task
    try:
        if previous is not None:
            result = await refresh_build(previous, directory, models=deps.models, store=deps.store,
                                         options=build_options(deps.settings), on_event=deps.on_event,
                                         warnings=model_warnings(deps.models), finishing=finish_options(deps.settings),
                                         catalog=deps.catalog, material=material.view_of(deps))
        else:
            result = await build_and_export(state.spec, state.plan, models=deps.models, store=deps.store,
                                            directory=directory, options=build_options(deps.settings),
                                            on_event=deps.on_event, warnings=model_warnings(deps.models),
                                            finishing=finish_options(deps.settings), catalog=deps.catalog,
                                            material=material.view_of(deps))
    except BenchmarkAgentError as exc:
        state.phase = "planned"
        state.build = BuildSummary(build_id=build_id, directory=str(directory), status="failed",
                                   accepted=0, requested=state.plan.total, message=str(exc))
        return f"The build failed: {exc}"
    except asyncio.CancelledError:
        if state.thread_id not in deps.stop_requests:
            raise  # the server is shutting down: the thread resumes its build when it opens again
        if (current := asyncio.current_task()) is not None:
            current.uncancel()  # the user's stop is handled here: the turn goes on to show where the build stands
        return stopped_by_user(deps, directory)
    finally:
        if deps.leases is not None:
            await _release(deps.leases, state.thread_id)
        deps.active_builds.discard(state.thread_id)
        deps.build_tasks.pop(state.thread_id, None)
        deps.stop_requests.discard(state.thread_id)
        if state.phase == "building":  # cancelled or crashed: leave the thread where a build can start again
            state.phase = "planned"
    report = result.report
    state.phase = "planned" if report.status == "stopped" else "built"
    state.build = BuildSummary(build_id=report.build_id, directory=str(directory), status=report.status,
                               accepted=report.accepted, requested=report.requested,
                               message=_sentences(report.warnings[-3:]),
                               shortfalls=[o for o in report.subtasks if o.short] if report.status == "short" else [])
    if report.status == "stopped":
        return (f"The build stopped early: {report.stop_reason}{_budget_setting(report.stop_reason)}. "
                f"{report.accepted}/{report.requested} samples are saved; building again resumes it without redoing "
                "anything.")
    shortfall = "" if report.status == "complete" else (
        f" It fell short. {_sentences(report.warnings[-2:])} To finish it, keep what a short subtask has (its quota "
        "shrinks to that) or drop it (the others get its samples): say so, or use the buttons under the build.")
    if report.replaces:
        shortfall += (f" It is a fresh version of {report.replaces}: no item of that benchmark or of its earlier "
                      "versions is in it.")
    return (f"Build {report.build_id} finished: {report.accepted}/{report.requested} samples accepted, "
            f"stored as benchmark.jsonl and benchmark.csv with a report and a dataset card.{shortfall}")


def running_elsewhere(holder: str) -> str:
    """What to say while this thread's build runs in another server process of this installation."""
    return (f"This conversation's build is running on another server process ({holder}); it is not started twice. "
            "Its progress shows in the window that started it; open this conversation again once it has finished.")


async def _release(leases: BuildLeases, thread_id: str) -> None:
    try:
        await leases.release(thread_id)
    except Exception as exc:  # the lease then expires, or a restart of this server takes it over
        logger.warning("The build lease of thread %s could not be released: %s", thread_id, exc)


def stop_build(deps: AssistantDeps) -> str:
    """Stop this thread's running build (the Stop button, the chat's stop button, or 'stop'): what it has
    accepted stays in its folder, and building again resumes it from there."""
    task = deps.build_tasks.get(deps.state.thread_id)
    if task is None or task.done():
        return "No build is running in this conversation."
    deps.stop_requests.add(deps.state.thread_id)
    task.cancel()
    return "Stopping the build: everything it has accepted is kept, and building again resumes it."


def stopped_by_user(deps: AssistantDeps, directory: Path) -> str:
    state = deps.state
    accepted = sum(1 for _ in read_jsonl(directory / CHECKPOINTS / ACCEPTED))
    requested = state.plan.total if state.plan else 0
    state.phase = "planned"
    state.build = BuildSummary(build_id=build_id_for(directory), directory=str(directory), status="stopped",
                               accepted=accepted, requested=requested, message="stopped from the chat")
    return (f"The build was stopped from the chat: {accepted}/{requested} samples are saved. Build again (the "
            "button, or say build) to resume it without redoing anything.")


_BUDGETS = {"token budget": "BENCHMARK_AGENT_MAX_TOKENS", "cost budget": "BENCHMARK_AGENT_MAX_COST"}


def _budget_setting(reason: str | None) -> str:
    """The setting behind a budget stop, for the user to raise (tools.engine.budget words the reason)."""
    setting = next((name for words, name in _BUDGETS.items() if (reason or "").startswith(words)), None)
    return f" (the setting {setting}; each build run gets it anew)" if setting else ""


def _over_budget(deps: AssistantDeps) -> str | None:
    """Refuse, before spending anything, a plan whose estimate is already over the budget of one build."""
    settings = deps.settings
    if deps.state.spec is None or deps.state.plan is None or (settings.max_tokens is None and settings.max_cost is None):
        return None
    estimate = estimate_for(deps.state.plan, deps.state.spec, deps.models, build_options(settings),
                            settings.quality_sample_size)
    tokens = estimate.input_tokens + estimate.output_tokens
    if settings.max_tokens is not None and tokens > settings.max_tokens:
        return (f"This plan is estimated at {tokens:,} tokens, over the budget of one build on this server "
                f"({settings.max_tokens:,} tokens, the setting BENCHMARK_AGENT_MAX_TOKENS). Make the plan smaller "
                "(e.g. 'make it 40 samples') or ask for a larger budget; the plan is kept as it is.")
    if settings.max_cost is not None and estimate.cost is not None and estimate.cost > settings.max_cost:
        return (f"This plan is estimated at ${estimate.cost:.2f}, over the budget of one build on this server "
                f"(${settings.max_cost:.2f}, the setting BENCHMARK_AGENT_MAX_COST). Make the plan smaller or ask for "
                "a larger budget; the plan is kept as it is.")
    return None


def building_status(deps: AssistantDeps) -> str:
    """What to say to a message that arrives while this conversation's build runs."""
    build = deps.state.build
    if build is None:
        return "A build is running; its progress is shown above."
    accepted = sum(1 for _ in read_jsonl(Path(build.directory) / CHECKPOINTS / ACCEPTED))
    return (f"The build is running: {accepted} of {build.requested} samples accepted so far (the task list above "
            "shows each subtask and what has been spent). I will answer anything else once it has finished; "
            "everything accepted is saved as it goes.")


async def recover_interrupted(deps: AssistantDeps) -> None:
    """A thread saved mid-build whose build is not running here: left to the server process that runs it, if one
    does (`deps.build_elsewhere`); else (the server was restarted or killed) made resumable."""
    state = deps.state
    if state.phase == "building" and state.thread_id not in deps.active_builds:
        if deps.leases is not None:
            deps.build_elsewhere = await deps.leases.holder_elsewhere(state.thread_id)
            if deps.build_elsewhere is not None:
                return
            await deps.leases.clear_gone(state.thread_id)
        state.phase = "planned"
        if state.build is not None:
            state.build = state.build.model_copy(update={"status": "stopped"})
        state.notices.append("The last build was interrupted; what it accepted is saved. Build again to resume it.")


async def _save(deps: AssistantDeps) -> None:
    if deps.threads is not None:
        await deps.threads.save(deps.state)


def _new_build_dir(builds: Path) -> Path:
    builds.mkdir(parents=True, exist_ok=True)
    n = 1 + sum(1 for _ in builds.iterdir())
    while (builds / f"build-{n:04d}").exists():
        n += 1
    return builds / f"build-{n:04d}"


def plan_estimate(deps: AssistantDeps) -> str | None:
    """What building the current plan is expected to cost, shown with the plan before the user confirms."""
    state = deps.state
    if state.spec is None or state.plan is None:
        return None
    return describe_estimate(estimate_for(state.plan, state.spec, deps.models, build_options(deps.settings),
                                          deps.settings.quality_sample_size, deps.settings.panel()))


def _sentences(notes: list[str]) -> str:
    """The report's warnings, each a sentence of its own (they are written as sentences, most with their stop)."""
    return " ".join(note if note.rstrip().endswith((".", "!", "?")) else note.rstrip() + "." for note in notes)
