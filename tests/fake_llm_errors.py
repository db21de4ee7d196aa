"""Settable mistakes for the fake LLM, so that every quality-control path can be driven end to end over HTTP.

The generator can write a wrong gold answer (`wrong_key`: its solution program, if any, still computes the true
one), a wrong solution program (`wrong_program`: the gold answer is right, the program prints another value), no
solution program at all (`missing_program`) and,
for multiple choice, a second correct option (`second_correct`: a distractor that holds the true value among words,
"12 in all" beside "12", which the format check does not read as a value and the executed check and the inspector
do; "12.0" beside "12" would be dropped by the format check before either ran). The inspector can flag a sound item (a repairable `ambiguous`, a false
`wrong_answer`, or a `self_contradicting` wrong-answer verdict whose own value is the gold answer) and pass a
flawed one; the solver can answer wrongly; the judge can rule an adjudication, or flip a single verdict, the wrong
way round, and a ruling against a right gold answer can name that very answer as its own (`self_contradicting`).

Each mistake is drawn on its own from a hash of the seed, the mistake and the question, so roles err
independently of each other, and the same question meets the same mistake on every request (a resumed build sees
what the first run saw). The fake remembers every item's true answer (`ContentState.answers`), whatever gold answer
it wrote, so a role that does not err knows the truth. `ContentState.made` counts the mistakes made, by
"role:kind", for tests and benches to compare with what the checks caught.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fake_llm_content import ContentState

INSPECTOR_MISTAKES: tuple[str, ...] = ("ambiguous", "wrong_answer", "self_contradicting")
JUDGE_MISTAKES: tuple[str, ...] = ("wrong_ruling", "self_contradicting")
_REPAIRABLE = ("ambiguous", "several_correct", "answer_leaked", "schema", "wrong_answer_type", "unanswerable")


@dataclass(frozen=True)
class ErrorRates:
    """How often each role of the fake errs (0 never, 1 always); every rate 0 is the fake as it always was."""

    wrong_key: float = 0.0  # generator: a wrong gold answer; a solution program still computes the true one
    wrong_program: float = 0.0  # generator: the right gold answer with a program that prints another value
    missing_program: float = 0.0  # generator: a computed answer without its solution program
    second_correct: float = 0.0  # generator, multiple choice with numbers: a distractor equal in value to the answer
    inspector: float = 0.0  # inspector: a sound item flagged with one of `inspector_kinds`, a flawed one passed
    inspector_kinds: tuple[str, ...] = INSPECTOR_MISTAKES
    solver: float = 0.0  # solver: a wrong answer
    judge: float = 0.0  # judge: an adjudication or a single verdict the wrong way round
    judge_kinds: tuple[str, ...] = JUDGE_MISTAKES  # how a ruling against a right gold answer names its own answer

    def __post_init__(self) -> None:
        for name in ("wrong_key", "wrong_program", "missing_program", "second_correct", "inspector", "solver", "judge"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"error rate {name} must be between 0 and 1, got {getattr(self, name)}")
        unknown = set(self.inspector_kinds) - set(INSPECTOR_MISTAKES)
        if unknown or not self.inspector_kinds:
            raise ValueError(f"inspector mistakes must be some of {INSPECTOR_MISTAKES}, got {self.inspector_kinds}")
        if set(self.judge_kinds) - set(JUDGE_MISTAKES) or not self.judge_kinds:
            raise ValueError(f"judge mistakes must be some of {JUDGE_MISTAKES}, got {self.judge_kinds}")


def errs(seed: int, mistake: str, question: str, rate: float) -> bool:
    """Whether a fake with `seed` makes `mistake` ('role:kind') on `question` at `rate`: the same every time."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{seed}|{mistake}|{question.strip()}".encode()).hexdigest()
    return int(digest[:12], 16) / float(16**12) < rate


def draw(state: ContentState, mistake: str, question: str, rate: float) -> bool:
    """Does the fake make `mistake` on `question`? Counted in `state.made` when it does."""
    if not errs(state.seed, mistake, question, rate):
        return False
    with state.lock:
        state.made[mistake] += 1
    return True


