"""An answer's values read as values: "1/2" = "0.5" = "50%", "2,000 grams" = "2 kg", "1 hour 35 minutes" =
"95 min", "20 July 1969" = "1969-07-20" = "1969年7月20日", "7 pm" = "19:00" = "下午7点".

Only what is written is read (no knowledge of the world): a unit is converted within its dimension
(length, mass, volume, time, money, speed, area), never across them, and not between temperature
scales, where a changed scale is a changed question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from memory.language import MONTHS

Dimension = str

_LENGTH = {"mm": 0.001, "millimetre": 0.001, "millimeter": 0.001, "cm": 0.01, "centimetre": 0.01, "centimeter": 0.01,
           "m": 1.0, "metre": 1.0, "meter": 1.0, "km": 1000.0, "kilometre": 1000.0, "kilometer": 1000.0,
           "inch": 0.0254, "inches": 0.0254, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "yard": 0.9144,
           "mile": 1609.344, "mi": 1609.344, "metros": 1.0, "metro": 1.0, "metres": 1.0, "kilometros": 1000.0,
           "公里": 1000.0, "千米": 1000.0, "米": 1.0, "厘米": 0.01, "毫米": 0.001, "英里": 1609.344}
_MASS = {"mg": 0.001, "milligram": 0.001, "g": 1.0, "gram": 1.0, "gramme": 1.0, "gramos": 1.0, "kg": 1000.0,
         "kilogram": 1000.0, "kilo": 1000.0, "lb": 453.592, "lbs": 453.592, "oz": 28.3495, "ounce": 28.3495,
         "tonne": 1e6, "千克": 1000.0, "公斤": 1000.0, "克": 1.0, "毫克": 0.001}
_VOLUME = {"ml": 0.001, "millilitre": 0.001, "milliliter": 0.001, "cl": 0.01, "dl": 0.1, "l": 1.0, "litre": 1.0,
           "liter": 1.0, "litro": 1.0, "litros": 1.0, "liter_de": 1.0, "升": 1.0, "毫升": 0.001}
_TIME = {"ms": 0.001, "sec": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minuto": 60.0,
         "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hora": 3600.0, "heure": 3600.0, "stunde": 3600.0,
         "day": 86400.0, "week": 604800.0, "秒": 1.0, "分钟": 60.0, "小时": 3600.0, "天": 86400.0}
_MONEY = {"$": 1.0, "dollar": 1.0, "usd": 1.0, "cent": 0.01, "cents": 0.01, "€": 1.0, "euro": 1.0, "eur": 1.0,
          "£": 1.0, "¥": 1.0, "yen": 1.0, "dolar": 1.0, "dolares": 1.0, "美元": 1.0, "欧元": 1.0, "元": 1.0}
_AREA = {"m²": 1.0, "m2": 1.0, "km²": 1e6, "km2": 1e6, "cm²": 1e-4, "平方米": 1.0, "平方公里": 1e6}
UNITS: dict[str, tuple[Dimension, float]] = {}
for _dimension, _table in (("length", _LENGTH), ("mass", _MASS), ("volume", _VOLUME), ("time", _TIME),
                           ("money", _MONEY), ("area", _AREA)):
    for _name, _factor in _table.items():
        UNITS[_name] = (_dimension, _factor)
_SPEED = {"km/h": 1000 / 3600, "kph": 1000 / 3600, "mph": 1609.344 / 3600, "m/s": 1.0, "公里/小时": 1000 / 3600}
for _name, _factor in _SPEED.items():
    UNITS[_name] = ("speed", _factor)
# Temperature scales are read as units (so that a question asked in another scale can be told apart) but
# never converted.
TEMPERATURE = {"°c": "celsius", "celsius": "celsius", "°f": "fahrenheit", "fahrenheit": "fahrenheit",
               "kelvin": "kelvin", "摄氏度": "celsius", "华氏度": "fahrenheit"}

_SINGULAR = re.compile(r"(?<=[a-z]{3})(e?s)$")


def unit_of(word: str) -> tuple[Dimension, float] | None:
    """The dimension and factor of a unit word ("kilometres" -> ("length", 1000.0)); None for other words."""
    if word in UNITS:
        return UNITS[word]
    stem = _SINGULAR.sub("", word)
    if stem in UNITS:
        return UNITS[stem]
    if word.endswith("s") and word[:-1] in UNITS:
        return UNITS[word[:-1]]
    return None


def units_named(text: str) -> frozenset[str]:
    """The units a question names, as canonical names per dimension ("in feet" -> {"length:0.3048"}),
    temperature scales included: two questions asking in different units of one dimension ask differently."""
    found: set[str] = set()
    lowered = text.lower()
    for word in re.findall(r"[a-z°²/]+|[\u4e00-\u9fff]+", lowered):
        if word in TEMPERATURE:
            found.add("temperature:" + TEMPERATURE[word])
        elif len(word) > 2 and (unit := unit_of(word)) is not None and word not in {"min", "sec", "day", "week"}:
            found.add(f"{unit[0]}:{unit[1]:g}")
    # Short symbols count right after a number ("2 kg", "250 ml", "1.5 L"); alone, "m" or "l" says little.
    for word in re.findall(r"\d\s*([a-z]{1,2})\b", lowered):
        if (unit := unit_of(word)) is not None:
            found.add(f"{unit[0]}:{unit[1]:g}")
    return frozenset(found)


@dataclass(frozen=True)
class Date:
    year: int | None
    month: int
    day: int | None


_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASHED = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_CJK_DATE = re.compile(r"(?:(\d{3,4})\s*年\s*)?(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?")
_WORDY_DATE = re.compile(r"(?:(\d{1,2})(?:st|nd|rd|th|er|º)?\s+(?:de\s+)?)?([a-zéèûôäöüç]{3,10})\.?(?:\s+(\d{1,2})"
                         r"(?:st|nd|rd|th)?)?,?\s+(?:de\s+)?(\d{3,4})\b")


def dates_in(text: str) -> frozenset[Date]:
    """The calendar dates written in `text` (both readings of an ambiguous 01/02/2000)."""
    folded = text.lower()
    found: set[Date] = set()
    for y, m, d in _ISO.findall(folded):
        found.add(Date(int(y), int(m), int(d)))
    for first, second, y in _SLASHED.findall(folded):
        for d, m in ((int(first), int(second)), (int(second), int(first))):
            if 1 <= m <= 12 and 1 <= d <= 31:
                found.add(Date(int(y), m, d))
    for y, m, d in _CJK_DATE.findall(text):
        if 1 <= int(m) <= 12:
            found.add(Date(int(y) if y else None, int(m), int(d) if d else None))
    plain = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    for before, name, after, y in _WORDY_DATE.findall(plain):
        month = MONTHS.get(name)
        if month is not None:
            day = before or after
            found.add(Date(int(y), month, int(day) if day else None))
    return frozenset(found)


def same_dates(a: frozenset[Date], b: frozenset[Date]) -> bool:
    """Some reading of `a` agrees with some reading of `b` (a missing year or day agrees with any)."""
    return any(x.month == y.month and (x.day is None or y.day is None or x.day == y.day)
               and (x.year is None or y.year is None or x.year == y.year) for x in a for y in b)


_CLOCK = re.compile(r"(?:(上午|早上|凌晨|下午|晚上|中午)\s*)?(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|点|時|时)"
                    r"|(\d{1,2}):(\d{2})", re.IGNORECASE)


def clock_times(text: str) -> tuple[int, ...]:
    """Times of day written in `text`, as minutes after midnight ("7 pm", "19:00", "下午7点" -> 1140)."""
    found = []
    for prefix, hour, minute, suffix, hour24, minute24 in _CLOCK.findall(text):
        if hour24:
            h, m = int(hour24), int(minute24)
        else:
            h, m = int(hour), int(minute or 0)
            suffix = suffix.lower().replace(".", "")
            if (suffix == "pm" or prefix in {"下午", "晚上"}) and h < 12:
                h += 12
            elif (suffix == "am" or prefix in {"上午", "早上", "凌晨"}) and h == 12:
                h = 0
        if h <= 24 and m < 60:
            found.append(h * 60 + m)
    return tuple(sorted(found))


def close(x: float, y: float) -> bool:
    """Equal, or equal once the more precise value is rounded as the other is written (161 ~ 160.9, 14.3 ~ 14.2857)."""
    if abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y)):
        return True
    for rough, fine in ((x, y), (y, x)):
        text = f"{rough:.6g}"
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
        if (decimals < 6 and round(fine, decimals) == round(rough, decimals) and abs(rough) >= 1
                and abs(rough - fine) <= 0.01 * abs(rough)):
            return True
    return False
