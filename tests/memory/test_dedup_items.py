"""A stored sample met again as a neighbour is the same item, its text features worked out once."""

from __future__ import annotations

from typing import Any

import pytest

from memory import dedup_items
from memory.dedup_items import DedupItem
from memory.embeddings import _LRU
from memory.store import Match


def _match(sample_id: str, **meta: Any) -> Match:
    fields = {"question": "How many legs has a spider?", "answer": "8", **meta}
    return Match(id=sample_id, similarity=0.9, build_id="b1", text=fields["question"], metadata=fields)


def test_a_stored_sample_met_again_is_the_same_item_with_its_features() -> None:
    first = DedupItem.from_match(_match("s1"))
    assert first is not None
    features = first.features
    again = DedupItem.from_match(_match("s1"))
    assert again is first and again.features is features


def test_a_changed_field_or_id_is_another_item() -> None:
    base = DedupItem.from_match(_match("s2"))
    assert DedupItem.from_match(_match("s2", answer="eight")) is not base
    assert DedupItem.from_match(_match("s3")) is not base
    with_choices = DedupItem.from_match(_match("s2", choices='["6", "8"]'))
    assert with_choices is not None and with_choices.choices == ("6", "8") and with_choices is not base


def test_the_items_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup_items, "_stored", _LRU(10))
    for n in range(50):
        DedupItem.from_match(_match(f"bound-{n}"))
    assert len(dedup_items._stored) == 10
    assert DedupItem.from_match(Match(id="x", similarity=0.9, build_id=None, text="t", metadata={})) is None
