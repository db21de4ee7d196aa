"""The finished build's figures (Plotly), shown beside the report's tables: where the candidates went, and where
the correct answers of the multiple-choice items sit.

Each figure is drawn from the numbers the report holds, never from anything else: `build_funnel` from the
build report (report.json), `answer_positions` from the benchmark's own items. Part of the Chainlit shell's
rendering (screen.py sends them as `cl.Plotly` elements).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import plotly.graph_objects as go

from tools.contracts import BuildReport, Sample

LETTERS = "ABCDEFGHIJ"
MAX_REASONS = 8  # drop reasons drawn one bar each; the rest share one bar
_LABEL_CHARS = 60


@dataclass(frozen=True)
class Funnel:
    """What became of a build's candidates: each accepted, dropped for a reason, or not needed (quota already met)."""

    candidates: int
    accepted: int
    surplus: int
    reasons: list[tuple[str, int]]  # drop reason -> count, most frequent first

    @property
    def dropped(self) -> int:
        return sum(n for _, n in self.reasons)


def funnel(report: BuildReport) -> Funnel:
    surplus = sum(s.attempted for s in report.stages if s.stage == "surplus")
    reasons = sorted(report.drop_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    dropped = sum(n for _, n in reasons)
    return Funnel(candidates=report.accepted + dropped + surplus, accepted=report.accepted, surplus=surplus,
                  reasons=reasons)


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[:_LABEL_CHARS - 1] + "…"


def build_funnel(report: BuildReport) -> go.Figure:
    """Horizontal bars: the candidates, the accepted, each drop reason (the most frequent MAX_REASONS, then one bar
    for the others) and the candidates not needed; the full reason shows on hover."""
    shape = funnel(report)
    top, rest = shape.reasons[:MAX_REASONS], shape.reasons[MAX_REASONS:]
    rows: list[tuple[str, int, str, str]] = [("candidates", shape.candidates, "#607d8b", "every sample written"),
                                             ("accepted", shape.accepted, "#2e7d32", "in the benchmark")]
    rows += [(_short(f"dropped · {reason}"), n, "#c62828", reason) for reason, n in top]
    if rest:
        rows.append((f"dropped · {len(rest)} other reasons", sum(n for _, n in rest), "#ef9a9a",
                     "; ".join(r for r, _ in rest)[:500]))
    if shape.surplus:
        rows.append(("not needed (quota already met)", shape.surplus, "#b0bec5", "written after its subtask was full"))
    figure = go.Figure(go.Bar(
        y=[r[0] for r in rows], x=[r[1] for r in rows], orientation="h", marker={"color": [r[2] for r in rows]},
        text=[r[1] for r in rows], textposition="auto", customdata=[r[3] for r in rows],
        hovertemplate="%{y}: %{x}<br>%{customdata}<extra></extra>"))
    figure.update_layout(title=f"{shape.candidates} candidates: {shape.accepted} accepted, {shape.dropped} dropped",
                         yaxis={"autorange": "reversed", "automargin": True}, xaxis={"title": "samples"},
                         height=160 + 28 * len(rows), margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return figure


@dataclass(frozen=True)
class Positions:
    """Correct-answer position of the multiple-choice items: count per letter and the count a uniform spread gives."""

    letters: list[str]
    counts: list[int]
    expected: list[float]  # per letter: the items offering that letter, each over its number of options


def positions(samples: list[Sample]) -> Positions | None:
    """None when no item is multiple choice."""
    choice = [s for s in samples if s.choices and s.answer_index is not None]
    if not choice:
        return None
    widest = max(len(s.choices or []) for s in choice)
    counts = Counter(s.answer_index for s in choice)
    expected = [sum(1 / len(s.choices or []) for s in choice if i < len(s.choices or [])) for i in range(widest)]
    return Positions(letters=list(LETTERS[:widest]), counts=[counts[i] for i in range(widest)],
                     expected=[round(e, 3) for e in expected])


def answer_positions(samples: list[Sample]) -> go.Figure | None:
    """Bars: how many correct answers sit at each letter, with the uniform expectation as a dashed line; None when
    the benchmark has no multiple-choice item."""
    shape = positions(samples)
    if shape is None:
        return None
    figure = go.Figure(go.Bar(x=shape.letters, y=shape.counts, name="correct answers", marker={"color": "#4f46e5"},
                              text=shape.counts, textposition="auto"))
    figure.add_trace(go.Scatter(x=shape.letters, y=shape.expected, name="uniform share", mode="lines+markers",
                                line={"dash": "dash", "color": "#f9a825"}))
    figure.update_layout(title=f"Answer positions over {sum(shape.counts)} multiple-choice items",
                         xaxis={"title": "correct option"}, yaxis={"title": "items", "rangemode": "tozero"},
                         height=360, margin={"l": 10, "r": 10, "t": 50, "b": 40},
                         legend={"orientation": "h", "x": 0, "y": -0.3, "yanchor": "top"})
    return figure
