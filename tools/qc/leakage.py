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


def _phrase(answer: str) -> str:
    """A regex matching `answer` as whole words (numbers not glued to other digits)."""
    return r"(?<![\w.])" + re.escape(_norm(answer)) + r"(?![\w]|\.\d)"


def _stated(stem: str, answer: str) -> bool:
    return re.search(_REVEAL + _phrase(answer), stem) is not None


def _mentioned(stem: str, answer: str) -> bool:
    return re.search(_phrase(answer), stem) is not None


def _offered_as_alternative(stem: str, answer: str) -> bool:
    pattern = _phrase(answer)
    return re.search(rf"(?:\bor\s+(?:the\s+)?|,\s*|/\s*){pattern}|{pattern}(?:\s*,|\s+or\b|\s*/)", stem) is not None


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
