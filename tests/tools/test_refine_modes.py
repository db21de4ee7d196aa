"""A plan edit in free text reaches the chat model and comes back as typed edits in every output mode (tool calling,
native `json_schema`, `json_object` with the schema, prompted), through fake servers that allow only that mode.

The fake endpoint knows the answer (tests/fake_llm_edits.py): this proves the wiring, not a model's reading."""

from __future__ import annotations

from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.model_registry import stage_models
from assistant.settings import Settings
from tests.fake_llm import FakeLLMServer
from tests.tools.test_phrasings import PLAN, SPEC
from tools.stages.edit_words import make_edit
from tools.stages.refine import refine_plan, revise

MODES = [
    ("tool", frozenset(), "auto"),
    ("native", frozenset({"no_tools"}), "auto"),
    ("json_object", frozenset({"no_tools", "no_json_schema"}), "auto"),
    ("prompted", frozenset({"no_tools", "no_json_schema"}), "prompted"),
]
REQUEST = "Drop the second subtask, split the first into easy and hard, and double the size of the last one, " \
          "but don't drop Fractions"


@pytest.mark.parametrize(("mode", "quirks", "setting"), MODES, ids=[m[0] for m in MODES])
async def test_a_compound_edit_comes_back_as_typed_edits_in_each_output_mode(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str, quirks: frozenset[str], setting: str) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    with FakeLLMServer(port=0, seed=5, quirks=quirks) as server:
        settings = Settings(model="openai:fake-model", openai_base_url=server.base_url, openai_api_key="test",
                            output_mode=setting, data_dir=tmp_path)
        revision = await refine_plan(REQUEST, PLAN, SPEC, models=stage_models(settings), max_size=500)
        calls = server.stats.by_tool
    wanted = [make_edit(op="drop", subtask="percent"), make_edit(op="split", subtask="fractions"),
              make_edit(op="scale", subtask="geometry", factor=2.0)]
    assert revision.plan == revise(PLAN, SPEC, wanted, max_size=500).plan
    assert [p.outcome for p in revision.parts] == ["done", "done", "done", "not_asked"]
    assert not revision.note and not [p for p in revision.parts if p.note.startswith("read as a plain command")]
    assert calls.get("submit_edit" if mode == "tool" else "submit_edit (as JSON)", 0) == 1, calls
