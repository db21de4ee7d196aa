"""Which of the user's material each subtask's items are written from, and the user's steering of it.

`assign_material` gives every subtask a `MaterialSelection`: document chunks by relevance to the subtask and by
coverage (each chunk to the subtask it fits best, capacities proportional to the quotas, so the whole document
is covered before any chunk is used twice), data records and images distributed in file order. `coverage_lines`
says, for the plan card, what feeds each subtask and what is left unused; `select_material` applies "use only
chapter 3" / "skip data.csv" deterministically. No model is called here.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from tools.contracts import MaterialSelection, Subtask, SubtaskPlan
from tools.errors import InvalidRequest

if TYPE_CHECKING:
    from memory.material import MaterialIndex
    from tools.sources import MaterialView

# Units a subtask is given per item of its quota, at most: one for the item, the rest to replace dropped ones.
UNITS_PER_ITEM = 3
_MULTI_HOP = re.compile(r"multi[- ]?hop|across (?:two|several|multiple|different) (?:passages|sections|pages|chunks)"
                        r"|combin\w* (?:two|several|multiple) (?:passages|sections|pages|facts)", re.IGNORECASE)
_STOPWORDS = ("the and for with that this from are was were which what when where who how its their them they "
                  "into onto about over under than then each every any all some one two can may must not has have "
                  "had been being item items question questions answer answers test tests subtask")
_STOP = frozenset(_STOPWORDS.split())


def chunk_kind(unit: str) -> Literal["document", "records", "image"]:
    """The kind of a unit, from its id (`<source>:c<n>`, `<source>:r<n>`, `<source>:img`)."""
    tail = unit.rsplit(":", 1)[-1]
    if tail == "img":
        return "image"
    return "records" if tail.startswith("r") else "document"


def is_multi_hop(subtask: Subtask) -> bool:
    """Multi-hop subtasks (each item combines two passages): kept from the plan, or said in the subtask's words."""
    if subtask.material is not None and subtask.material.multi_hop:
        return True
    return bool(_MULTI_HOP.search(f"{subtask.name} {subtask.description}"))


def units_needed(subtask: Subtask, kind: str) -> int:
    """Units of `kind` one pass over the subtask's quota uses: two chunks per item when multi-hop."""
    return subtask.quota * (2 if kind == "document" and is_multi_hop(subtask) else 1)


# -- assignment ---------------------------------------------------------------------------------------


def assign_material(plan: SubtaskPlan, view: MaterialView, index: MaterialIndex | None = None, *,
                    units: Sequence[str] | None = None) -> SubtaskPlan:
    """`plan` with a `MaterialSelection` on every subtask, drawn from `units` (default: all of the material)."""
    pool = list(units) if units is not None else view.units()
    chunks = [u for u in pool if chunk_kind(u) == "document"]
    records = [u for u in pool if chunk_kind(u) == "records"]
    images = [u for u in pool if chunk_kind(u) == "image"]
    subtasks = plan.subtasks
    by_chunks = _assign_chunks(subtasks, chunks, _relevance(subtasks, chunks, view, index))
    by_records = _distribute(subtasks, records)
    by_images = _distribute(subtasks, images)
    updated = [
        s.model_copy(update={"material": MaterialSelection(
            units=_interleave(by_chunks[i], by_records[i], by_images[i]), multi_hop=is_multi_hop(s))})
        for i, s in enumerate(subtasks)
    ]
    return plan.model_copy(update={"subtasks": updated})


def _shares(weights: list[int], total: int, *, at_least_one: bool) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder); each at least one when there are enough."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    floor_one = at_least_one and total >= len(weights)
    base = [1 if floor_one else 0] * len(weights)
    rest = total - sum(base)
    raw = [rest * w / sum(weights) for w in weights]
    shares = [b + math.floor(r) for b, r in zip(base, raw, strict=True)]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - math.floor(raw[i])), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _relevance(subtasks: list[Subtask], chunks: list[str], view: MaterialView,
               index: MaterialIndex | None) -> list[dict[str, float]]:
    """Per subtask, each chunk's relevance to its name and description (the index's ranking, else tf-idf)."""
    if not chunks:
        return [{} for _ in subtasks]
    if index is not None:
        ranked = [dict(index.rank(f"{s.name}. {s.description}", k=len(chunks), ids=chunks)) for s in subtasks]
        return [{c: float(r.get(c, 0.0)) for c in chunks} for r in ranked]
    terms = {c: Counter(_words(view.text(c))) for c in chunks}
    df = Counter(w for counts in terms.values() for w in counts)
    scores: list[dict[str, float]] = []
    for subtask in subtasks:
        query = set(_words(f"{subtask.name} {subtask.description}"))
        scores.append({c: sum(math.log1p(terms[c][w]) * math.log(1 + len(chunks) / df[w]) for w in query if w in df)
                       for c in chunks})
    return scores


