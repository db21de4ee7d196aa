"""Numbers and amounts as people write them: '60', '1,200', '5k', 'sixty', 'twenty-five', 'a dozen',
'double', 'halve', '20% more'. Shared by the readers of requests (sizes) and of plan edits (quotas)."""

from __future__ import annotations

import re

_SMALL = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "dozen": 12}
_WORD = "|".join(sorted([*_SMALL, *_TENS, *_SCALES], key=len, reverse=True))

# One number: "1,200", "60", "5k", "1.5k", or words ("sixty", "twenty-five", "a hundred", "two dozen").
NUMBER = (rf"(?:(?<![\w.,])\d+(?:\.\d+)?\s?k(?!\w)|(?<![\w.,])\d{{1,3}}(?:,\d{{3}})+(?!\w|[.,]\d)|(?<![\w.,])\d+(?!\w|[.,]\d)"
          rf"|\b(?:an?\s+)?(?:{_WORD})(?:(?:\s+and\s+|\s+|-)(?:{_WORD}))*\b)")
_NUMBER = re.compile(NUMBER, re.IGNORECASE)
_FACTORS = {"double": 2.0, "doubled": 2.0, "twice": 2.0, "triple": 3.0, "tripled": 3.0, "thrice": 3.0,
            "quadruple": 4.0, "halve": 0.5, "halved": 0.5, "half": 0.5}


def number_value(text: str) -> int | None:
    """The value of one number as written ('1,200', '5k', 'twenty-five', 'a dozen'), or None when it is not one."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?\s?k", cleaned):
        return round(float(cleaned.rstrip("k").strip()) * 1000)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", cleaned):
        return int(cleaned.replace(",", ""))
    words = [w for w in re.split(r"[\s-]+", cleaned) if w and w not in ("and", "a", "an")]
    if not words or any(w not in _SMALL and w not in _TENS and w not in _SCALES for w in words):
        return None
    total, current = 0, 0
    for word in words:
        if word in _SMALL or word in _TENS:
            current += _SMALL.get(word) or _TENS[word]
        elif word == "thousand":
            total, current = total + max(current, 1) * 1000, 0
        else:
            current = max(current, 1) * _SCALES[word]
    return total + current


def numbers_in(text: str) -> list[tuple[int, int, int]]:
    """Every number in `text` as (start, end, value)."""
    found = []
    for match in _NUMBER.finditer(text):
        value = number_value(match.group())
        if value is not None:
            found.append((match.start(), match.end(), value))
    return found


def factor_in(text: str) -> float | None:
    """The factor a relative amount asks for: 'double' 2, 'halve' 0.5, '20% more' 1.2, '25% fewer' 0.75,
    'twice as many' 2; None when the text names none."""
    lowered = text.lower()
    percent = re.search(rf"(\d+(?:\.\d+)?|{NUMBER})\s*(?:%|percent|per cent)\s*"
                        r"(more|bigger|larger|greater|up|fewer|less|smaller|down)?", lowered)
    if percent:
        written = percent.group(1)
        share = (float(written) if re.fullmatch(r"\d+(?:\.\d+)?", written) else number_value(written) or 0) / 100
        direction = percent.group(2) or ("fewer" if re.search(r"\b(reduce|cut|shrink|decrease|lower)\w*", lowered) else "more")
        return 1 - share if direction in ("fewer", "less", "smaller", "down") else 1 + share
    if re.search(r"\bin half\b|\bby half\b|\bhalf (?:the|as)\b", lowered):
        return 0.5
    for word, factor in _FACTORS.items():
        if re.search(rf"\b{word}\b", lowered):
            return factor
    times = re.search(rf"\b({NUMBER})\s*times\b|(?<![\w.])(\d+)\s*x\b", lowered)
    if times and (value := number_value(times.group(1) or times.group(2))):
        return float(value)
    return None
