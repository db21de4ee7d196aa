"""The reply to a plan edit in words: one version, and every instruction of the message with what became of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.deps import AssistantDeps
from assistant.refinement import refine_step
from assistant.session import ThreadState
from assistant.settings import Settings
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.scripted import Script, stage_models
from tests.tools.test_phrasings import PLAN, SPEC
from tools.errors import InvalidEdit


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[AssistantDeps]:
    models = stage_models(Script(submit_edit=[{"edits": []}]))
    models.names["chat"] = "embedded:smollm2-135m"  # the plain-command reader alone reads the message
    state = ThreadState(thread_id="t1", phase="planned")
    state.commit(PLAN, SPEC, "designed", [])
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        yield AssistantDeps(settings=Settings(data_dir=tmp_path / "data"), models=models, store=store, state=state)


async def test_the_reply_lists_every_instruction_of_a_compound_edit(deps: AssistantDeps) -> None:
    deps.state.last_message = ("Drop the second subtask, split the first into easy and hard, and double the size of "
                               "the last one.")
    reply = await refine_step(deps)
    assert deps.state.version.number == 2 and len(deps.state.versions) == 2, "one new version for the whole message"  # type: ignore[union-attr]
    assert reply.startswith("Plan v2, 3 of the 3 instructions in your message carried out:")
    assert "1. 'Drop the second subtask': dropped 'Percentages and ratios' (6)" in reply
    assert "2. 'split the first into easy and hard': split 'Fractions' into 'Fractions (easy)' (7) and " \
           "'Fractions (hard)' (7)" in reply
    assert "3. 'double the size of the last one': 'Geometry': 6 → 12 samples; total: 20 → 26 samples" in reply


async def test_the_reply_names_what_was_not_understood_or_not_possible(deps: AssistantDeps) -> None:
    deps.state.last_message = "drop 2, make the stories funnier, don't drop Fractions and give Geometry 99 samples"
    reply = await refine_step(deps)
    assert "Plan v2, 1 of the 4 instructions in your message carried out:" in reply
    assert "2. 'make the stories funnier': not understood, nothing changed for it" in reply
    assert "3. 'don't drop Fractions': left as it is: you asked for this not to be done" in reply
    assert "4. 'give Geometry 99 samples': not possible: 'Geometry' can have at most" in reply


async def test_a_message_where_nothing_can_be_done_changes_nothing_and_says_why(deps: AssistantDeps) -> None:
    deps.state.last_message = "don't drop Fractions"
    with pytest.raises(InvalidEdit, match="'don't drop Fractions': you asked for it not to be done"):
        await refine_step(deps)
    assert len(deps.state.versions) == 1


async def test_a_single_plain_command_keeps_the_short_reply(deps: AssistantDeps) -> None:
    deps.state.last_message = "drop 3"
    reply = await refine_step(deps)
    assert reply.startswith("Plan v2: dropped 'Geometry' (4); 'Fractions': 10 → 12 samples")


async def test_with_a_real_model_each_of_its_edits_is_listed_by_the_names_it_changes(deps: AssistantDeps) -> None:
    script = Script(submit_edit=[{"edits": [{"op": "drop", "subtask": "2"}, {"op": "split", "subtask": "1"}],
                                  "not_asked": ["don't touch Geometry"]}])
    deps.models = stage_models(script)  # a real chat model: the message is not one plain command
    deps.state.last_message = "lose the ratio stuff and cut the first one in two by difficulty, don't touch Geometry"
    reply = await refine_step(deps)
    assert script.calls, "the model read the message"
    assert "1. drop 'Percentages and ratios': dropped 'Percentages and ratios' (6)" in reply
    assert "2. split 'Fractions': split 'Fractions' into 'Fractions (easy)'" in reply
    assert "3. 'don't touch Geometry': left as it is: you asked for this not to be done" in reply
