"""Pins what every model is shown: tool names, descriptions and JSON schemas, and each stage's instructions.

A prompt or contract change shows up here as a diff. After an intended change, regenerate with
`UPDATE_SCHEMAS=1 scripts/test tests/test_tool_schemas.py` and review the diff of tests/data/tool_schemas.json.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from assistant.agent import chat_agent
from assistant.deps import AssistantDeps
from assistant.session import BuildSummary, ThreadState
from assistant.settings import Settings
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tools.contracts import BenchmarkSpec, Subtask, SubtaskOutcome, SubtaskPlan
from tools.finish.panel import hardener_agent
from tools.finish.quality import quality_agent
from tools.finish.scoring import grader_agent
from tools.llm.stage import StageModels
from tools.qc.closed_book import closed_book_agent
from tools.qc.dedup_judge import same_item_agent
from tools.qc.inspection import inspector_agent, repair_agent
from tools.qc.solve import adjudicator_agent, solver_agent
from tools.qc.verify import judge_agent
from tools.sources import ingest
from tools.stages.brief import brief_agent
from tools.stages.design import design_agent
from tools.stages.generate import GENERATOR_OUTPUTS, generator_agent
from tools.stages.refine import refine_agent
from tools.stages.requirements import spec_agent

SNAPSHOT = Path(__file__).parent / "data" / "tool_schemas.json"


class _Seen(Exception):
    pass


def _capture(agent: Agent[Any, Any], deps: Any = None, output_type: Any = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def look(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen["instructions"] = info.instructions
        seen["tools"] = {t.name: {"description": t.description, "parameters": t.parameters_json_schema}
                         for t in [*info.function_tools, *info.output_tools]}
        raise _Seen

    with contextlib.suppress(_Seen):
        if output_type is None:
            agent.run_sync("x", model=FunctionModel(look), deps=deps)
        else:
            agent.run_sync("x", model=FunctionModel(look), deps=deps, output_type=output_type)
    return seen


_SPEC = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=2)
_PLAN = SubtaskPlan(subtasks=[Subtask(id="s", name="S", description="d", answer_format="numeric", quota=2)])


def _orchestrator_tools(tmp_path: Path) -> dict[str, Any]:
    tools: dict[str, Any] = {}
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        for phase, message in [("gathering", "x"), ("spec_ready", "go"), ("planned", "go"), ("planned", "x"),
                               ("built", "x"), ("gathering", "with a file")]:
            state = ThreadState(thread_id="t", phase=phase, last_message=message)  # type: ignore[arg-type]
            if message == "with a file":  # an attached benchmark file, so that checking it is offered too
                (tmp_path / "theirs.jsonl").write_text('{"question": "2+2?", "answer": "4"}\n', encoding="utf-8")
                ingest([("theirs.jsonl", tmp_path / "theirs.jsonl")], tmp_path / "material")
                state.material_dir = str(tmp_path / "material")
            if message == "x" and phase == "planned":  # two plan versions, so that undo is offered too
                state.commit(_PLAN, _SPEC, "designed", [])
                state.commit(_PLAN, _SPEC, "edited", ["x"])
            if phase == "built":  # a build that fell short, so that its shortfall step is offered too
                state.commit(_PLAN, _SPEC, "designed", [])
                state.build = BuildSummary(build_id="b", directory="d", status="short", accepted=1, requested=2,
                                           shortfalls=[SubtaskOutcome(subtask_id="s", quota=2, accepted=1, rounds=1)])
            deps = AssistantDeps(settings=Settings(data_dir=tmp_path), models=StageModels(models={}, names={}),
                                 store=store, state=state)
            seen = _capture(chat_agent, deps)
            tools.update(seen["tools"])
            instructions = seen["instructions"]
    return {"instructions": instructions, "tools": tools}


def test_every_prompt_and_tool_schema_matches_the_reviewed_snapshot(tmp_path: Path) -> None:
    current = {
        "orchestrator": _orchestrator_tools(tmp_path),
        "requirements": _capture(spec_agent),
        "design": _capture(design_agent),
        "refine": _capture(refine_agent),
        "generator": _capture(generator_agent),
        **{f"generator:{fmt}": _capture(generator_agent, output_type=out) for fmt, out in GENERATOR_OUTPUTS.items()},
        "judge": _capture(judge_agent),
        "dedup-tie-break": _capture(same_item_agent),
        "brief": _capture(brief_agent),
        "inspector": _capture(inspector_agent),
        "repair": _capture(repair_agent),
        "solver": _capture(solver_agent),
        "adjudicator": _capture(adjudicator_agent),
        "closed-book": _capture(closed_book_agent),
        "hardener": _capture(hardener_agent),
        "quality": _capture(quality_agent),
        "grader": _capture(grader_agent),
    }
    text = json.dumps(current, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SCHEMAS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text)
    assert json.loads(SNAPSHOT.read_text()) == current, "prompts or tool schemas changed: see the module docstring"
    assert set(current["orchestrator"]["tools"]) == {"analyze_request", "design_plan", "build_benchmark", "refine_plan",
                                                     "undo_plan", "preview_samples", "settle_shortfall", "evaluate_models",
                                                     "refresh_benchmark", "check_benchmark_file",
                                                     "publish_benchmark"}
