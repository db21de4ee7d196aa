"""Executed answers: an answer that can be computed is computed, in the sandbox, and must equal the gold answer.

- A sample with `metadata.solution_code` (numeric and other computed answers): the program's last
  printed line must equal the gold answer (numbers compared as numbers, to the gold's precision).
  For multiple choice it must match exactly one option, the gold one: an option matches when it says
  the same, or when the one number it holds equals the computed value ("$12", "12 apples" for 12),
  so a second correct option is caught here without a model; multiple-choice items without a solution
  are left to the inspector.
- A code item (`metadata.kind == "code"`): the reference solution (the answer) must pass the item's
  unit tests, and trivially wrong stand-ins for its function must fail them.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from fractions import Fraction

from tools.contracts import IssueKind, Sample
from tools.qc.sandbox import SandboxLimits, run_python
from tools.qc.schema import normalize

# Trivially wrong implementations of the entry point; tests that pass any of them test nothing.
_STUBS = {"returns None": "None", "returns 0": "0", "returns its first argument": "args[0] if args else None"}


@dataclass(frozen=True)
class ExecutedOutcome:
    passed: bool
    reason: str
    computed: str | None = None
    issue: IssueKind = "wrong_answer"  # what a failure says about the item


def as_number(text: str) -> Fraction | None:
    cleaned = text.strip().replace(",", "").rstrip(".")
    try:
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None


def answers_equal(computed: str, gold: str) -> bool:
    """Numbers compare by value, to the number of decimals the gold answer gives; other text after normalising."""
    value, target = as_number(computed), as_number(gold)
    if value is not None and target is not None:
        decimals = len(gold.strip().partition(".")[2]) if "." in gold and "/" not in gold else 0
        if decimals:
            return round(float(value), decimals) == round(float(target), decimals)
        return abs(value - target) <= Fraction(1, 10**9) * max(Fraction(1), abs(target))
    aliases = {"true": "yes", "false": "no"}
    key = normalize(computed).strip("'\"")
    return aliases.get(key, key) == aliases.get(normalize(gold), normalize(gold))


_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:/\d+)?(?!\d)(?!\.\d)")


def matches_option(computed: str, option: str) -> bool:
    """Does `option` say the computed value: the same answer, or an option holding that one number among words
    and signs ('$1,200', '7.5 kg', '12 apples'), compared to the option's own precision?"""
    if answers_equal(computed, option):
        return True
    numbers = _NUMBER_IN_TEXT.findall(option)
    return len(numbers) == 1 and as_number(computed) is not None and answers_equal(computed, numbers[0])


def applies(sample: Sample) -> bool:
    """Can the answer be checked by running code: a code item, or an item with a solution program?"""
    return sample.metadata.get("kind") == "code" or bool(sample.metadata.get("solution_code"))


async def check_executed(sample: Sample, *, limits: SandboxLimits | None = None) -> ExecutedOutcome:
    """Run the sample's code and say whether it confirms the gold answer; call only when `applies(sample)`."""
    limits = limits or SandboxLimits()
    if sample.metadata.get("kind") == "code":
        return await _check_code_item(sample, limits)
    result = await run_python(str(sample.metadata["solution_code"]), limits=limits)
    if not result.ok:
        return ExecutedOutcome(False, f"the solution code {result.summary()}")
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        return ExecutedOutcome(False, "the solution code printed nothing")
    computed = lines[-1]
    agrees = matches_option if sample.choices else answers_equal
    if not agrees(computed, sample.answer):
        return ExecutedOutcome(False, f"the solution code computes {computed[:60]!r}, not the gold answer {sample.answer[:60]!r}",
                               computed)
    if sample.choices and len(matching := [c for c in sample.choices if matches_option(computed, c)]) != 1:
        listed = ", ".join(repr(c[:40]) for c in matching)
        return ExecutedOutcome(False, f"the solution code computes {computed[:60]!r}, which matches {len(matching)} options "
                               f"({listed}): exactly one option must be correct", computed,
                               "several_correct")
    return ExecutedOutcome(True, "the solution code computes the gold answer" + (", and it matches exactly one option"
                                                                                    if sample.choices else ""), computed)


async def _check_code_item(sample: Sample, limits: SandboxLimits) -> ExecutedOutcome:
    entry, tests = str(sample.metadata.get("entry_point", "")), str(sample.metadata.get("tests", ""))
    if not re.fullmatch(r"[A-Za-z_]\w*", entry) or not tests.strip():
        return ExecutedOutcome(False, "the code item has no function name or no tests")
    reference = await run_python(f"{sample.answer}\n\n{tests}\n", limits=limits)
    if not reference.ok:
        return ExecutedOutcome(False, f"the reference solution fails its tests: it {reference.summary()}")
    stubs = [f"{sample.answer}\n\n\ndef {entry}(*args, **kwargs):\n    return {body}\n\n\n{tests}\n" for body in _STUBS.values()]
    runs = await asyncio.gather(*(run_python(code, limits=limits) for code in stubs))
    for label, run in zip(_STUBS, runs, strict=True):
        if run.ok:
            return ExecutedOutcome(False, f"the tests also pass a trivially wrong solution that {label}")
    return ExecutedOutcome(True, "the reference passes its tests and trivially wrong solutions fail them")
