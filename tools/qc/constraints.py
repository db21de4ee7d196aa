"""The spec's constraints, checked per item: by code where code can measure them, else by the inspector.

Measured here: "at least N (reasoning) steps" (arithmetic operations in the item's solution program,
else the hops of its design brief), a length in words ("at most 40 words", "at least 20 words", of
the question) and a language written in a script of its own (Chinese, Japanese, Korean, Russian,
Greek, Arabic, Hebrew, Hindi: the question must use that script) or a Latin-script language whose commonest
words memory/language.py knows (Spanish, French, German, Portuguese, Italian: a question detected as written in
another language misses; one too short to tell goes to the inspector). Every other constraint, and a
measurable one an item gives nothing to measure by (no program and no brief), goes to the inspector
in the spec's own words. A miss drops the item with the constraint named, so the report counts
misses per constraint.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

from memory.language import detect
from tools.contracts import BenchmarkSpec, Sample, SampleBrief

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_N = r"(\d+|" + "|".join(_NUMBERS) + r")"
_STEPS = re.compile(rf"(?:at least|minimum of|no fewer than)\s+{_N}\s+(?:\w+\s+)?(?:steps|hops|operations)"
                    rf"|{_N}\s*(?:\+|or more)\s+(?:\w+\s+)?(?:steps|hops|operations)", re.IGNORECASE)
_AT_MOST = re.compile(r"(at most|no more than|up to|maximum of|under|fewer than|less than)\s+(\d+)\s+words", re.IGNORECASE)
_AT_LEAST = re.compile(r"(?:at least|minimum of|no fewer than)\s+(\d+)\s+words", re.IGNORECASE)
_SCRIPTS = {
    "chinese": r"[\u4e00-\u9fff]", "mandarin": r"[\u4e00-\u9fff]", "japanese": r"[\u3040-\u30ff\u4e00-\u9fff]",
    "korean": r"[\uac00-\ud7af]", "russian": r"[\u0400-\u04ff]", "ukrainian": r"[\u0400-\u04ff]",
    "greek": r"[\u0370-\u03ff]", "arabic": r"[\u0600-\u06ff]", "hebrew": r"[\u0590-\u05ff]", "hindi": r"[\u0900-\u097f]",
}

_DETECTED = {"spanish": "es", "french": "fr", "german": "de", "portuguese": "pt", "italian": "it"}
_CODES = {"es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese", "it": "Italian", "en": "English"}

Kind = Literal["steps", "max_words", "min_words", "script", "detected", "judged"]


@dataclass(frozen=True)
class Constraint:
    text: str  # the spec's own words, as reports and the inspector quote them
    kind: Kind
    number: int = 0
    pattern: str = ""


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.casefold()]


def read_constraints(spec: BenchmarkSpec) -> list[Constraint]:
    """Each constraint of `spec` with how it is checked; a non-English language is one more."""
    found: list[Constraint] = []
    for text in spec.constraints:
        if steps := _STEPS.search(text):
            found.append(Constraint(text, "steps", _number(steps.group(1) or steps.group(2))))
        elif most := _AT_MOST.search(text):
            strict = most.group(1).casefold() in ("under", "fewer than", "less than")
            found.append(Constraint(text, "max_words", int(most.group(2)) - (1 if strict else 0)))
        elif least := _AT_LEAST.search(text):
            found.append(Constraint(text, "min_words", int(least.group(1))))
        else:
            found.append(Constraint(text, "judged"))
    language = spec.language.strip()
    if language and language.casefold() != "english":
        if pattern := _SCRIPTS.get(language.casefold()):
            found.append(Constraint(f"written in {language}", "script", pattern=pattern))
        elif code := _DETECTED.get(language.casefold()):
            found.append(Constraint(f"written in {language}", "detected", pattern=code))
        else:
            found.append(Constraint(f"written in {language}", "judged"))
    return found


def program_steps(code: str) -> int | None:
    """Arithmetic operations in a solution program (each binary or augmented operation is one step), or None
    when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    return sum(isinstance(node, ast.BinOp | ast.AugAssign) for node in ast.walk(tree))


@dataclass(frozen=True)
class ConstraintCheck:
    misses: list[tuple[Constraint, str]]  # each missed constraint and what was measured
    for_inspector: list[str]  # the spec's words of the constraints code could not measure on this item


def check_constraints(sample: Sample, constraints: list[Constraint], brief: SampleBrief | None = None) -> ConstraintCheck:
    misses: list[tuple[Constraint, str]] = []
    judged: list[str] = []
    words = len(sample.question.split())
    for constraint in constraints:
        if constraint.kind == "steps":
            code = sample.metadata.get("solution_code")
            counted = program_steps(str(code)) if code and sample.metadata.get("kind") != "code" else None
            source = "its solution program takes"
            if counted is None and brief is not None:
                counted, source = len(brief.hops), "its design brief plans"
            if counted is None:
                judged.append(constraint.text)
            elif counted < constraint.number:
                misses.append((constraint, f"{source} {counted} step(s), fewer than {constraint.number}"))
        elif constraint.kind == "max_words" and words > constraint.number:
            misses.append((constraint, f"the question has {words} words, more than {constraint.number}"))
        elif constraint.kind == "min_words" and words < constraint.number:
            misses.append((constraint, f"the question has {words} words, fewer than {constraint.number}"))
        elif constraint.kind == "script" and not re.search(constraint.pattern, sample.question):
            misses.append((constraint, "the question has no character of that language's script"))
        elif constraint.kind == "detected":
            found = detect(sample.question)
            if found == "und":
                judged.append(constraint.text)
            elif found != constraint.pattern:
                misses.append((constraint, f"the question reads as {_CODES.get(found, found)}"))
        elif constraint.kind == "judged":
            judged.append(constraint.text)
    return ConstraintCheck(misses=misses, for_inspector=judged)
