"""The cheap second look at a candidate pair: numbers, answers, wording and passages compared as text.

The embedding finds candidates; these checks read what the embedding blurs: a number changed, a
question turned around ("largest" / "smallest", "NOT"), another unit asked for, the same wording with
another answer, a different question on the same passage, or the same answer written another way
(values, units, dates, code, options given by letter) or in another language.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

from memory.code_compare import code_match, looks_like_code, normalise
from memory.language import ARTICLES, Language, detect, negations
from memory.numbers import (
    CHOICE_LETTER,
    FILLER,
    TENS,
    UNIT_WORDS,
    cjk_numbers,
    fold,
    number_values,
    numbers_in,
    split_suffix,
    tokens,
    words_and_numbers,
)
from memory.quantities import Date, clock_times, close, dates_in, same_dates, unit_of, units_named

AnswerMatch = Literal["same", "different", "unsure"]

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


def resolve_choice(answer: str, choices: tuple[str, ...] | None) -> str:
    """The option an answer names by letter ("B", "(b)", "Option B") when the item has options."""
    if not choices:
        return answer
    match = CHOICE_LETTER.match(answer.strip())
    if match and answer.strip() not in choices:
        index = ord(match.group(1).lower()) - ord("a")
        if index < len(choices):
            return choices[index]
    return answer


@dataclass(frozen=True)
class Answer:
    """An answer read for comparison: its values (numbers, per-dimension quantities, dates, times of day),
    its code when it is code, and its other words (fillers and a leading article dropped)."""

    numbers: tuple[float, ...]
    content: frozenset[str]
    percent: bool = False
    quantities: tuple[tuple[str, float], ...] = ()
    dates: frozenset[Date] = frozenset()
    clock: tuple[int, ...] = ()
    code: tuple[str, ...] | None = None
    script: str = "latin"

    @classmethod
    def parse(cls, text: str) -> Answer:
        if looks_like_code(text):
            return cls((), frozenset(), code=tuple(normalise(text)))
        if "=" in text and re.search(r"\d", text.rsplit("=", 1)[1]):
            text = text.rsplit("=", 1)[1]  # "3! = 6" is 6
        dates, clock = dates_in(text), clock_times(text)
        text = _temperature_words(text)
        text = re.sub(r"(?<=\d)[\s\u00a0\u202f](?=\d{3}\b)", "", text)  # "3 600" is 3600
        text = re.sub(r"\b(\d+|one|a|an)\s+(?:in|out of)\s+(\d+|[a-z]+)\b", _as_fraction, text, flags=re.IGNORECASE)
        text = re.sub(r"\b([ap])\.m\.", r"\1m", text, flags=re.IGNORECASE)
        prepared = split_suffix(text)
        words, numbers = words_and_numbers(prepared, ordinals=True)
        numbers = [*numbers, *cjk_numbers(text, ordinals=True)]
        # A leading article goes ("The Nile", "Le fémur"); a trailing letter stays ("Vitamin A").
        start = 1 if words and words[0] in ARTICLES else 0
        script = _script_of(text)
        return cls(tuple(sorted(numbers)), frozenset(w for w in words[start:] if w not in FILLER),
                   percent="%" in text or "percent" in words or "per cent" in fold(text),
                   quantities=_quantities(prepared), dates=dates, clock=clock, script=script)

    @property
    def key(self) -> str:
        """Equal for answers that are certainly the same: the values when there are any, else the words."""
        if self.code is not None:
            return "code:" + " ".join(self.code)
        if self.dates:
            first = min(self.dates, key=lambda d: (d.year or 0, d.month, d.day or 0))
            return f"date:{first.year}-{first.month}-{first.day}"
        if self.quantities:
            return "#" + ",".join(f"{dim}={total:.6g}" for dim, total in self.quantities)
        if self.numbers:
            return "#" + ",".join(f"{n:g}" for n in self.numbers)
        return " ".join(sorted(self.content))

    @property
    def specific(self) -> bool:
        """Whether sharing this answer says much: a name, a date, code, or a number that is not a small count."""
        if self.code is not None or self.dates:
            return True
        if self.numbers:
            return any(n != int(n) or abs(n) >= 100 for n in self.numbers)
        return any(len(w) >= 4 for w in self.content) and not self.content <= {"yes", "no", "true", "false"}


_SCALE_LETTER = {"c": "celsius", "f": "fahrenheit", "k": "kelvin"}


def _temperature_words(text: str) -> str:
    """One way of writing a temperature or an angle after its number: "78 °C", "78°C" and "78 degrees Celsius"
    are "78 celsius"; "37 degrees" and "180°" are the number alone (the question names the scale)."""
    text = re.sub(r"(?<=\d)\s*°\s*([CcFfKk])\b", lambda m: " " + _SCALE_LETTER[m.group(1).lower()], text)
    text = re.sub(r"\bcentigrade\b", "celsius", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=\d)\s+degrees?\s+(?=(?:celsius|fahrenheit|kelvin)\b)", " ", text, flags=re.IGNORECASE)
    return re.sub(r"(?<=\d)\s*(?:°|\s+degrees?\b)(?!\s*(?:celsius|fahrenheit|kelvin)\b)", " ", text, flags=re.IGNORECASE)


def _as_fraction(match: re.Match[str]) -> str:
    top, bottom = match.group(1).lower(), match.group(2).lower()
    numerator = 1 if top in {"one", "a", "an"} else int(top) if top.isdigit() else None
    denominator = int(bottom) if bottom.isdigit() else UNIT_WORDS.get(bottom) or TENS.get(bottom)
    if numerator is None or not denominator:
        return match.group()
    return f"{numerator / denominator:.12g}"


def _script_of(text: str) -> str:
    language = detect(text) if any(ord(c) > 0x24F and c.isalpha() for c in text) else "latin"
    return language if language in {"zh", "ja", "ko", "cyrillic", "el", "arabic", "he", "hi", "th"} else "latin"


def _quantities(prepared: str) -> tuple[tuple[str, float], ...]:
    """Totals per dimension of the numbers followed (or, for currency signs, preceded) by a unit."""
    parts = re.findall(r"\d+(?:[.,]\d+)*|[a-zA-Z°²/]+|[$€£¥]|[\u4e00-\u9fff]+", prepared.lower())
    totals: dict[str, float] = {}
    for index, part in enumerate(parts):
        values = number_values(part) if part[:1].isdigit() else None
        if not values:
            continue
        unit = None
        if index + 1 < len(parts):
            unit = unit_of(parts[index + 1]) or (unit_of(f"{parts[index + 1]}/{parts[index + 3]}")
                                                 if index + 3 < len(parts) and parts[index + 2] == "per" else None)
            if unit is None and index + 3 < len(parts) and parts[index + 2] == "per":
                unit = unit_of(f"{parts[index + 1][:2]}/{parts[index + 3][:1]}")
        if unit is None and index > 0:
            unit = unit_of(parts[index - 1]) if parts[index - 1] in "$€£¥" else None
        if unit is not None:
            totals[unit[0]] = totals.get(unit[0], 0.0) + values[-1] * unit[1]
    return tuple(sorted(totals.items()))


def _numbers_agree(a: Answer, b: Answer) -> bool:
    if a.quantities and b.quantities and {d for d, _ in a.quantities} == {d for d, _ in b.quantities}:
        return all(close(x, y) for (_, x), (_, y) in zip(a.quantities, b.quantities, strict=True))
    if len(a.numbers) != len(b.numbers):
        return False
    if all(close(x, y) for x, y in zip(a.numbers, b.numbers, strict=True)):
        return True
    if a.percent != b.percent and len(a.numbers) == 1:  # 50% is 0.5
        x, y = (a.numbers[0], b.numbers[0]) if a.percent else (b.numbers[0], a.numbers[0])
        return close(x / 100, y) or close(x, y * 100)
    return False


def answers_match(a: Answer, b: Answer, *, loose: bool = False) -> AnswerMatch:
    """Whether two answers say the same thing, judged from their text alone.

    Code is compared as code; dates, times of day and numbers (with their units) decide next
    (8 = "eight" = "8 legs"; "1/2" = "50%"; 180 != 240). Then the same words, or one answer's words
    contained in the other's ("da Vinci" in "Leonardo da Vinci"), are the same answer; answers
    sharing no word are different; anything else is unsure. With `loose` (the questions are in
    different languages) words in two scripts or languages are never "different", only unsure.
    """
    if a.code is not None or b.code is not None:
        return code_match(" ".join(a.code), " ".join(b.code)) if a.code and b.code else "unsure"
    if a.dates and b.dates:
        return "same" if same_dates(a.dates, b.dates) else "different"
    if a.clock and b.clock:
        return "same" if a.clock == b.clock else "different"
    if a.numbers or b.numbers:
        if not _numbers_agree(a, b):
            return "different"
        if a.quantities or b.quantities or a.script != b.script:
            return "same"
    if a.script != b.script:
        return "unsure"
    if a.content == b.content:
        return "same"
    if not a.content or not b.content:
        # "180 km" and "180": the number is the answer. Without numbers, "O(n)" and "O(log n)" differ.
        return "same" if a.numbers else "different"
    small, large = sorted((a.content, b.content), key=len)
    if _covered(small, large):
        # The shorter answer must say something on its own: "O(n)" inside "O(log n)" does not count.
        return "same" if any(len(w) > 2 for w in small) else "different"
    if loose:
        return "unsure"
    if not any(_same_word(w, v) for w in a.content for v in b.content):
        return "unsure" if a.numbers else "different"
    if len(large) <= 3:
        return "different"  # short answers that each have a word the other lacks: "Vitamin A" / "Vitamin D"
    return "unsure"


# Words that frame a question rather than say what it asks ("Name the...", "Which of these...").
_FRAMING = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and", "or", "is", "are", "was", "were", "be", "been", "does", "do", "did", "has", "have", "had", "what", "which", "who", "whom", "whose", "how", "when", "where", "why", "that", "this", "these", "those", "it", "its", "there", "their", "his", "her", "they", "he", "she", "one", "ones", "each", "per", "into", "as", "than", "then", "so", "if", "can", "could", "would", "should", "will", "name", "give", "state", "identify", "find", "determine", "calculate", "compute", "tell", "list", "write", "choose", "select", "pick", "express", "convert", "following", "below", "above", "known", "called", "many", "much", "following", "i", "you", "we", "me", "us", "our", "your"])

# Opposites that turn a question around when one replaces the other in otherwise equal wording.
_OPPOSITES = [
    ("largest", "smallest"), ("biggest", "smallest"), ("larger", "smaller"), ("bigger", "smaller"),
    ("greatest", "least"), ("greater", "less"), ("most", "least"), ("more", "less"), ("more", "fewer"),
    ("highest", "lowest"), ("higher", "lower"), ("longest", "shortest"), ("longer", "shorter"),
    ("tallest", "shortest"), ("taller", "shorter"), ("oldest", "youngest"), ("older", "younger"),
    ("oldest", "newest"), ("heaviest", "lightest"), ("heavier", "lighter"), ("fastest", "slowest"),
    ("faster", "slower"), ("hottest", "coldest"), ("hotter", "colder"), ("closest", "farthest"),
    ("nearest", "farthest"), ("closest", "furthest"), ("first", "last"), ("first", "second"), ("before", "after"),
    ("earlier", "later"), ("earliest", "latest"), ("next", "previous"), ("maximum", "minimum"), ("max", "min"),
    ("ascending", "descending"), ("increase", "decrease"), ("increasing", "decreasing"), ("add", "remove"),
    ("adds", "removes"), ("gain", "lose"), ("win", "lose"), ("wins", "loses"), ("buy", "sell"), ("absorb", "release"),
    ("absorbs", "releases"), ("import", "export"), ("imports", "exports"), ("north", "south"), ("east", "west"),
    ("northernmost", "southernmost"), ("easternmost", "westernmost"), ("northern", "southern"),
    ("eastern", "western"), ("above", "below"), ("up", "down"), ("top", "bottom"), ("left", "right"),
    ("inside", "outside"), ("start", "end"), ("beginning", "end"), ("true", "false"), ("correct", "incorrect"),
    ("even", "odd"), ("positive", "negative"), ("upper", "lower"), ("uppercase", "lowercase"), ("away", "toward"),
    ("away", "towards"), ("arrive", "depart"), ("arrival", "departure"), ("enter", "exit"), ("open", "close"),
    ("plus", "minus"), ("add", "subtract"), ("multiply", "divide"), ("same", "different"), ("near", "far"),
    ("wet", "dry"), ("hot", "cold"), ("fast", "slow"), ("rise", "fall"), ("push", "pull"),
]
OPPOSITE: dict[str, frozenset[str]] = {}
for _x, _y in _OPPOSITES:
    OPPOSITE[_x] = OPPOSITE.get(_x, frozenset()) | {_y}
    OPPOSITE[_y] = OPPOSITE.get(_y, frozenset()) | {_x}


def negated(text: str, language: Language | None = None) -> bool:
    """Whether a question is put negatively ("Which is NOT...", "...except", "isn't", "ne ... pas")."""
    folded = fold(text)
    words = negations(language or detect(text))
    return "n't" in folded or any(t in words for t in tokens(folded))


@dataclass(frozen=True)
class Features:
    """What the textual check reads from one item, computed once per item."""

    question_numbers: tuple[float, ...]
    negated: bool
    answer: Answer
    passage: str  # folded; "" without a passage
    passage_words: frozenset[str]
    language: Language = "en"
    words: frozenset[str] = frozenset()  # every word of the question, folded
    units: frozenset[str] = frozenset()  # the units the question names
    choices: frozenset[str] = frozenset()  # the options, folded, order-free

    @classmethod
    def of(cls, question: str, answer: str, context: str | None, choices: tuple[str, ...] | None = None) -> Features:
        passage = fold(context or "")
        language = detect(question)
        return cls(tuple(sorted(numbers_in(question, language=language).elements())), negated(question, language),
                   Answer.parse(resolve_choice(answer, choices)), passage, frozenset(tokens(passage)),
                   language=language, words=frozenset(tokens(question)), units=units_named(question),
                   choices=frozenset(fold(c).rstrip(" .") for c in choices or ()))

    @property
    def content_words(self) -> frozenset[str]:
        return frozenset(w for w in self.words if w not in _FRAMING and not w[:1].isdigit() and len(w) > 1)

    @property
    def bucket(self) -> str:
        """Equal for items that ask with the same numbers and certainly answer the same: the cheap
        candidates that embedding neighbours can miss (templated look-alikes, translations)."""
        answer = self.answer
        # The numbers as written, not the converted quantities: "180" and "180 km" share a bucket.
        key = "#" + ",".join(f"{n:g}" for n in answer.numbers) if answer.numbers and not answer.dates else answer.key
        return ",".join(f"{n:g}" for n in self.question_numbers) + "|" + key


def added_detail(a: Features, b: Features) -> bool:
    """One question has every number of the other and more ("The Ninety-five Theses of 1517..." / "...the
    Ninety-five Theses"), and the answer is a name or words that the text finds the same: the added numbers
    are a detail, not a changed question. A changed number, or a number answer, is never a detail."""
    small, large = sorted((Counter(a.question_numbers), Counter(b.question_numbers)), key=lambda c: c.total())
    if small == large or small - large or a.answer.numbers or b.answer.numbers or a.answer.code is not None:
        return False
    return answers_match(a.answer, b.answer) == "same"


def cross_lingual(a: Features, b: Features) -> bool:
    return a.language != b.language and "und" not in (a.language, b.language)


def inverted(a: Features, b: Features) -> bool:
    """One question says a word where the other says its opposite ("largest" / "smallest", "before" / "after")."""
    only_a, only_b = a.words - b.words, b.words - a.words
    return any(OPPOSITE.get(w, frozenset()) & only_b for w in only_a)


def other_units(a: Features, b: Features) -> bool:
    """Both questions name units of one dimension, and not the same ones ("in metres" / "in feet")."""
    if not a.units or not b.units or a.units == b.units:
        return False
    dimensions = {u.split(":")[0] for u in a.units ^ b.units}
    return any(d in {u.split(":")[0] for u in a.units} and d in {u.split(":")[0] for u in b.units}
               for d in dimensions)


def replaced_words(a: Features, b: Features, *, most: int = 2) -> tuple[frozenset[str], frozenset[str]] | None:
    """The words one question has in place of the other's when the two are otherwise worded alike
    (at most `most` replaced on each side, two or more words shared); None for a rewording."""
    wa, wb = a.content_words, b.content_words
    only_a = frozenset(w for w in wa if not any(_same_word(w, v) for v in wb))
    only_b = frozenset(w for w in wb if not any(_same_word(w, v) for v in wa))
    shared = len(wa) - len(only_a)
    if only_a and only_b and len(only_a) <= most and len(only_b) <= most and shared >= 2:
        return only_a, only_b
    return None


def same_passage(a: Features, b: Features, *, min_overlap: float = 0.6) -> bool:
    """Whether two items rest on the same passage (both without one counts as the same)."""
    if a.passage == b.passage:
        return True
    if not a.passage or not b.passage:
        return False
    union = a.passage_words | b.passage_words
    return len(a.passage_words & b.passage_words) / len(union) >= min_overlap
