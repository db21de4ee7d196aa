"""Answer positions across a multiple-choice benchmark: balanced deterministically, and reported.

Each sample's options are already shuffled with a stable seed (`tools.checks.stable_shuffle`), which
spreads answers but does not balance them. `balance_positions` then moves each correct option, in a
fixed order of samples, to the least-used position so far (one swap with the option there), so
every position is used equally often, within one, among samples with the same number of options.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

from tools.contracts import Sample


def position_distribution(samples: list[Sample]) -> dict[str, int]:
    """Correct-answer letter -> count, over the multiple-choice samples."""
    counts = Counter(s.answer_letter for s in samples if s.answer_letter)
    return {letter: counts[letter] for letter in sorted(counts)}


def positions_balanced(samples: list[Sample]) -> bool | None:
    """Whether, for each number of options, every position is used equally often within 1 (None: no MC sample)."""
    groups: dict[int, Counter[int]] = defaultdict(Counter)
    for sample in samples:
        if sample.choices and sample.answer_index is not None:
            groups[len(sample.choices)][sample.answer_index] += 1
    if not groups:
        return None
    return all(max(c[i] for i in range(k)) - min(c[i] for i in range(k)) <= 1 for k, c in groups.items())


def _order_key(sample: Sample) -> str:
    return hashlib.sha256(sample.id.encode()).hexdigest()


def balance_positions(samples: list[Sample]) -> list[Sample]:
    """The same samples, in the same order, with correct options moved so that positions are balanced."""
    used: dict[int, Counter[int]] = defaultdict(Counter)
    moved: dict[str, Sample] = {}
    for sample in sorted((s for s in samples if s.choices and s.answer_index is not None), key=_order_key):
        assert sample.choices is not None and sample.answer_index is not None
        k = len(sample.choices)
        counts = used[k]
        target = min(range(k), key=lambda i: (counts[i], i != sample.answer_index, i))
        counts[target] += 1
        if target == sample.answer_index:
            continue
        choices = list(sample.choices)
        choices[target], choices[sample.answer_index] = choices[sample.answer_index], choices[target]
        moved[sample.id] = sample.model_copy(update={"choices": choices, "answer_index": target})
    return [moved.get(s.id, s) for s in samples]
