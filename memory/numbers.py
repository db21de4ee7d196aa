"""Numbers as questions and answers write them: digits with thousands separators or a decimal comma,
number words ("twenty-five", "noventa y cinco"), fractions, ordinals, Chinese numerals, and month
names next to a number.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from memory.language import MONTHS, NUMBER_JOINERS, Language, detect, number_words

UNIT_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
}
# Words that do not change what an answer says ("in the 1940s" is "the 1940s"; "about 95" is "95").
FILLER = {"in", "of", "on", "at", "to", "by", "for", "and", "about", "approximately", "around", "roughly",
           "nearly", "just", "over", "under", "it", "is", "was", "de", "du", "des", "von", "y", "et", "und"}
_NUMBER_SUFFIXES = {"s", "st", "nd", "rd", "th"}  # "1940s", "13th"
# A letter-led token with digits in it ("co2", "b12", "cm2") is a word; digits alone are a number.
_WORD = re.compile(r"[a-z]+\d[a-z\d]*|[a-z]+|\d+(?:[.,]\d+)*")
_FRACTION = re.compile(r"(?<![\d/.])(\d+)\s*/\s*(\d+)(?![\d/])")
_CJK_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CJK_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_WEEKDAY_PREFIX = ("星期", "礼拜", "周")  # 星期六 is Saturday, not six
CHOICE_LETTER = re.compile(r"^\(?(?:option\s+)?([a-h])\)?[.):]?(?:\s+.*)?$", re.IGNORECASE)


def fold(text: str) -> str:
    """Lowercase, accents removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def tokens(text: str) -> list[str]:
    return _WORD.findall(fold(text).replace("-", " "))


def number_values(token: str) -> list[float] | None:
    """A digit token's values: "1,000" is 1000, "2,50" is 2.5, "1,2,3" is three numbers; None for words."""
    if not token[:1].isdigit():
        return None
    if "," in token:
        head, *groups = token.split(",")
        if all(len(g) == 3 for g in groups) and "." not in "".join(groups[:-1]):
            return [float(head + "".join(groups))]
        if len(groups) == 1 and len(groups[0]) <= 2 and "." not in token:
            return [float(f"{head}.{groups[0]}")]  # a decimal comma
        return [float(part) for part in token.split(",") if re.fullmatch(r"\d+(?:\.\d+)?", part)]
    if token.count(".") > 1:
        return [float(part) for part in token.split(".") if part]
    return [float(token)]


def _value(token: str, ordinals: bool, words: dict[str, int]) -> float | None:
    if not ordinals and token == "one":
        return None  # in a question "one" is mostly a pronoun ("which one of these")
    value = UNIT_WORDS.get(token, TENS.get(token, words.get(token, _ORDINALS.get(token) if ordinals else None)))
    return None if value is None else float(value)


def words_and_numbers(text: str, *, ordinals: bool = False, language: Language = "en") -> tuple[list[str], list[float]]:
    """The words of `text` and, separately, its numbers: digits, and number words read as numbers
    ("twenty-five" is 25, "3 hundred" is 300, "noventa y cinco" is 95; with `ordinals`, "thirteenth" and
    "13th" are 13); a month name next to a number is its month number ("20 July 1969" reads 20, 7, 1969)."""
    words: list[str] = []
    numbers: list[float] = []
    local = number_words(language)
    found = tokens(text)
    pending: float | None = None  # the number being read, which a following word may extend
    for index, token in enumerate(found):
        digits = number_values(token)
        value = digits[-1] if digits else _value(token, ordinals, local)
        if digits and len(digits) > 1:
            if pending is not None:
                numbers.append(pending)
            numbers.extend(digits[:-1])
            pending = value
            continue
        if pending is not None and (token in _SCALES or local.get(token) in (100, 1000)) and digits is None:
            pending *= _SCALES.get(token) or local[token]
        elif (pending is not None and value is not None and value < 10 and digits is None and pending >= 20
              and pending % 10 == 0):
            pending += value  # "twenty five", "three hundred five"
        elif (pending is not None and token in NUMBER_JOINERS and index + 1 < len(found)
              and (nxt := _value(found[index + 1], ordinals, local)) is not None and nxt < 10 and pending >= 20):
            continue  # "noventa y cinco": the joiner waits for the unit
        elif value is not None:
            if pending is not None:
                numbers.append(pending)
            pending = value
        elif token in MONTHS and _next_to_number(found, index):
            if pending is not None:
                numbers.append(pending)
                pending = None
            numbers.append(float(MONTHS[token]))
        elif not (pending is not None and token in _NUMBER_SUFFIXES):
            if pending is not None:
                numbers.append(pending)
                pending = None
            words.append(token)
    if pending is not None:
        numbers.append(pending)
    return words, numbers


def _next_to_number(found: list[str], index: int) -> bool:
    neighbours = found[max(0, index - 2):index] + found[index + 1:index + 3]
    return any(number_values(t) and len(t) <= 4 for t in neighbours)


_CJK_PREFIXED = frozenset("卡克米瓦焦")  # kilo- units: 千卡 kcal, 千克 kg, 千米 km, 千瓦 kW, 千焦 kJ


def cjk_numbers(text: str, *, ordinals: bool) -> list[float]:
    """Numbers written in Chinese numerals ("三百二十" is 320); a lone 一 in a question is mostly "a"."""
    found = []
    for match in _CJK_NUMERAL.finditer(text):
        numeral = match.group()
        if text[:match.start()].endswith(_WEEKDAY_PREFIX) or (numeral == "一" and not ordinals):
            continue
        if numeral == "千" and text[:match.start()].rstrip()[-1:].isdigit() and text[match.end():match.end() + 1] in _CJK_PREFIXED:
            continue  # "9千卡" is 9 kcal, "5千克" 5 kg: 千 is the unit's prefix there, not a thousand
        total, current = 0, 0
        for char in numeral:
            if char in _CJK_DIGITS:
                current = current * 10 + _CJK_DIGITS[char] if current and numeral[0] not in _CJK_SCALES else _CJK_DIGITS[char]
            else:
                total += (current or 1) * _CJK_SCALES[char]
                current = 0
        found.append(float(total + current))
    return found


def split_suffix(text: str) -> str:
    # "13th" -> "13 th", "100°C" -> "100 °C", "$20" -> "$ 20", "150页" -> "150 页": numbers stand alone.
    text = re.sub(r"(\d)([a-zA-Z°%\u4e00-\u9fff])", r"\1 \2", text)
    return _FRACTION.sub(lambda m: f" {int(m.group(1)) / int(m.group(2)):.12g} " if int(m.group(2)) else m.group(), text)


def numbers_in(text: str, *, ordinals: bool = False, language: Language | None = None) -> Counter[float]:
    language = language or detect(text)
    _, numbers = words_and_numbers(split_suffix(text), ordinals=ordinals, language=language)
    return Counter([*numbers, *cjk_numbers(text, ordinals=ordinals)])
