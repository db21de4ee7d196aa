"""Previews of subtasks written from the user's material: written from the subtask's own units, checked against the
material like the build's items (evidence, closed-book), each shown with what it cites; through the fake endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from assistant.render import preview_view
from tests.fake_llm import FakeLLMServer
from tests.tools.sources.fixtures import prose, write_text_pdf
from tools.contracts import BenchmarkSpec, MaterialSelection, Subtask, SubtaskPlan
from tools.engine.preview import preview_samples
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions
from tools.sources import MaterialView, ingest
from tools.stages.ground import assign_material

SPEC = BenchmarkSpec(goal="reading the user's reports", capability="reading comprehension", domain="local history",
                     answer_format="short_answer", size=6)
PLAN = SubtaskPlan(subtasks=[Subtask(id="details", name="Details of the report", description="Facts stated in it",
                                     answer_format="short_answer", quota=6)])


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> Iterator[StageModels]:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # requests only go to 127.0.0.1
    with FakeLLMServer(port=0, seed=3, deterministic=True) as server:
        model = OpenAIChatModel("fake-model", provider=OpenAIProvider(base_url=server.base_url, api_key="test"))
        roles = ("generator", "judge", "solver")
        yield StageModels(models=dict.fromkeys(roles, model), names=dict.fromkeys(roles, "openai:fake-model"))  # type: ignore[arg-type]


def _view(tmp_path: Path) -> MaterialView:
    pdf = write_text_pdf(tmp_path / "report.pdf", [prose(n, 5) for n in range(12)])
    ingest([("report.pdf", pdf)], tmp_path / "material")
    return MaterialView(tmp_path / "material")


async def test_grounded_previews_cite_their_material_and_pass_its_checks(models: StageModels, tmp_path: Path) -> None:
    view = _view(tmp_path)
    plan = assign_material(PLAN, view)
    items, problems = await preview_samples(SPEC, plan, models=models, qc=QCOptions(), per_subtask=5, material=view)
    assert items, problems
    for item in items:
        assert item.evidence and all(line.startswith("report.pdf, page ") for line in item.evidence)
        assert any(c.startswith("evidence: passed") for c in item.checks)
        assert any(c.startswith("closed_book: ") for c in item.checks)
        quote = item.evidence[0].split(": ", 1)[1].strip("\u201c\u201d")
        assert quote in (item.context or ""), "the cited span is in the passage shown with the question"
        assert "Evidence: report.pdf, page " in preview_view(item, 1, "Details of the report")
    # Items from one passage in six quote a span the fake made up: the evidence check drops them, as in a build.
    fabricated = [p for p in problems if "failed the evidence check" in p]
    assert fabricated == [] and len(items) == 5, "pages 1-5 come first; the fake fabricates on page 6"


async def test_a_grounded_preview_quoting_a_span_its_passage_lacks_fails_the_evidence_check_and_is_not_shown(
        models: StageModels, tmp_path: Path) -> None:
    view = _view(tmp_path)
    pages = view.units()
    plan = SubtaskPlan(subtasks=[PLAN.subtasks[0].model_copy(
        update={"material": MaterialSelection(units=[pages[5], pages[0]])})])  # page 6 first: its quote is made up
    items, problems = await preview_samples(SPEC, plan, models=models, qc=QCOptions(), per_subtask=2, material=view)
    assert len(items) == 1 and items[0].evidence[0].startswith("report.pdf, page 1")
    assert len(problems) == 1 and problems[0].startswith("Details of the report: a draft failed the evidence check (")
    assert "This sentence appears nowhere in the material." in problems[0]


async def test_a_grounded_subtask_previewed_without_its_material_says_so_and_writes_nothing(
        models: StageModels, tmp_path: Path) -> None:
    plan = assign_material(PLAN, _view(tmp_path))
    items, problems = await preview_samples(SPEC, plan, models=models, qc=QCOptions(), per_subtask=2)
    assert items == [] and problems == ["Details of the report: its items are written from the attached material, "
                                        "which cannot be read now; nothing was previewed (attach the files again)"]
