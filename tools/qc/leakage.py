"""Deterministic leakage check: does the question stem give its own answer away?

String matching only, so it is exact and free, and deliberately narrow (no false alarms on a word
problem whose numbers happen to include the answer); the inspector model catches subtler leaks.

- Any format: the stem states the answer ("the answer is 42", "= 42", "answer: Paris").
- Multiple choice with text options: the correct option is named in the stem and no other option is.
- Short text answers: the answer is stated in the stem and not offered as one of several alternatives
  ("Is it Nile or Amazon?" is a question, "The capital is Nairobi. What is the capital?" is a leak).
- In other words (tools/qc/restated.py): an aside (after the question mark, in brackets, between dashes)
  that holds the answer and nothing it could be confused with; a numeric answer spelled out in words in a stem
  that writes its other numbers in digits; accents folded everywhere ("Hà Nội" is "ha noi"); a numeric answer in
  a stem whose solution program never writes it (no operand, so a restatement); a text answer named in another
  spelling ("Ha Noi" for "Hanoi", an initialism in capitals).
Numbers are never flagged for merely appearing in the question itself, since operands often equal the result:
only where the item's own solution program shows that the number is no operand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tools.contracts import Sample
from tools.qc.restated import (
    fold,
    named_in_other_spelling,
    number_value,
    numeric_restatement,
    restated_beside_program,
    text_in_aside,
)

_REVEAL = r"(?:(?:answer|solution|result|correct option|correct choice)\s*(?:is|was|would be|will be|:|=|equals)|=)\s*"
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?$|^[-+]?\d+/\d+$")


def _norm(text: str) -> str:
    text = fold(text)
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s.,/+:=-]", " ", text)).strip(" .,")


# Compiled once: an item's answer is matched by plain search, not by a pattern of its own, which the regex cache
# could not keep (a few new patterns per item, about a third of this check's time went to compiling them).
_REVEALED_BEFORE = re.compile(f"(?:{_REVEAL})\\Z")
_ALTERNATIVE_BEFORE = re.compile(r"(?:\bor\s+(?:the\s+)?|,\s*|/\s*)\Z")
_ALTERNATIVE_AFTER = re.compile(r"\s*,|\s+or\b|\s*/")


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"  # what the regex `\w` matches in a str pattern


def _occurrences(stem: str, answer: str) -> Iterator[tuple[int, int]]:
    r"""Where `answer` stands in `stem` as whole words (numbers not glued to other digits): what the pattern
    `(?<![\w.])ANSWER(?![\w]|\.\d)` would match, start and end of each."""
    needle = _norm(answer)
    if not needle:
        return
    start = stem.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = stem[start - 1] if start else ""
        after, beyond = stem[end:end + 1], stem[end + 1:end + 2]
        if not (before and (_word(before) or before == ".")) and not (
                after and (_word(after) or (after == "." and beyond.isdecimal()))):
            yield start, end
        start = stem.find(needle, start + 1)


def _stated(stem: str, answer: str) -> bool:
    return any(_REVEALED_BEFORE.search(stem, 0, start) for start, _ in _occurrences(stem, answer))


def _mentioned(stem: str, answer: str) -> bool:
    return next(_occurrences(stem, answer), None) is not None


def _offered_as_alternative(stem: str, answer: str) -> bool:
    return any(_ALTERNATIVE_BEFORE.search(stem, 0, start) or _ALTERNATIVE_AFTER.match(stem, end)
               for start, end in _occurrences(stem, answer))


def find_leak(sample: Sample) -> str | None:
    """Why the question gives its answer away, or None. Only the stem is checked: a context may hold the answer."""
    if sample.metadata.get("kind") == "code" or sample.answer_format == "yes_no":
        return None
    stem, answer = _norm(sample.question), _norm(sample.answer)
    if not answer:
        return None
    if _stated(stem, answer):
        return f"the question states the answer ({sample.answer[:60]!r})"
    others = [_norm(c) for c in sample.choices or [] if _norm(c) != answer]
    if (value := number_value(answer)) is not None:
        values = [v for c in others if (v := number_value(c)) is not None]
        code = sample.metadata.get("solution_code")
        return numeric_restatement(fold(sample.question), value, values) or (
            restated_beside_program(sample.question, value, str(code)) if code else None)
    if _NUMBER.match(answer) or len(answer) < 3:
        return None
    if sample.answer_format == "multiple_choice":
        named = [c for c in others if len(c) >= 3]
        if _mentioned(stem, answer) and not any(_mentioned(stem, c) for c in named):
            return f"the question names the correct option ({sample.answer[:60]!r}) and no other"
        spelled = named_in_other_spelling(sample.question, sample.answer)
        if spelled and not any(named_in_other_spelling(sample.question, c) or _mentioned(stem, _norm(c))
                               for c in sample.choices or [] if _norm(c) != answer and len(_norm(c)) >= 3):
            return spelled
        return text_in_aside(fold(sample.question), answer, named)
    if _mentioned(stem, answer) and not _offered_as_alternative(stem, answer):
        return f"the question contains the answer ({sample.answer[:60]!r})"
    return text_in_aside(fold(sample.question), answer, []) or named_in_other_spelling(sample.question, sample.answer)
