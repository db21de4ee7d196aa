"""Which of a subtask's material units each batch is written from, and how the build used the material.

A batch takes units from its subtask's selection, unused ones first. A record is used at most once: once an item
written from it is accepted it is consumed; one whose candidate was dropped may be tried again, up to the attempts
allowed per item. Document chunks and images are reused only when every one of the subtask's has been used. Images
go in batches of their own (they are sent to the 'vision' role); chunks and records may share a batch. The units of
a batch are recorded in its progress entry, so a resumed build redoes it from the same units.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tools.contracts import MaterialUsage, Sample, Subtask, SubtaskPlan
from tools.stages.ground import chunk_kind

if TYPE_CHECKING:
    from tools.sources import MaterialView

UNUSED_RECORDS_LISTED = 200


@dataclass
class UnitUse:
    """Units taken by planned batches (`tries`), by batches not yet decided (`pending`), by accepted items."""

    tries: Counter[str] = field(default_factory=Counter)
    pending: set[str] = field(default_factory=set)
    accepted: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, batches: Iterable[dict[str, object]], done: Iterable[str], accepted: Iterable[str]) -> UnitUse:
        """From the planned batches, the labels of the decided ones and the units of the accepted samples."""
        decided = set(done)
        use = cls()
        for batch in batches:
            units = [u for group in batch.get("units") or [] for u in group]  # type: ignore[attr-defined]
            use.tries.update(units)
            if batch["label"] not in decided:
                use.pending.update(units)
        use.accepted = set(accepted)
        return use


def sample_units(sample: Sample) -> list[str]:
    return [str(u) for u in sample.metadata.get("units") or []]


def pick_units(subtask: Subtask, count: int, use: UnitUse, attempts: int) -> list[list[str]]:
    """Up to `count` items' units (one unit each; two chunks each for a multi-hop subtask) for the next batch."""
    selection = subtask.material
    if selection is None or not selection.units or count <= 0:
        return []
    units = selection.units

    def record_open(unit: str) -> bool:
        return unit not in use.accepted and unit not in use.pending and use.tries[unit] < attempts

    def fresh(unit: str) -> bool:
        return use.tries[unit] == 0 and unit not in use.pending

    first = next((u for u in units if (record_open(u) if chunk_kind(u) == "records" else fresh(u))), None)
    if first is None:
        first = next((u for u in units if chunk_kind(u) != "records"), None)
    if first is None:
        return []  # records only, and every one is consumed, in flight or out of attempts
    kinds = {"image"} if chunk_kind(first) == "image" else {"document", "records"}
    pool = [u for u in units if chunk_kind(u) in kinds]
    primary = [u for u in pool if ((record_open(u) and use.tries[u] == 0) if chunk_kind(u) == "records" else fresh(u))]
    retries = [u for u in pool if chunk_kind(u) == "records" and record_open(u) and use.tries[u] > 0]
    reusable = sorted((u for u in pool if chunk_kind(u) != "records" and not fresh(u)),
                      key=lambda u: (u in use.pending, use.tries[u], pool.index(u)))
    return _items([*primary, *retries, *reusable], count, multi_hop=selection.multi_hop)


def _items(stream: list[str], count: int, *, multi_hop: bool) -> list[list[str]]:
    items: list[list[str]] = []
    waiting: str | None = None  # a multi-hop item's first chunk
    taken: set[str] = set()
    for unit in stream:
        if len(items) >= count:
            break
        if unit in taken:
            continue
        taken.add(unit)
        if not multi_hop or chunk_kind(unit) != "document":
            items.append([unit])
        elif waiting is None:
            waiting = unit
        else:
            items.append([waiting, unit])
            waiting = None
    if waiting is not None and len(items) < count:
        items.append([waiting])  # a subtask with a single chunk cannot combine two
    return items


def material_usage(plan: SubtaskPlan, view: MaterialView, accepted: list[Sample], evidence_dropped: int) -> MaterialUsage:
    """How a build used the material: totals and what accepted items rest on, and the closed-book counts."""
    selected = {u for s in plan.subtasks for u in (s.material.units if s.material else [])}
    sources = [s.name for s in view.material.sources if any(u.rsplit(":", 1)[0] == s.id for u in selected)]
    used = {u for s in accepted for u in sample_units(s)}
    chunks, records, images = view.units("document"), view.units("records"), view.units("image")
    qc = [s.metadata.get("qc") or {} for s in accepted]
    text_flags = [q["answerable_without_source"] for q in qc if isinstance(q.get("answerable_without_source"), bool)]
    blind_flags = [q["answerable_blind"] for q in qc if isinstance(q.get("answerable_blind"), bool)]
    return MaterialUsage(
        sources=sources, chunks_total=len(chunks), chunks_used=sum(u in used for u in chunks),
        records_total=len(records), records_used=sum(u in used for u in records),
        unused_records=[u for u in records if u not in used][:UNUSED_RECORDS_LISTED],
        images_total=len(images), images_used=sum(u in used for u in images), evidence_dropped=evidence_dropped,
        closed_book_checked=len(text_flags), answerable_without_source=sum(text_flags),
        blind_checked=len(blind_flags), answerable_blind=sum(blind_flags),
    )
