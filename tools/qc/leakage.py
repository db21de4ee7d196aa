"""Deterministic leakage check: does the question stem give its own answer away?

String matching only, so it is exact and free, and deliberately narrow (no false alarms on a word
problem whose numbers happen to include the answer); the inspector model catches subtler leaks.

- Any format: the stem states the answer ("the answer is 42", "= 42", "answer: Paris").
- Multiple choice with text options: the correct option is named in the stem and no other option is.
- Short text answers: the answer is stated in the stem and not offered as one of several alternatives
  ("Is it Nile or Amazon?" is a question, "The capital is Nairobi. What is the capital?" is a leak).
Numbers are never flagged for merely appearing: operands often equal the result.
"""

from __future__ import annotations

import re

from tools.contracts import Sample

_REVEAL = r"(?:(?:answer|solution|result|correct option|correct choice)\s*(?:is|was|would be|will be|:|=|equals)|=)\s*"
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?$|^[-+]?\d+/\d+$")


def _norm(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text.casefold())
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
    if _NUMBER.match(answer) or len(answer) < 3:
        return None
    if sample.answer_format == "multiple_choice":
        others = [c for c in sample.choices or [] if _norm(c) != answer and len(_norm(c)) >= 3]
        if _mentioned(stem, answer) and not any(_mentioned(stem, _norm(c)) for c in others):
            return f"the question names the correct option ({sample.answer[:60]!r}) and no other"
        return None
    if _mentioned(stem, answer) and not _offered_as_alternative(stem, answer):
        return f"the question contains the answer ({sample.answer[:60]!r})"
    return None
