"""What a process has loaded is frozen out of the garbage collector's full passes; what comes after is collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from assistant.deps import settle_heap


@pytest.fixture(autouse=True)
def _unfrozen_after() -> Iterator[None]:
    yield
    gc.unfreeze()


class _Node:
    pass


def test_settling_the_heap_freezes_what_is_loaded_and_still_collects_cycles_made_afterwards() -> None:
    loaded = _Node()
    loaded.me = loaded  # type: ignore[attr-defined]
    settle_heap()
    assert gc.get_freeze_count() > 0
    later = _Node()
    later.me = later  # type: ignore[attr-defined]
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
    kept = weakref.ref(loaded)
    del loaded
    gc.collect()
    assert kept() is not None  # frozen: a full pass does not walk it