def _words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", text.casefold()) if len(w) > 2 and w not in _STOP]


def _stem(word: str) -> str:
    """A light suffix strip, so 'decimals' meets 'decimal' and 'rounding' meets 'round' (English only)."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: len(word) - len(suffix)] + keep
    return word


def _assign_chunks(subtasks: list[Subtask], chunks: list[str], scores: list[dict[str, float]]) -> list[list[str]]:
    """Each chunk to the subtask it fits best, within capacities proportional to the quotas; a subtask left
    without any (fewer chunks than subtasks) shares the chunk it fits best."""
    capacity = _shares([s.quota for s in subtasks], len(chunks), at_least_one=True)
    place = {c: n for n, c in enumerate(chunks)}
    pairs = sorted(((scores[i][c], i, c) for i in range(len(subtasks)) for c in chunks),
                   key=lambda p: (-p[0], place[p[2]], p[1]))
    taken: set[str] = set()
    given: list[list[tuple[float, str]]] = [[] for _ in subtasks]
    for score, i, chunk in pairs:
        if chunk not in taken and len(given[i]) < capacity[i]:
            taken.add(chunk)
            given[i].append((score, chunk))
    for i, share in enumerate(given):
        if not share and chunks:
            best = max(chunks, key=lambda c: (scores[i][c], -place[c]))
            share.append((scores[i][best], best))
    # Best fitting first (they are used first); equal fits in document order.
    return [[c for _, c in sorted(share, key=lambda p: (-p[0], place[p[1]]))] for share in given]


def _distribute(subtasks: list[Subtask], units: list[str]) -> list[list[str]]:
    """Records or images in file order, in consecutive runs proportional to the quotas, each subtask getting at
    most what it can use (its quota, plus replacements for dropped items)."""
    shares = _shares([s.quota for s in subtasks], len(units), at_least_one=True)
    runs: list[list[str]] = []
    start = 0
    for subtask, share in zip(subtasks, shares, strict=True):
        runs.append(units[start:start + min(share, subtask.quota * UNITS_PER_ITEM)])
        start += share
    if units:
        for i, run in enumerate(runs):  # fewer units than subtasks: a subtask without one shares the first
            if not run:
                runs[i] = [units[i % len(units)]]
    return runs


def _interleave(*lists: list[str]) -> list[str]:
    """The units of each kind in turn, so a subtask with several kinds of material mixes them from the start."""
    merged: list[str] = []
    longest = max((len(x) for x in lists), default=0)
    for n in range(longest):
        merged += [x[n] for x in lists if n < len(x)]
    return merged


# -- coverage, for the plan card --------------------------------------------------------------------


def coverage_lines(plan: SubtaskPlan, view: MaterialView) -> list[str]:
    """Per subtask, the pages/sections/rows/images its items are planned from; then what no item is planned from.

    A subtask given more units than one pass over its quota uses keeps the rest for replacing dropped items;
    those count as unused here."""
    lines: list[str] = []
    planned: set[str] = set()
    for subtask in plan.subtasks:
        units = _planned_units(subtask)
        planned.update(units)
        lines.append(f"{subtask.name}: {describe_units(units, view) or 'no material'}")
    unused = [u for u in view.units() if u not in planned]
    lines.append(f"Unused: {describe_units(unused, view)}" if unused else "Unused: none (every passage, record and "
                 "image is planned for an item)")
    return lines


def _planned_units(subtask: Subtask) -> list[str]:
    selection = subtask.material.units if subtask.material else []
    left = {kind: units_needed(subtask, kind) for kind in ("document", "records", "image")}
    chosen: list[str] = []
    for unit in selection:
        kind = chunk_kind(unit)
        if left[kind] > 0:
            left[kind] -= 1
            chosen.append(unit)
    return chosen


def describe_units(units: Iterable[str], view: MaterialView) -> str:
    """Units in a few words: 'report.pdf pages 3-7, 12-14 (9 passages); data.csv rows 1-25; chart.png'."""
    by_source: dict[str, list[str]] = {}
    for unit in dict.fromkeys(units):
        by_source.setdefault(unit.rsplit(":", 1)[0], []).append(unit)
    parts: list[str] = []
    for source_id, group in sorted(by_source.items(), key=lambda kv: _source_order(view, kv[0])):
        name = _source_name(view, source_id)
        kind = chunk_kind(group[0])
        if kind == "image":
            parts.append(name)
        elif kind == "records":
            rows = sorted(_row(u) for u in group)
            parts.append(f"{name} {'row' if len(rows) == 1 else 'rows'} {_ranges(rows)}")
        else:
            parts.append(f"{name} {_where(group, view)} ({len(group)} passage{'s' * (len(group) != 1)})")
    return "; ".join(parts)


def _source_order(view: MaterialView, source_id: str) -> int:
    ids = [s.id for s in view.material.sources]
    return ids.index(source_id) if source_id in ids else len(ids)


def _source_name(view: MaterialView, source_id: str) -> str:
    try:
        return view.material.source(source_id).name
    except KeyError:
        return source_id


def _row(unit: str) -> int:
    return int(unit.rsplit(":r", 1)[-1])


_PAGE = re.compile(r"^pages? (\d+)(?:-(\d+))?$")


def _where(chunks: list[str], view: MaterialView) -> str:
    """Where chunks lie: page ranges, or section names (a few, then how many more)."""
    pages: set[int] = set()
    others: list[str] = []
    for chunk in chunks:
        anchor = view.anchor(chunk)
        match = _PAGE.match(anchor)
        if match:
            first = int(match.group(1))
            pages.update(range(first, int(match.group(2) or first) + 1))
        elif anchor not in others:
            others.append(anchor)
    said: list[str] = []
    if pages:
        said.append(f"{'page' if len(pages) == 1 else 'pages'} {_ranges(sorted(pages))}")
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        said.append(shown)
    return "; ".join(said)


def _ranges(numbers: list[int]) -> str:
    spans: list[tuple[int, int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        elif not spans or n != spans[-1][1]:
            spans.append((n, n))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


# -- steering ---------------------------------------------------------------------------------------

_RANGE = r"(\d+)(?:\s*(?:-|–|to|through)\s*(\d+))?"
_PAGES_TARGET = re.compile(rf"^(?:pages?|pp?\.?)\s*{_RANGE}$")
_ROWS_TARGET = re.compile(rf"^(?:rows?|records?|lines?)\s*{_RANGE}$")
_NUMBERED = re.compile(r"^(?:chapter|section|part|appendix)\s+([0-9]+|[a-z])$")
_SCOPE = re.compile(r"^(.+?)\s+(?:of|in|from)\s+(\S+\.[a-z0-9]{2,5})$")


def select_material(plan: SubtaskPlan, view: MaterialView, action: Literal["only", "skip"], target: str,
                    subtask: str | None = None) -> tuple[SubtaskPlan, list[str]]:
    """Use only, or skip, the material `target` names: a file name, pages ('pages 2-5'), rows ('rows 1-100'), or a
    section heading ('chapter 3', 'the appendix'). Applied to one subtask (its id or name) or the whole plan,
    which is then given the remaining material afresh. Returns the new plan and what changed, in words."""
    matched = match_units(view, target)
    if subtask is None:
        current = [u for s in plan.subtasks for u in (s.material.units if s.material else [])] or view.units()
        remaining = matched if action == "only" else [u for u in dict.fromkeys(current) if u not in set(matched)]
        if not remaining:
            raise InvalidRequest(f"Skipping {target!r} would leave no material at all; the plan is unchanged.")
        new_plan = assign_material(plan, view, units=[u for u in view.units() if u in set(remaining)])
        scope = "the benchmark"
    else:
        chosen = _find_subtask(plan, subtask)
        own = chosen.material.units if chosen.material else []
        keep = ([u for u in own if u in set(matched)] or matched) if action == "only" else \
            [u for u in own if u not in set(matched)]
        if not keep:
            raise InvalidRequest(f"Skipping {target!r} would leave {chosen.name} no material; the plan is unchanged.")
        selection = MaterialSelection(units=keep, multi_hop=is_multi_hop(chosen))
        new_plan = plan.model_copy(update={"subtasks": [s.model_copy(update={"material": selection}) if s.id == chosen.id
                                                        else s for s in plan.subtasks]})
        scope = chosen.name
    verb = "Using only" if action == "only" else "Skipping"
    return new_plan, [f"{verb} {describe_units(matched, view)} for {scope}.", *coverage_lines(new_plan, view)]


def _find_subtask(plan: SubtaskPlan, ref: str) -> Subtask:
    key = ref.strip().casefold()
    for n, s in enumerate(plan.subtasks, start=1):
        if key in (s.id, s.name.casefold(), str(n)):
            return s
    names = ", ".join(s.name for s in plan.subtasks)
    raise InvalidRequest(f"No subtask {ref!r} in the plan; its subtasks are {names}.")


def match_units(view: MaterialView, target: str) -> list[str]:
    """The units `target` names, in material order; `InvalidRequest` naming it and what the material has if none."""
    text = " ".join(target.strip().casefold().split())
    text = re.sub(r"^(?:the|use|only|skip)\s+", "", text)
    units = view.units()
    scope = _SCOPE.match(text)
    if scope and _sources_named(view, scope.group(2)):
        wanted = set(_sources_named(view, scope.group(2)))
        text, units = scope.group(1), [u for u in units if u.rsplit(":", 1)[0] in wanted]
    found = _match(view, text, units)
    if not found:
        raise InvalidRequest(f"{target!r} matches nothing in the material. It has: {'; '.join(_inventory(view))}.")
    return found


def _match(view: MaterialView, text: str, units: list[str]) -> list[str]:
    sources = set(_sources_named(view, text))
    if sources:
        return [u for u in units if u.rsplit(":", 1)[0] in sources]
    if match := _PAGES_TARGET.match(text):
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        return [u for u in units if chunk_kind(u) == "document" and _pages_overlap(view.anchor(u), first, last)]
    if match := _ROWS_TARGET.match(text):
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        return [u for u in units if chunk_kind(u) == "records" and first <= _row(u) <= last]
    return [u for u in units if chunk_kind(u) == "document" and _heading_matches(view.anchor(u), text, view.text(u))]


def _sources_named(view: MaterialView, text: str) -> list[str]:
    key = text.strip().strip("'\"").casefold()
    return [s.id for s in view.material.sources if key and key in (s.name.casefold(), s.name.casefold().rsplit(".", 1)[0])]


def _pages_overlap(anchor: str, first: int, last: int) -> bool:
    match = _PAGE.match(anchor)
    if not match:
        return False
    start = int(match.group(1))
    return start <= last and int(match.group(2) or start) >= first


def _heading_matches(anchor: str, text: str, body: str = "") -> bool:
    """'chapter 3' matches a heading starting with 'Chapter 3', '3 ' or '3.'; other text a heading starting with it.
    A chunk's headings are those its anchor names ('section X', 'sections X to Y') and any short line of its text
    that starts like one."""
    low = anchor.casefold()
    if not text or not low.startswith("section"):
        return False
    named = low.removeprefix("sections ").split(" to ") if low.startswith("sections ") else [low.removeprefix("section ")]
    lines = [line.strip().lstrip("#").strip().casefold() for line in body.splitlines() if 0 < len(line.strip()) <= 80]
    numbered = _NUMBERED.match(text)
    if any(re.match(rf"{re.escape(text)}(?![a-z0-9])", heading) for heading in [h.strip() for h in named] + lines):
        return True
    # A bare number ('3 Results', '3.1 Methods') counts only in a heading the anchor names, not in any line of text.
    return bool(numbered and any(re.match(rf"{re.escape(numbered.group(1))}(?:[ .:)]|$)", h.strip()) for h in named))


def _inventory(view: MaterialView) -> list[str]:
    """A few words per source: its pages or first sections, its rows, or that it is an image."""
    said: list[str] = []
    for source in view.material.sources:
        units = [u for u in view.units() if u.rsplit(":", 1)[0] == source.id]
        if source.kind == "records":
            said.append(f"{source.name} ({source.records or len(units)} rows)")
        elif source.kind == "image":
            said.append(f"{source.name} (an image)")
        else:
            anchors = list(dict.fromkeys(view.anchor(u) for u in units))
            sections = [a.removeprefix("section ") for a in anchors if a.startswith("section ")]
            if sections:
                more = f" and {len(sections) - 4} more" if len(sections) > 4 else ""
                said.append(f"{source.name} (sections {', '.join(sections[:4])}{more})")
            else:
                said.append(f"{source.name} ({source.pages or len(anchors)} pages)")
    return said or ["no files"]