def _pick(question: str, salt: str, options: list[Any]) -> Any:
    return options[int(hashlib.sha256(f"{salt}|{question}".encode()).hexdigest()[:8], 16) % len(options)]


def number(text: str) -> Fraction | None:
    try:
        return Fraction(text.strip().replace(",", "").rstrip("."))
    except (ValueError, ZeroDivisionError):
        return None


def same_value(a: str, b: str) -> bool:
    x, y = number(a), number(b)
    return x == y if x is not None and y is not None else a.strip().casefold() == b.strip().casefold()


def says_value(option: str, truth: str) -> bool:
    """The option is the value, or holds it as its one number ("12 in all")."""
    numbers = re.findall(r"-?\d[\d,]*(?:\.\d+)?", option)
    return same_value(option, truth) or (len(numbers) == 1 and same_value(numbers[0], truth))


def wrong_value(truth: str, question: str) -> str:
    """A plausible wrong answer to an item whose true answer is `truth`."""
    value = number(truth)
    if value is not None and value.denominator == 1:
        return str(int(value) + _pick(question, "off", [1, -1, 2, 10]))
    if truth in ("Yes", "No"):
        return "No" if truth == "Yes" else "Yes"
    from tests.fake_llm_content import CAPITALS, SYMBOLS

    for table in (CAPITALS, SYMBOLS):
        if truth in table.values():
            return _pick(question, "other", sorted(set(table.values()) - {truth}))
    return f"not {truth}"


def program(value: str, rationale: str = "") -> str:
    return f"# {rationale}\nanswer = {value}\nprint(answer)\n" if rationale else f"answer = {value}\nprint(answer)\n"


def slipped(code: str, off: int) -> str:
    """`code` with a slip in its last step: it prints its result off by `off`."""
    lines = code.rstrip("\n").splitlines()
    printed = re.fullmatch(r"print\((\w+)\)", lines[-1].strip())
    lines[-1] = f"print({printed.group(1)} + {off})" if printed else f"print({off} + 0)"
    return "\n".join(lines) + "\n"


# --- the generator ------------------------------------------------------------------------------------


def generator_mistakes(item: dict[str, Any], answer_format: str, state: ContentState) -> dict[str, Any]:
    """`item` (a correct draft, its true answer already remembered) with the generator's drawn mistakes."""
    rates, question, truth = state.errors, item["question"], item["answer"]
    if draw(state, "generator:wrong_key", question, rates.wrong_key):
        if answer_format == "multiple_choice":
            item["answer"] = _pick(question, "key", [c for c in item["choices"] if c != truth])
        else:
            item["answer"] = wrong_value(truth, question)
    elif item.get("solution_code") and number(truth) is not None and draw(state, "generator:wrong_program", question,
                                                                         rates.wrong_program):
        item["solution_code"] = slipped(item["solution_code"], _pick(question, "slip", [1, -1, 2, 10]))
    if item.get("solution_code") and draw(state, "generator:missing_program", question, rates.missing_program):
        del item["solution_code"]
    if (answer_format == "multiple_choice" and number(truth) is not None and "." not in truth
            and draw(state, "generator:second_correct", question, rates.second_correct)):
        others = [c for c in item["choices"] if c not in (truth, item["answer"])]
        if others:
            item["choices"] = [f"{truth} in all" if c == others[0] else c for c in item["choices"]]
    return item


# --- the inspector --------------------------------------------------------------------------------------


def true_issues(gold: str, truth: str | None, choices: list[str]) -> list[dict[str, Any]]:
    """What a careful inspector finds: a wrong gold answer, or an option besides the gold one that is also right."""
    if truth is None:
        return []
    if not same_value(truth, gold):
        return [{"kind": "wrong_answer", "detail": f"the correct answer is {truth}"[:200], "computed": truth}]
    twins = [c for c in choices if c != gold and says_value(c, truth)]
    if twins:
        return [{"kind": "several_correct", "detail": f"options {gold!r} and {twins[0]!r} are both correct"[:200]}]
    return []


