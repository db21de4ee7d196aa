"""Material assigned to subtasks (relevance and coverage), the plan card's coverage lines, and steering it."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.tools.sources.fixtures import prose, write_text_pdf
from tools.contracts import MaterialSelection, Subtask, SubtaskPlan
from tools.errors import InvalidRequest
from tools.sources import MaterialView, ingest
from tools.stages.ground import assign_material, coverage_lines, select_material
from tools.stages.material_index import material_index

TOPICS = {
    "Fractions": "A fraction names parts of a whole: the numerator counts the parts and the denominator says how many "
                 "equal parts make the whole. Fractions with equal denominators add by adding numerators. ",
    "Decimals": "A decimal writes tenths and hundredths after a decimal point. Rounding a decimal keeps the digits up "
                "to a place and looks at the next decimal digit. ",
    "Geometry": "A triangle has three sides and its angles sum to 180 degrees. The area of a rectangle is its length "
                "times its width, a geometry fact every pupil meets. ",
}


def _guide(folder: Path) -> Path:
    """A Markdown guide whose chapters are each long enough to be passages of their own."""
    parts = [f"# Chapter {n} {name}\n\n" + (text * 12) + "\n" for n, (name, text) in enumerate(TOPICS.items(), start=1)]
    parts.append("# Appendix\n\n" + ("Tables of reference values follow for the teacher only. " * 40) + "\n")
    path = folder / "guide.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


@pytest.fixture
def view(tmp_path: Path) -> MaterialView:
    pdf = write_text_pdf(tmp_path / "report.pdf", [prose(n, 6) for n in range(8)])
    rows = "".join(f"What is {n} plus {n}?,{2 * n},sums\n" for n in range(1, 31))
    (tmp_path / "data.csv").write_text("question,answer,topic\n" + rows, encoding="utf-8")
    ingest([("guide.md", _guide(tmp_path)), ("report.pdf", pdf), ("data.csv", tmp_path / "data.csv")],
           tmp_path / "material")
    return MaterialView(tmp_path / "material")


def _plan(*quotas: tuple[str, int], description: str = "") -> SubtaskPlan:
    return SubtaskPlan(subtasks=[
        Subtask(id=name.lower().replace(" ", "-"), name=name, description=description or f"Questions on {name.lower()}",
                answer_format="short_answer", quota=quota) for name, quota in quotas])


def _chunks(plan: SubtaskPlan, index: int) -> list[str]:
    selection = plan.subtasks[index].material
    assert selection is not None
    return [u for u in selection.units if ":c" in u]


def test_each_chunk_goes_to_the_subtask_it_fits_and_the_whole_document_is_covered_once(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 4), ("Decimals", 4), ("Geometry", 4)), view)
    everything = view.units("document")
    given = [u for i in range(3) for u in _chunks(plan, i)]
    assert sorted(given) == sorted(everything)  # every chunk once, none twice
    for i, topic in enumerate(TOPICS):
        chapter = [u for u in everything if view.anchor(u) == f"section Chapter {i + 1} {topic}"]
        assert chapter and set(chapter) <= set(_chunks(plan, i)), topic
        assert _chunks(plan, i)[:len(chapter)] == chapter  # the best fitting first


def test_capacities_follow_the_quotas_and_a_subtask_that_fits_nothing_still_gets_a_share(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 9), ("Astronomy", 1)), view)
    chunks = len(view.units("document"))
    assert len(_chunks(plan, 0)) + len(_chunks(plan, 1)) == chunks
    assert len(_chunks(plan, 1)) >= 1 and len(_chunks(plan, 0)) >= 0.8 * chunks


def test_records_are_shared_in_file_order_without_overlap_and_at_most_what_a_subtask_can_use(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 6), ("Decimals", 3)), view)
    records = [[u for u in (s.material.units if s.material else []) if ":r" in u] for s in plan.subtasks]
    assert records[0] == view.units("records")[:len(records[0])]  # order kept, a consecutive run
    assert not set(records[0]) & set(records[1])
    assert len(records[0]) == 18 and len(records[1]) == 9  # quota x 3 each: 30 rows split 20/10, capped


def test_a_multi_hop_subtask_is_marked_so_and_needs_two_chunks_per_item(view: MaterialView) -> None:
    plan = assign_material(_plan(("Connections", 2), description="Multi-hop questions combining two passages"), view)
    assert plan.subtasks[0].material == MaterialSelection(units=plan.subtasks[0].material.units, multi_hop=True)  # type: ignore[union-attr]


def test_coverage_lines_name_pages_sections_rows_and_what_is_left(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2), ("Decimals", 2)), view)
    lines = coverage_lines(plan, view)
    assert len(lines) == 3
    assert lines[0].startswith("Fractions: ") and "guide.md" in lines[0] and "(2 passages)" in lines[0]
    assert "data.csv rows 1-2" in lines[0] and "data.csv rows 16-17" in lines[1]
    assert lines[2].startswith("Unused: ") and "report.pdf pages" in lines[2] and "data.csv rows" in lines[2]


def test_pages_are_written_as_ranges(view: MaterialView) -> None:
    plan = assign_material(_plan(("Everything", 30)), view)
    line = coverage_lines(plan, view)[0]
    assert "report.pdf pages 1-8 (8 passages)" in line and "data.csv rows 1-30" in line
    assert coverage_lines(plan, view)[-1].startswith("Unused: none")


def test_only_pages_keeps_those_pages_and_says_so(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2), ("Decimals", 2)), view)
    new, changes = select_material(plan, view, "only", "pages 2-5")
    kept = {view.anchor(u) for s in new.subtasks for u in (s.material.units if s.material else [])}
    assert kept == {"page 2", "page 3", "page 4", "page 5"}
    assert changes[0] == "Using only report.pdf pages 2-5 (4 passages) for the benchmark."


def test_skip_a_file_removes_all_its_units(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2), ("Decimals", 2)), view)
    new, changes = select_material(plan, view, "skip", "data.csv")
    units = [u for s in new.subtasks for u in (s.material.units if s.material else [])]
    assert units and not any(":r" in u for u in units)
    assert changes[0].startswith("Skipping data.csv rows 1-30")


def test_chapter_and_appendix_match_section_headings(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2), ("Decimals", 2)), view)
    only, _ = select_material(plan, view, "only", "chapter 2")
    texts = [view.text(u) for s in only.subtasks for u in (s.material.units if s.material else [])]
    assert texts and all("decimal" in t.casefold() for t in texts)
    skipped, _ = select_material(plan, view, "skip", "the appendix")
    left = [view.text(u) for s in skipped.subtasks for u in (s.material.units if s.material else []) if ":c" in u]
    assert left and not any("reference values" in t for t in left)


def test_only_rows_for_one_subtask_leaves_the_others_alone(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2), ("Decimals", 2)), view)
    new, _ = select_material(plan, view, "only", "rows 1-4", subtask="Decimals")
    assert new.subtasks[0] == plan.subtasks[0]
    assert new.subtasks[1].material and [view.anchor(u) for u in new.subtasks[1].material.units] == [
        "row 1", "row 2", "row 3", "row 4"]


def test_a_target_that_matches_nothing_is_refused_with_what_the_material_has(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2)), view)
    with pytest.raises(InvalidRequest) as raised:
        select_material(plan, view, "only", "chapter 9")
    message = str(raised.value)
    assert "'chapter 9' matches nothing" in message
    assert "guide.md (sections Chapter 1 Fractions" in message and "report.pdf (8 pages)" in message
    assert "data.csv (30 rows)" in message


def test_skipping_everything_is_refused(view: MaterialView) -> None:
    plan = assign_material(_plan(("Fractions", 2)), view)
    plan, _ = select_material(plan, view, "only", "data.csv")
    with pytest.raises(InvalidRequest, match="no material"):
        select_material(plan, view, "skip", "rows 1-30")


def test_the_passages_are_embedded_into_chroma_once_and_rank_the_assignment(view: MaterialView, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    with SampleStore(tmp_path / "chroma", embedder=embedder) as store:
        index = material_index(view, store)
        assert index is not None and index.count() == len(view.units("document"))
        embedded = embedder.calls
        again = material_index(view, store)
        assert again is not None and embedder.calls == embedded, "a second look embeds nothing again"
        plan = assign_material(_plan(("Fractions", 4), ("Decimals", 4), ("Geometry", 4)), view, again)
    for position, topic in enumerate(TOPICS):  # the passages of each chapter go to the subtask on that topic
        about = {u for u in view.units("document") if f"chapter {position + 1} {topic.lower()}" in view.text(u).lower()}
        assert about and about <= set(_chunks(plan, position)), topic


def test_material_without_documents_needs_no_index(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("question,answer\nWhat is 1 plus 1?,2\n", encoding="utf-8")
    ingest([("data.csv", tmp_path / "data.csv")], tmp_path / "material")
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        assert material_index(MaterialView(tmp_path / "material"), store) is None
