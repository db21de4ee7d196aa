"""The fake OpenAI-compatible server answers every quality-control stage plausibly, end to end over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pydantic_ai.models
import pytest
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.fake_llm import FakeLLMServer
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
from tools.finish.quality import quality_report
from tools.llm.stage import StageModels
from tools.qc.gate import quality_gate
from tools.qc.schema import make_provenance, to_sample
from tools.stages.brief import design_briefs
from tools.stages.generate import generate_batch

SPEC = BenchmarkSpec(goal="arithmetic word problems", capability="multi-step arithmetic", domain="word problems",
                     answer_format="numeric", size=3)
SPEC_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> Iterator[StageModels]:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # requests only go to 127.0.0.1
    with FakeLLMServer(port=0, seed=0) as server:
        model = OpenAIChatModel("fake-model", provider=OpenAIProvider(base_url=server.base_url, api_key="test"))
        roles = ("generator", "judge", "solver")
        yield StageModels(models=dict.fromkeys(roles, model), names=dict.fromkeys(roles, "openai:fake-model"))  # type: ignore[arg-type]


@pytest.mark.parametrize("answer_format", ["numeric", "multiple_choice"])
async def test_the_fakes_own_items_pass_the_whole_quality_gate(models: StageModels, answer_format: str) -> None:
    subtask = Subtask(id="sums", name="Multi-step addition and subtraction", description="Chains of sums.",
                      answer_format=answer_format, quota=3)  # type: ignore[arg-type]
    briefs = await design_briefs(SPEC, subtask, 3, models=models)
    drafts = await generate_batch(SPEC, subtask, 3, models=models, briefs=briefs)
    assert len(briefs) == 3 and all(2 <= len(b.hops) <= 4 for b in briefs)
    provenance = make_provenance("b1", "openai:fake-model", "openai:fake-model", 1, SPEC_TIME)
    results = [await quality_gate(to_sample(d, subtask, provenance), SPEC, subtask, models=models, brief=b)
               for d, b in zip(drafts, briefs, strict=True)]
    assert all(r.sample is not None for r in results), [r.records for r in results]
    checks = {r.check for result in results for r in result.records}
    assert {"leakage", "inspector", "solver"} <= checks and ("executed" in checks) == (answer_format == "numeric")
    assert all(r.agreed for result in results for r in result.records if r.check == "solver")
    accepted = [r.sample for r in results if r.sample is not None]
    quality = await quality_report(accepted, SPEC, SubtaskPlan(subtasks=[subtask]), models=models, build_id="b1",
                                   records=[r for result in results for r in result.records])
    assert quality.scored == 3 and 30 <= quality.dimensions["skill_specific_challenge"] <= 60
    assert quality.agreement_rate == 1.0

