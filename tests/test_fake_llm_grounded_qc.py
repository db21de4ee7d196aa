"""The fake server checks grounded items end to end over HTTP: the inspector, the re-solve and the judge read
prompts that quote material, and the closed-book solver knows a deterministic one item in four."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.fake_llm import FakeLLMServer
from tests.fake_llm_content import CLOSED_BOOK_KNOWN_EVERY
from tests.tools.material_fixtures import DATA, DOC, GROUNDED, View, cite, grounded_item
from tools.contracts import BenchmarkSpec, Sample
from tools.llm.stage import StageModels
from tools.qc.gate import QCOptions, check_candidate, quality_gate

SPEC = BenchmarkSpec(goal="facts from a plant report", capability="reading comprehension", domain="industry",
                     answer_format="short_answer", size=12, needs_material=True)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeLLMServer, StageModels]]:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # requests only go to 127.0.0.1
    with FakeLLMServer(port=0, seed=0, deterministic=True) as server:
        model = OpenAIChatModel("fake-model", provider=OpenAIProvider(base_url=server.base_url, api_key="test"))
        roles = ("generator", "judge", "solver")
        yield server, StageModels(models=dict.fromkeys(roles, model), names=dict.fromkeys(roles, "openai:fake-model"))  # type: ignore[arg-type]


def _items(server: FakeLLMServer) -> list[Sample]:
    """Grounded items the fake 'wrote' (it remembers their answers, as for the items it generates)."""
    items = [grounded_item(question=f"In which year did the Lisbon plant open? (asked in form {i})") for i in range(10)]
    items.append(grounded_item(question="What is the capital of Peru, according to the record?", answer="Lima",
                               context="Capital of Peru?", evidence=[cite(f"{DATA}:r1", "question: Capital of Peru?"),
                                                                     cite(f"{DATA}:r1", "answer: Lima")]))
    for item in items:
        server.content.remember(item.question, item.answer)
    return items


def _known(question: str) -> bool:
    return int(hashlib.sha256(question.encode()).hexdigest()[:8], 16) % CLOSED_BOOK_KNOWN_EVERY == 0


async def test_grounded_items_pass_inspection_and_re_solve_and_the_closed_book_solver_knows_some(
        served: tuple[FakeLLMServer, StageModels], tmp_path: Path) -> None:
    server, models = served
    items = _items(server)
    view = View(tmp_path / "material")
    results = [await quality_gate(item, SPEC, GROUNDED, models=models, material=view) for item in items]
    for item, result in zip(items, results, strict=True):
        checks = [(r.check, r.outcome) for r in result.records]
        closed = "dropped" if _known(item.question) else "passed"
        assert checks == [("leakage", "passed"), ("evidence", "passed"), ("inspector", "passed"), ("solver", "passed"),
                          ("closed_book", closed)], item.question
        assert next(r for r in result.records if r.check == "solver").agreed is True
    kept = [r.sample for r in results if r.sample is not None]
    assert 0 < len(kept) < len(items)  # both outcomes occur through the fake
    assert all(s.metadata["qc"]["answerable_without_source"] is False for s in kept)


async def test_a_fabricated_span_is_dropped_and_the_single_judge_reads_grounded_prompts(
        served: tuple[FakeLLMServer, StageModels], tmp_path: Path) -> None:
    server, models = served
    item = _items(server)[0]
    fabricated = item.model_copy(update={"evidence": [cite(f"{DOC}:c1", "The plant opened in 1998 to great acclaim.")]})
    view = View(tmp_path / "material")
    dropped = await quality_gate(fabricated, SPEC, GROUNDED, models=models, material=view)
    assert dropped.dropped is not None and dropped.dropped.check == "evidence"
    judged = await check_candidate(item, SPEC, GROUNDED, models=models, material=view,
                                   options=QCOptions(inspect=False, repair=False, resolve=False, closed_book=False))
    assert [(r.check, r.outcome) for r in judged.records][-1] == ("judge", "passed")
    assert any("<material" in str(body.get("messages")) for body in server.recent_requests)


async def test_a_quoted_record_s_own_question_line_does_not_stand_for_the_item_s_question(
        served: tuple[FakeLLMServer, StageModels], tmp_path: Path) -> None:
    server, models = served
    record_item = _items(server)[-1]
    wrong = record_item.model_copy(update={"answer": "Cusco"})  # the fake knows the answer is Lima
    result = await quality_gate(wrong, SPEC, GROUNDED, models=models, material=View(tmp_path / "material"))
    assert result.dropped is not None and (result.dropped.check, result.dropped.issues) == ("inspector", ["wrong_answer"])


async def test_an_item_without_context_is_read_right_although_the_material_note_mentions_the_tags(
        served: tuple[FakeLLMServer, StageModels], tmp_path: Path) -> None:
    server, models = served
    record_item = _items(server)[-1].model_copy(update={"context": None})
    wrong = record_item.model_copy(update={"answer": "Cusco"})
    result = await quality_gate(wrong, SPEC, GROUNDED, models=models, material=View(tmp_path / "material"))
    assert result.dropped is not None and (result.dropped.check, result.dropped.issues) == ("inspector", ["wrong_answer"])
