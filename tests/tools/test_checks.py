from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tools.contracts import SampleDraft, Subtask
from tools.qc.schema import CheckFailed, make_provenance, stable_shuffle, to_sample

PROV = make_provenance("b1", "gen", "judge", 1, datetime(2026, 1, 1, tzinfo=UTC))


def _subtask(fmt: str) -> Subtask:
    return Subtask(id="sub", name="Sub", description="d", answer_format=fmt, quota=5)  # type: ignore[arg-type]


def test_multiple_choice_has_exactly_one_correct_option_after_a_stable_shuffle() -> None:
    draft = SampleDraft(question="What is 6 times 7?", choices=["42", "36", "48", "49"], answer="42")
    first = to_sample(draft, _subtask("multiple_choice"), PROV)
    again = to_sample(draft, _subtask("multiple_choice"), PROV)
    assert first.choices == again.choices and first.id == again.id
    assert first.choices is not None and first.answer_index is not None
    assert first.choices[first.answer_index] == "42"
    assert sorted(first.choices) == sorted(["42", "36", "48", "49"])


@pytest.mark.parametrize(
    ("fmt", "draft", "reason"),
    [
        ("multiple_choice", SampleDraft(question="What is 6 times 7?", choices=["42", "42 ", "48", "49"], answer="42"), "duplicate options"),
        ("multiple_choice", SampleDraft(question="What is 6 times 7?", choices=["41", "36", "48", "49"], answer="42"), "not one of the options"),
        ("multiple_choice", SampleDraft(question="What is 6 times 7?", choices=["42", "36"], answer="42"), "needs 3-6 options"),
        ("multiple_choice", SampleDraft(question="What is 6 times 7?", answer="42"), "needs 3-6 options"),
        ("numeric", SampleDraft(question="What is 6 times 7?", answer="forty-two"), "not a number"),
        ("numeric", SampleDraft(question="What is 6 times 7?", choices=["42", "1", "2"], answer="42"), "choices given"),
        ("yes_no", SampleDraft(question="Is 42 even, really?", answer="maybe"), "neither"),
        ("short_answer", SampleDraft(question="Why?", answer="x"), "too short"),
    ],
)
def test_malformed_drafts_are_dropped_with_their_reason(fmt: str, draft: SampleDraft, reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        to_sample(draft, _subtask(fmt), PROV)


def test_numeric_and_yes_no_answers_are_normalised() -> None:
    assert to_sample(SampleDraft(question="How many grams in 1.5 kg?", answer="1,500"), _subtask("numeric"), PROV).answer == "1500"
    assert to_sample(SampleDraft(question="Is 9 a square number?", answer="yes."), _subtask("yes_no"), PROV).answer == "Yes"


def test_stable_shuffle_spreads_the_answer_over_positions() -> None:
    positions = Counter(stable_shuffle(["a", "b", "c", "d"], seed=f"question {i}").index("a") for i in range(400))
    assert set(positions) == {0, 1, 2, 3}
    assert min(positions.values()) > 60
