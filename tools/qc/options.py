"""Options that say the same thing: a second correct option written another way, found without a model.

Two options are the same answer when they hold the same value or the same name, read from their text alone
(memory/compare.py and memory/quantities.py read the values; no knowledge of the world):

- the same number in another form: "0.5" = "1/2" = "50%", "1,000" = "1000" = "1000.0", "eight" = "8";
  compared exactly (an option written to two decimals is not the same as one written to one), signs kept;
- the same quantity in another unit of its dimension: "1 km" = "1000 m", "90 minutes" = "1.5 hours",
  with the same other words ("3 kg of rice" is not "3000 g of flour");
- the same date or time of day in another format: "20 July 1969" = "1969-07-20", "7:30 pm" = "19:30";
- the same name written another way: letter case, accents, spaces, hyphens and punctuation aside ("Hà Nội" =
  "Hanoi"), a leading article aside, an initialism of the other's words ("WHO" = "World Health Organization"),
  words shortened with a full stop ("Mt. Everest" = "Mount Everest"), or one of the names an option gives in
  brackets or after a slash ("Kyiv (Kiev)" = "Kiev").

A question about how a value or a name is written ("in simplest form", "the correct spelling", "what does
WHO stand for") is left alone: there the forms are the answers. A name and an alias that share no spelling (a city's older name, its name in another language) are not
found here: the inspector judges those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from memory.compare import Answer
from memory.language import ARTICLES, MONTHS
from memory.numbers import fold
from memory.quantities import unit_of

_SIGNED = re.compile(r"^\s*([-+\u2212]?)\s*(\d[\d,]*(?:\.\d+)?|\.\d+)\s*(?:/\s*(\d+))?\s*(%|percent|per cent)?\s*$",
                     re.IGNORECASE)
_MINUS = re.compile(r"(?<![\w.])[-\u2212]\s*\d")
_CLOCK_WORDS = frozenset({"am", "pm", "a", "p", "m", "h", "o", "clock"})
_SMALL_WORDS = frozenset({"of", "the", "and", "for", "in", "on", "at", "to", "de", "du", "des", "la", "le", "el", "&"})
_ALIAS = re.compile(r"^(.*?)\s*[(\[]([^()\[\]]+)[)\]]\s*$")


@dataclass(frozen=True)
class Value:
    """What an option says, as far as its text tells: one of a number, quantities, dates, a time, or a name."""

    number: Fraction | None = None
    quantities: tuple[tuple[str, float], ...] = ()
    words: frozenset[str] = frozenset()  # the words beside a quantity that are not its units
    dates: frozenset[tuple[int, int, int]] = frozenset()
    clock: tuple[int, ...] = ()


def _plain_number(text: str) -> Fraction | None:
    match = _SIGNED.match(text.replace("\u00a0", " "))
    if not match:
        return None
    sign, digits, denominator, percent = match.groups()
    head, _, groups = digits.partition(",")
    if groups and not all(len(g) == 3 for g in groups.split(",")):
        return None  # "2,50" or "1,2": a decimal comma or a list, not one plain number
    value = Fraction(digits.replace(",", ""))
    if denominator is not None:
        if int(denominator) == 0:
            return None
        value /= int(denominator)
    if percent:
        value /= 100
    return -value if sign in ("-", "\u2212") else value


def read_value(option: str) -> Value | None:
    """The value an option states, or None when it states a name or words (compared by `same_name`)."""
    if (number := _plain_number(option)) is not None:
        return Value(number=number)
    if _MINUS.search(option):
        return None  # a signed value in words or with units: not read, rather than read without its sign
    parsed = Answer.parse(option)
    if parsed.code is not None:
        return None
    complete = frozenset((d.year, d.month, d.day) for d in parsed.dates if d.year is not None and d.day is not None)
    if complete:
        return Value(dates=complete)
    if parsed.clock and parsed.content <= _CLOCK_WORDS:
        return Value(clock=parsed.clock)
    if parsed.quantities:
        others = frozenset(w for w in parsed.content if unit_of(w) is None and w not in MONTHS)
        return Value(quantities=parsed.quantities, words=others)
    if len(parsed.numbers) == 1 and not parsed.content and not parsed.percent:
        return Value(number=Fraction(parsed.numbers[0]).limit_denominator(10**9))  # "eight"
    return None


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def same_value(a: Value, b: Value) -> bool:
    if a.number is not None or b.number is not None:
        return a.number is not None and a.number == b.number
    if a.dates or b.dates:
        return bool(a.dates & b.dates)
    if a.clock or b.clock:
        return a.clock == b.clock
    return ({d for d, _ in a.quantities} == {d for d, _ in b.quantities} and a.words == b.words
            and all(_close(x, y) for (_, x), (_, y) in zip(a.quantities, b.quantities, strict=True)))


def name_words(text: str) -> list[str]:
    """Folded words, a leading article dropped; a word shortened with a full stop keeps its stop."""
    words = re.findall(r"[^\W_]+\.?", fold(text).replace("'", "").replace("\u2019", ""))
    if len(words) > 1 and words[0] in ARTICLES:  # "A. Einstein" keeps its initial
        words = words[1:]
    return words


def compact(words: list[str]) -> str:
    return "".join(w.rstrip(".") for w in words)


def shortened(short: str, full: str) -> bool:
    """'mt.' for 'mount', 'r.' for 'roald': a word cut with a full stop whose letters are in order in the other."""
    if not short.endswith(".") or full.endswith(".") or len(short) - 1 >= len(full):
        return False
    letters, position = short[:-1], 0
    if not letters or letters[0] != full[0]:
        return False
    for char in letters:
        position = full.find(char, position) + 1
        if position == 0:
            return False
    return True


def initialism(short: list[str], full: list[str]) -> bool:
    """'WHO' for 'World Health Organization' ('U.S.A.' and 'USA' alike), with or without its small words."""
    letters = compact(short)
    if len(short) != 1 and not all(len(w.rstrip(".")) == 1 for w in short):
        return False
    if len(full) < 2 or not 2 <= len(letters) <= 8:
        return False
    every = "".join(w[0] for w in full)
    content = "".join(w[0] for w in full if w.rstrip(".") not in _SMALL_WORDS)
    return letters in (every, content)


def _names(option: str) -> list[str]:
    """The option and the names it gives in brackets or after a slash ('Kyiv (Kiev)': also 'Kyiv' and 'Kiev')."""
    names = [option]
    if match := _ALIAS.match(option):
        names += [match.group(1), match.group(2)]
    if "/" in option and not re.search(r"\d\s*/\s*\d", option):
        names += [part for part in option.split("/") if part.strip()]
    return [n for n in names if n.strip()]


def same_name(a: str, b: str) -> str | None:
    """How two names are the same name written another way, or None."""
    for x in _names(a):
        for y in _names(b):
            wx, wy = name_words(x), name_words(y)
            if not wx or not wy:
                continue
            if compact(wx) == compact(wy):
                if (x, y) != (a, b):
                    return "one option gives the other as another name"
                return "the same name but for case, accents, spacing or punctuation"
            if initialism(wx, wy) or initialism(wy, wx):
                return "one is the initialism of the other"
            if len(wx) == len(wy) and wx != wy and all(
                    p.rstrip(".") == q.rstrip(".") or shortened(p, q) or shortened(q, p) for p, q in zip(wx, wy, strict=True)):
                return "the same words, some shortened"
    return None


def same_option(a: str, b: str) -> str | None:
    """Why options `a` and `b` say the same answer, or None."""
    va, vb = read_value(a), read_value(b)
    if va is not None and vb is not None:
        return "the same value written another way" if same_value(va, vb) else None
    if va is not None or vb is not None or re.search(r"\d", a + b):
        return None  # a value and a name, or names with numbers in them ("Apollo 11"): not compared as names
    return same_name(a, b)


# A question about how something is written (simplest form, notation, spelling, an abbreviation) may offer one
# value or one name in several forms on purpose: there the forms are the answers.
_ABOUT_FORM = re.compile(
    r"simplest|lowest terms|simplif|notation|\b(?:write|written|express|expressed) (?:\S+ ){0,3}(?:as|in)\b|"
    r"\bin (?:\w+ ){0,2}form\b|convert\w* .*\b(?:to|into) (?:an? )?(?:fraction|decimal|percent)|"
    r"equivalent|spell|abbreviat|initialism|acronym|stands? for|short for|full (?:name|form)|expan[ds]|\bformat\b",
    re.IGNORECASE)


def about_form(question: str) -> bool:
    """Whether `question` asks how a value or a name is written (its simplest form, its spelling, what an
    abbreviation stands for): then other forms of the answer belong in it and in its options."""
    return _ABOUT_FORM.search(question) is not None


def equivalent_options(choices: list[str], answer: str, question: str = "") -> str | None:
    """Why two of `choices` say the same answer (the gold one first), or None. Not asked of a `question` about
    how a value or a name is written."""
    if about_form(question):
        return None
    pairs = [(i, j) for i in range(len(choices)) for j in range(i + 1, len(choices))]
    pairs.sort(key=lambda p: answer not in (choices[p[0]], choices[p[1]]))
    for i, j in pairs:
        if why := same_option(choices[i], choices[j]):
            a, b = choices[i], choices[j]
            if answer in (a, b):
                other = b if a == answer else a
                return f"a second correct option: {other[:40]!r} says the same as the answer {answer[:40]!r} ({why})"
            return f"two options say the same: {a[:40]!r} and {b[:40]!r} ({why})"
    return None
