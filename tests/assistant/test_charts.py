"""The finished build's figures hold the report's own numbers: candidates, accepted, drops by reason, answer positions."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.io

from assistant import charts
from tools.contracts import BenchmarkSpec, BuildReport, Drop, Provenance, Sample, StageCount, Subtask, SubtaskPlan
from tools.finish.positions import position_distribution

SPEC = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="multiple_choice", size=6)
PLAN = SubtaskPlan(subtasks=[Subtask(id="mc", name="Choice", description="d", answer_format="multiple_choice", quota=6)])
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROVENANCE = Provenance(build_id="b1", generator_model="openai:gen", attempt=0, created_at=NOW)


def _report(drop_reasons: dict[str, int], *, accepted: int = 6, surplus: int = 0) -> BuildReport:
    drops = [Drop(subtask_id="mc", check="judge", reason=r) for r, n in drop_reasons.items() for _ in range(n)]
    stages = [StageCount(stage="surplus", attempted=surplus)] if surplus else []
    return BuildReport(build_id="b1", status="complete", spec=SPEC, plan=PLAN, requested=6, accepted=accepted,
                       stages=stages, subtasks=[], drop_reasons=drop_reasons, drops=drops,
                       models={"generator": "openai:gen"}, usage={}, started_at=NOW, finished_at=NOW)


def _mc(n: int, index: int, options: int = 4) -> Sample:
    return Sample(id=f"mc-{n:012x}", subtask_id="mc", answer_format="multiple_choice", question=f"Q{n}?",
                  choices=[f"o{i}" for i in range(options)], answer=f"o{index}", answer_index=index, provenance=PROVENANCE)


def test_the_candidates_chart_holds_the_reports_accepted_and_every_drop_reason() -> None:
    reasons = {"judge: wrong answer": 3, "duplicate: duplicate of a sample accepted in this build": 2, "schema: bad": 1}
    report = _report(reasons, surplus=2)
    figure = charts.build_funnel(report)
    bar = figure.data[0]
    shown = dict(zip(bar.y, bar.x, strict=True))
    assert shown["candidates"] == report.accepted + sum(report.drop_reasons.values()) + 2 == 14
    assert shown["accepted"] == report.accepted
    assert shown["not needed (quota already met)"] == 2
    drops = {label: n for label, n in shown.items() if label.startswith("dropped")}
    assert sum(drops.values()) == sum(report.drop_reasons.values())
    assert list(drops.values()) == [3, 2, 1], "most frequent first"
    assert list(bar.customdata[2:5]) == list(reasons), "each bar's full reason shows on hover"
    assert figure.layout.title.text == "14 candidates: 6 accepted, 6 dropped"
    plotly.io.from_json(figure.to_json())  # what cl.Plotly sends is the figure's JSON


def test_drop_reasons_beyond_the_first_eight_share_one_bar_that_keeps_their_count() -> None:
    reasons = {f"judge: reason {i:02d}": 20 - i for i in range(12)}
    shown = dict(zip(*(lambda b: (b.y, b.x))(charts.build_funnel(_report(reasons)).data[0]), strict=True))
    drops = {label: n for label, n in shown.items() if label.startswith("dropped")}
    assert len(drops) == charts.MAX_REASONS + 1
    assert drops["dropped · 4 other reasons"] == sum(20 - i for i in range(8, 12))
    assert sum(drops.values()) == sum(reasons.values())


def test_a_build_with_no_drop_has_only_its_candidates_and_accepted() -> None:
    bar = charts.build_funnel(_report({})).data[0]
    assert list(bar.y) == ["candidates", "accepted"] and list(bar.x) == [6, 6]


def test_the_answer_position_chart_counts_each_letter_with_the_uniform_share() -> None:
    items = [_mc(1, 0), _mc(2, 1), _mc(3, 1), _mc(4, 3), _mc(5, 3), _mc(6, 3), _mc(7, 3), _mc(8, 2)]
    figure = charts.answer_positions(items)
    assert figure is not None
    bars, uniform = figure.data
    assert list(bars.x) == ["A", "B", "C", "D"] and list(bars.y) == [1, 2, 1, 4]
    assert dict(zip(bars.x, bars.y, strict=True)) == position_distribution(items)
    assert list(uniform.y) == [2.0, 2.0, 2.0, 2.0], "8 four-option items: 2 a letter if spread evenly"


def test_a_letter_no_answer_uses_is_drawn_at_zero_and_mixed_option_counts_share_fairly() -> None:
    items = [_mc(1, 0, options=2), _mc(2, 0, options=2), _mc(3, 1, options=4), _mc(4, 1, options=4)]
    shape = charts.positions(items)
    assert shape is not None
    assert shape.letters == ["A", "B", "C", "D"] and shape.counts == [2, 2, 0, 0]
    # two 2-option items give A and B half each; two 4-option items give each letter a quarter each
    assert shape.expected == [1.5, 1.5, 0.5, 0.5] and sum(shape.expected) == len(items)


def test_a_benchmark_without_multiple_choice_items_has_no_position_chart() -> None:
    numeric = Sample(id="n-000000000001", subtask_id="n", answer_format="numeric", question="1+1?", answer="2",
                     provenance=PROVENANCE)
    assert charts.answer_positions([numeric]) is None
