"""The cheap second look at a candidate pair: numbers, answers and passages compared as text.

The embedding finds candidates; these checks veto the ones that only look alike: the same wording
with another answer, a word problem with one number changed, a different question on the same
passage, or the same generic question on another passage.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

AnswerMatch = Literal["same", "different", "unsure"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
}
# Words that do not change what an answer says ("in the 1940s" is "the 1940s"; "about 95" is "95").
_ARTICLES = {"a", "an", "the"}
_FILLER = {"in", "of", "on", "at", "to", "by", "for", "and", "about", "approximately", "around",
           "roughly", "nearly", "just", "over", "under", "it", "is", "was"}
_NEGATIONS = {"not", "never", "except", "cannot", "false", "incorrect", "untrue", "nor"}
_NUMBER_SUFFIXES = {"s", "st", "nd", "rd", "th"}  # "1940s", "13th"
# A letter-led token with digits in it ("co2", "b12", "cm2") is a word; digits alone are a number.
_WORD = re.compile(r"[a-z]+\d[a-z\d]*|[a-z]+|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"^\d+(?:,\d{3})*(?:\.\d+)?$|^\d+(?:\.\d+)?$")


def fold(text: str) -> str:
    """Lowercase, accents removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def tokens(text: str) -> list[str]:
    return _WORD.findall(fold(text).replace("-", " "))


def _value(token: str, ordinals: bool) -> float | None:
    if _NUMBER.match(token):
        return float(token.replace(",", ""))
    if not ordinals and token == "one":
        return None  # in a question "one" is mostly a pronoun ("which one of these")
    value = _UNITS.get(token, _TENS.get(token, _ORDINALS.get(token) if ordinals else None))
    return None if value is None else float(value)


def words_and_numbers(text: str, *, ordinals: bool = False) -> tuple[list[str], list[float]]:
    """The words of `text` and, separately, its numbers: digits, and number words read as numbers
    ("twenty-five" is 25, "3 hundred" is 300; with `ordinals`, "thirteenth" and "13th" are 13)."""
    words: list[str] = []
    numbers: list[float] = []
    pending: float | None = None  # the number being read, which a following word may extend
    for token in tokens(text):
        value = _value(token, ordinals)
        if pending is not None and token in _SCALES:
            pending *= _SCALES[token]
        elif pending is not None and value is not None and value < 10 and token in _UNITS and pending >= 20 and pending % 10 == 0:
            pending += value  # "twenty five", "three hundred five"
        elif value is not None:
            if pending is not None:
                numbers.append(pending)
            pending = value
        elif not (pending is not None and token in _NUMBER_SUFFIXES):
            if pending is not None:
                numbers.append(pending)
                pending = None
            words.append(token)
    if pending is not None:
        numbers.append(pending)
    return words, numbers


def _split_suffix(text: str) -> str:
    # "13th" -> "13 th", "100°C" -> "100 °C", "$20" -> "$ 20": numbers stand alone for the tokenizer.
    return re.sub(r"(\d)([a-zA-Z°%])", r"\1 \2", text)


def numbers_in(text: str, *, ordinals: bool = False) -> Counter[float]:
    return Counter(words_and_numbers(_split_suffix(text), ordinals=ordinals)[1])


def _same_word(a: str, b: str) -> bool:
    """Equal, or the same stem: a shared prefix of 6+ letters covering most of the shorter word
    ("mitochondrion"/"mitochondria", "gravity"/"gravitational"; not "Austria"/"Australia")."""
    if a == b:
        return True
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    return prefix >= 6 and prefix >= 0.75 * min(len(a), len(b))


def _covered(small: AbstractSet[str], large: AbstractSet[str]) -> bool:
    return all(any(_same_word(w, v) for v in large) for w in small)


@dataclass(frozen=True)
class Answer:
    """An answer read for comparison: its numbers, and its other words (fillers and a leading article dropped)."""

    numbers: tuple[float, ...]
    content: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Answer:
        words, numbers = words_and_numbers(_split_suffix(text), ordinals=True)
        # A leading article goes ("The Nile"); a trailing letter stays ("Vitamin A").
        start = 1 if words and words[0] in _ARTICLES else 0
        return cls(tuple(sorted(numbers)), frozenset(w for w in words[start:] if w not in _FILLER))

    @property
    def key(self) -> str:
        """Equal for answers that are certainly the same: the numbers when there are any, else the words."""
        if self.numbers:
            return "#" + ",".join(f"{n:g}" for n in self.numbers)
        return " ".join(sorted(self.content))


def answers_match(a: Answer, b: Answer) -> AnswerMatch:
    """Whether two answers say the same thing, judged from their text alone.

    Numbers decide first (8 = "eight" = "8 legs"; 180 != 240). Then the same words, or one answer's
    words contained in the other's ("da Vinci" in "Leonardo da Vinci", "Gravity" in "Gravitational
    force"), are the same answer; answers sharing no word are different; anything else is unsure.
    """
    if a.numbers != b.numbers:
        return "different"
    if a.content == b.content:
        return "same"
    if not a.content or not b.content:
        # "180 km" and "180": the number is the answer. Without numbers, "O(n)" and "O(log n)" differ.
        return "same" if a.numbers else "different"
    small, large = sorted((a.content, b.content), key=len)
    if _covered(small, large):
        # The shorter answer must say something on its own: "O(n)" inside "O(log n)" does not count.
        return "same" if any(len(w) > 2 for w in small) else "different"
    if not any(_same_word(w, v) for w in a.content for v in b.content):
        return "unsure" if a.numbers else "different"
    if len(large) <= 3:
        return "different"  # short answers that each have a word the other lacks: "Vitamin A" / "Vitamin D"
    return "unsure"


def negated(text: str) -> bool:
    """Whether a question is put negatively ("Which is NOT...", "...except", "isn't")."""
    folded = fold(text)
    return "n't" in folded or any(t in _NEGATIONS for t in tokens(folded))


@dataclass(frozen=True)
class Features:
    """What the textual check reads from one item, computed once per item."""

    question_numbers: tuple[float, ...]
    negated: bool
    answer: Answer
    passage: str  # folded; "" without a passage
    passage_words: frozenset[str]

    @classmethod
    def of(cls, question: str, answer: str, context: str | None) -> Features:
        passage = fold(context or "")
        return cls(tuple(sorted(numbers_in(question).elements())), negated(question), Answer.parse(answer),
                   passage, frozenset(tokens(passage)))

    @property
    def bucket(self) -> str:
        """Equal for items that ask with the same numbers and certainly answer the same: the cheap
        candidates that embedding neighbours can miss among many near-identical templated items."""
        return ",".join(f"{n:g}" for n in self.question_numbers) + "|" + self.answer.key


def same_passage(a: Features, b: Features, *, min_overlap: float = 0.6) -> bool:
    """Whether two items rest on the same passage (both without one counts as the same)."""
    if a.passage == b.passage:
        return True
    if not a.passage or not b.passage:
        return False
    union = a.passage_words | b.passage_words
    return len(a.passage_words & b.passage_words) / len(union) >= min_overlap