def inspector_verdict(question: str, gold: str, truth: str | None, choices: list[str],
                      state: ContentState) -> list[dict[str, Any]]:
    """The inspector's issues with one item: the true ones, unless it errs (a flaw missed, a sound item flagged)."""
    found = true_issues(gold, truth, choices)
    if truth is None or not draw(state, "inspector:" + ("missed" if found else "flagged"), question,
                                 state.errors.inspector):
        return found
    if found:
        return []  # the flaw goes unseen
    kind = _pick(question, "kind", list(state.errors.inspector_kinds))
    with state.lock:
        state.made[f"inspector:{kind}"] += 1
    if kind == "ambiguous":
        return [{"kind": "ambiguous", "detail": "the question can be read in more than one way"}]
    if kind == "wrong_answer":
        wrong = wrong_value(gold, question)
        return [{"kind": "wrong_answer", "detail": f"the correct answer is {wrong}", "computed": wrong}]
    # As a small real model wrote it: "the gold answer '2' does not match the calculated value of 2".
    own = {"computed": gold} if number(gold) is None else {}
    return [{"kind": "wrong_answer", "detail": f"the gold answer {gold!r} does not match the calculated value of {gold}",
             **own}]


# --- repair, solver, judge ---------------------------------------------------------------------------------


def repaired(keys: dict[str, str], choices: list[str], state: ContentState) -> dict[str, Any]:
    """A minimal repair for the listed issues: a second correct option replaced, else the question made precise."""
    issues = [kind for kind in _REPAIRABLE if kind in keys]
    question, gold = keys.get("question", "").strip(), keys.get("gold answer", "").strip()
    truth = state.answers.get(question)
    if not issues or not question or truth is None:
        return {"feasible": False, "explanation": "no minimal edit fixes it while keeping the gold answer"}
    if "several_correct" in issues and choices:
        fresh = [wrong_value(truth, f"{question}|{n}") for n in range(8)]
        fresh = [f for f in dict.fromkeys(fresh) if not any(same_value(f, c) for c in choices)]
        if len(fresh) < sum(1 for c in choices if c != gold and says_value(c, truth)):
            return {"feasible": False, "explanation": "no other distractor comes to mind"}
        fixed = [c if c == gold or not says_value(c, truth) else fresh.pop(0) for c in choices]
        return {"feasible": True, "choices": fixed, "explanation": "replaced the option equal to the answer"}
    new = f"{question} Give the final answer only."
    state.remember(new, truth)
    return {"feasible": True, "question": new, "explanation": "asked for the final answer only"}


def solver_mistake(question: str, truth: str, lettered: list[tuple[str, str]], state: ContentState) -> str | None:
    """A wrong answer the solver gives instead of the true one, or None when it does not err on `question`."""
    if not draw(state, "solver:wrong_answer", question, state.errors.solver):
        return None
    if lettered:
        wrong = [label for label, text in lettered if not same_value(text, truth)]
        return _pick(question, "letter", wrong) if wrong else None
    return wrong_value(truth, question)


def judge_errs(question: str, state: ContentState, what: str) -> bool:
    return draw(state, f"judge:{what}", question, state.errors.judge)


def wrong_ruling(question: str, gold: str, solver_said: str, state: ContentState) -> dict[str, Any]:
    """An adjudication against a right gold answer: naming the solver's answer as right, or (`self_contradicting`)
    naming the gold answer itself as the one it computed."""
    kind = _pick(question, "ruling", list(state.errors.judge_kinds))
    with state.lock:
        state.made[f"judge:{kind}"] += 1
    if kind == "self_contradicting":
        return {"reasoning": f"I computed {gold}, so the gold answer looks wrong.", "answer": gold[:100],
                "decision": "solver_correct"}
    return {"reasoning": "The solver's answer looks right to me.", "answer": solver_said[:100] or None,
            "decision": "solver_correct"}


_LETTERED = re.compile(r"^\s*([A-J])\) (.*)$")


def lettered_choices(raw: str | None) -> list[tuple[str, str]]:
    """The solver prompt's options ('A) 12 | B) 13'), as (letter, text) pairs."""
    pairs = [_LETTERED.match(part) for part in (raw or "").split(" | ")]
    return [(m.group(1), m.group(2).strip()) for m in pairs if m]
