"""An answer given away in other words: the parts of `tools/qc/leakage.py` that look past the answer's own spelling.

- Numbers written as words ("one hundred and fifty", "sixty-six", "a dozen") are read as values.
- An aside is text set off from the question: after its last question mark, in brackets, or between dashes.
  An aside that holds the answer's value and no other number (nor another option) gives the answer away.
- A numeric answer spelled out in words, in a stem that writes its other numbers in digits, is a restatement:
  an author who counts in digits does not spell out the one number the question asks for.
- Text is compared with accents folded ("Hà Nội" is "ha noi").
- Beside a solution program: the stem holds the numeric answer while the program never writes it, so it is no
  operand ("A 3 kg bag, that is 3,000 g" with `print(3 * 1000)`); a number after a capitalised word is a label.
- A text answer named in another spelling: words run together or split, shortened with a full stop, or its
  initialism in capitals; not in a question about how the answer is written ("What does CPU stand for?").

The rules were set on `tests/data/qc_calibration/items.jsonl` only; `bench/qc_catch.py`'s planted set is the test.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from tools.qc.options import about_form, compact, initialism, name_words, shortened

_UNITS = {w: n for n, w in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"))}
_TENS = {w: 10 * n for n, w in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), start=2)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
_DIGITS = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w]|\.\d)")  # on folded text: no digit-group commas
# In brackets, or between dashes (one dash: to the end). A dash after a digit is a minus sign ("12 - 6").
_ASIDE = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]|(?<![\d\s])\s[-–—]\s([^-–—]+?)(?:(?<!\d)\s[-–—](?=\s)|$)")


def fold(text: str) -> str:
    """Casefolded, accents removed, commas out of digit groups."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def number_value(text: str) -> Decimal | None:
    """`text` as a number if it is one (digits or words), else None."""
    clean = fold(text).strip().lstrip("+")
    try:
        return Decimal(clean)
    except InvalidOperation:
        values = spelled_numbers(clean)
        if len(values) == 1 and values[0][1] == 0 and values[0][2] == len(clean):
            return Decimal(values[0][0])
    return None


def spelled_numbers(text: str) -> list[tuple[int, int, int]]:
    """Numbers written as words in folded `text`: (value, start, end) each."""
    found: list[tuple[int, int, int]] = []
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    n = 0
    while n < len(words):
        run, value, end = _number_run(words, n)
        if run:
            found.append((value, words[n][1], end))
            n += run
        else:
            n += 1
    return found


def _kind(word: str) -> str | None:
    parts = word.split("-")
    if len(parts) == 1:
        return "unit" if word in _UNITS else "tens" if word in _TENS else "scale" if word in _SCALES else None
    if len(parts) == 2 and parts[0] in _TENS and _UNITS.get(parts[1], 10) < 10:
        return "tens-unit"
    return None


def _number_run(words: list[tuple[str, int, int]], start: int) -> tuple[int, int, int]:
    """How many words from `start` form one number, its value and where it ends (0 words: no number)."""
    if words[start][0] == "a" and start + 1 < len(words) and words[start + 1][0] == "dozen":
        return 2, 12, words[start + 1][2]
    total = current = taken = end = 0
    last: str | None = None
    for n in range(start, len(words)):
        word, kind = words[n][0], _kind(words[n][0])
        if word == "and" and last == "scale" and n + 1 < len(words) and _kind(words[n + 1][0]) not in (None, "scale"):
            taken += 1
            continue
        if kind is None or (kind == "scale" and last is None) or not _follows(last, kind, word):
            break
        if kind == "scale":
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
        else:
            current += sum(_UNITS.get(p, 0) + _TENS.get(p, 0) for p in word.split("-"))
        taken, end, last = n - start + 1, words[n][2], kind
    return taken, total + current, end


def _follows(last: str | None, kind: str, word: str) -> bool:
    """Whether a number word of `kind` continues a number whose last word was of kind `last`."""
    if last is None or last == "scale":
        return True
    if kind == "scale":
        return True
    return last == "tens" and kind == "unit" and _UNITS[word] < 10  # "sixty six"


def values_in(text: str) -> list[Decimal]:
    """Every number in folded `text`, digits and words alike."""
    values = [Decimal(m.group().lstrip("+")) for m in _DIGITS.finditer(text)]
    return values + [Decimal(v) for v, _, _ in spelled_numbers(text)]


def asides(stem: str) -> list[str]:
    """The parts of folded `stem` set off from the question: after its last '?', in brackets, between dashes."""
    parts = [next(g for g in m.groups() if g is not None) for m in _ASIDE.finditer(stem)]
    _, mark, tail = stem.rpartition("?")
    if mark and tail.strip():
        parts.append(tail)
    return parts


def numeric_restatement(stem: str, value: Decimal, others: list[Decimal]) -> str | None:
    """Why folded `stem` gives the numeric answer `value` away in other words, or None. `others`: the other options."""
    for aside in asides(stem):
        found = values_in(aside)
        if value in found and all(v == value for v in found) and not any(o in found for o in others):
            return f"an aside in the question gives the answer ({aside.strip()[:60]!r})"
    spelled = [v for v, _, _ in spelled_numbers(stem)]
    digits = [Decimal(m.group().lstrip("+")) for m in _DIGITS.finditer(stem)]
    if value in spelled and value != 1 and digits and value not in digits:  # "one" is as often a pronoun
        return "the question spells out the answer in words while it writes its other numbers in digits"
    return None


def text_in_aside(stem: str, answer: str, others: list[str]) -> str | None:
    """Why folded `stem` gives the text answer away in an aside (and names no other option there), or None."""
    pattern = r"(?<!\w)" + re.escape(answer) + r"(?!\w)"
    for aside in asides(stem):
        if re.search(pattern, aside) and not any(re.search(r"(?<!\w)" + re.escape(o) + r"(?!\w)", aside) for o in others):
            return f"an aside in the question names the answer ({aside.strip()[:60]!r})"
    return None


_LABEL = re.compile(r"\b[A-Z][\w-]*\s*(?:no\.?|#)?\s*$")  # "Room 12", "Apollo 11", "Route #66": a number that names


def _program_literals(code: str) -> set[Decimal] | None:
    """The numbers a solution program writes, or None when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            found.add(Decimal(str(node.value)).normalize())
    return found


def restated_beside_program(question: str, value: Decimal, code: str) -> str | None:
    """Why `question` restates its numeric answer `value`, judged against the item's solution program: the stem
    holds the answer (in digits, or in words for an answer above 2) while the program that computes it never
    writes it, so it is no operand (a label such as 'Room 12' aside)."""
    literals = _program_literals(code)
    target = value.normalize()
    if literals is None or target in literals or abs(target) <= 1:
        return None
    folded = fold(question)
    for match in _DIGITS.finditer(folded):
        if Decimal(match.group().lstrip("+")).normalize() == target and not _LABEL.search(question[:_raw_start(question, match.start())]):
            return f"the question holds the answer ({match.group()}) where the solution program does not use it"
    if abs(target) > 2 and any(Decimal(v) == target for v, _, _ in spelled_numbers(folded)):
        return "the question spells out the answer where the solution program does not use it"
    return None


def _raw_start(question: str, folded_start: int) -> int:
    """Where a position of the folded question is in the raw question (folding only drops marks and commas)."""
    if len(fold(question)) == len(question):
        return folded_start
    raw, seen = 0, 0
    while raw < len(question) and seen < folded_start:
        raw += 1
        seen = len(fold(question[:raw]))
    return raw


def named_in_other_spelling(question: str, answer: str) -> str | None:
    """How `question` names the text `answer` in another spelling: its words run together or split ('Ha Noi' for
    'Hanoi'), a word shortened with a full stop, or its initialism in capitals ('WHO' for 'World Health
    Organization'); None when it does not, or names it in the answer's own spelling (the rules above judge that)."""
    target = name_words(answer)
    if not target or len(compact(target)) < 4 or about_form(question):
        return None  # "What does CPU stand for?" names the abbreviation it asks to expand
    raw = question.split()
    words = [name_words(w) for w in raw]
    for start in range(len(words)):
        for size in range(1, len(target) + 2):
            gram = [w for part in words[start:start + size] for w in part]
            if not gram or gram == target or start + size > len(words):
                continue
            if compact(gram) == compact(target) or (len(gram) == len(target) and all(
                    p.rstrip(".") == q.rstrip(".") or shortened(p, q) for p, q in zip(gram, target, strict=True))):
                return f"the question names the answer as {' '.join(raw[start:start + size])[:60]!r}"
            token = raw[start].strip(".,;:!?()[]\"'")
            if size == 1 and token.replace(".", "").isupper() and initialism(name_words(token), target):
                return f"the question names the answer by its initialism {token!r}"
    return None
