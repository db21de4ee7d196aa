"""The planted-defect set for `bench/qc_catch.py`: sound items, and items with one known defect each.

Generated in code from a fixed seed, so every run measures the same items; each item carries its
ground truth (the true answer, its panel difficulty level, and what a minimal repair would be).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tools.contracts import SampleDraft, Subtask

ARITH = Subtask(id="arith", name="Shopping arithmetic", description="Multi-step arithmetic about purchases.",
                answer_format="multiple_choice", quota=40)
TOTALS = Subtask(id="totals", name="Totals", description="Numeric answers to multi-step word problems.",
                 answer_format="numeric", quota=40)
CAPITALS = Subtask(id="capitals", name="Capitals", description="Capital cities of countries.",
                   answer_format="multiple_choice", quota=20)
NAMING = Subtask(id="naming", name="Naming capitals", description="Name the capital of a country.",
                 answer_format="short_answer", quota=10)
CODE = Subtask(id="code", name="Small functions", description="Write a small Python function.",
               answer_format="short_answer", quota=20)
SUBTASKS = (ARITH, TOTALS, CAPITALS, NAMING, CODE)

DETERMINISTIC_KINDS = ("schema", "leakage", "numeric_off_by_one", "code_fails_tests", "weak_tests", "position_imbalance")
LLM_KINDS = ("wrong_answer", "several_correct", "missing_context", "saturated")


@dataclass
class Planted:
    kind: str  # "clean" or the defect planted
    subtask: Subtask
    draft: SampleDraft
    truth: str  # the true answer (for multiple choice, the text of the truly correct option)
    level: int = 1  # 0: every panel model solves it; higher: fewer do
    also_correct: list[str] = field(default_factory=list)  # options that are correct too (several_correct)
    replacement: str | None = None  # the minimal fix for a second correct option
    fixed_question: str | None = None  # the minimal fix for a leaked answer
    needs_context: bool = False


CAPITAL_OF = {"Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo", "Ghana": "Accra", "Chile": "Santiago",
              "Poland": "Warsaw", "Egypt": "Cairo", "Canada": "Ottawa", "Vietnam": "Hanoi", "Austria": "Vienna",
              "Greece": "Athens", "Cuba": "Havana"}
NAMES = ("Ada", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Keiko", "Luis", "Maya")

FUNCTIONS = [  # name, task, correct, buggy, good tests, weak tests
    ("is_even", "returns whether the integer n is even", "def is_even(n):\n    return n % 2 == 0",
     "def is_even(n):\n    return n % 2 == 1",
     "assert is_even(2)\nassert not is_even(3)\nassert is_even(0)\nassert not is_even(-7)",
     "assert is_even(4) in (True, False, None)"),
    ("square_sum", "returns the sum of the squares of the numbers in a list", "def square_sum(xs):\n    return sum(x * x for x in xs)",
     "def square_sum(xs):\n    return sum(xs) ** 2",
     "assert square_sum([1, 2, 3]) == 14\nassert square_sum([]) == 0\nassert square_sum([-2]) == 4",
     "assert square_sum([]) == square_sum([])"),
    ("count_vowels", "returns how many vowels (a, e, i, o, u) a lowercase string has",
     "def count_vowels(s):\n    return sum(c in 'aeiou' for c in s)",
     "def count_vowels(s):\n    return sum(c in 'aeio' for c in s)",
     "assert count_vowels('banana') == 3\nassert count_vowels('sky') == 0\nassert count_vowels('queue') == 4",
     "assert isinstance(count_vowels('x'), int) or count_vowels('x') is None"),
    ("reverse_words", "returns the words of a sentence in reverse order, joined by single spaces",
     "def reverse_words(s):\n    return ' '.join(reversed(s.split()))",
     "def reverse_words(s):\n    return ' '.join(s.split())",
     "assert reverse_words('a b c') == 'c b a'\nassert reverse_words('one') == 'one'\nassert reverse_words('x  y') == 'y x'",
     "reverse_words('a b')"),
    ("factorial", "returns n! for a non-negative integer n",
     "def factorial(n):\n    result = 1\n    for k in range(2, n + 1):\n        result *= k\n    return result",
     "def factorial(n):\n    result = 1\n    for k in range(2, n):\n        result *= k\n    return result",
     "assert factorial(0) == 1\nassert factorial(5) == 120\nassert factorial(3) == 6",
     "assert factorial(1) == factorial(1)"),
    ("second_largest", "returns the second largest distinct number of a list with at least two distinct numbers",
     "def second_largest(xs):\n    return sorted(set(xs))[-2]",
     "def second_largest(xs):\n    return sorted(xs)[-2]",
     "assert second_largest([3, 1, 2]) == 2\nassert second_largest([5, 5, 4]) == 4\nassert second_largest([-1, -3]) == -3",
     "assert second_largest([1, 2]) != 'x'"),
]


def _arith(rng: random.Random) -> tuple[str, int, str]:
    name, kind = rng.choice(NAMES), rng.randrange(4)
    if kind == 0:
        q, p = rng.randint(3, 19), rng.randint(2, 40)
        bill = (q * p // 50 + 1 + rng.randint(0, 2)) * 50
        return (f"{name} buys {q} notebooks at ${p} each and pays with ${bill}. How many dollars of change does "
                f"{name} get?", bill - q * p, f"print({bill} - {q} * {p})")
    if kind == 1:
        trays, per = rng.randint(3, 30), rng.randint(6, 24)
        sold = rng.randint(1, trays * per - 1)
        return (f"A bakery bakes {trays} trays of {per} rolls and sells {sold} rolls. How many rolls are left?",
                trays * per - sold, f"print({trays} * {per} - {sold})")
    if kind == 2:
        per, weeks = rng.randint(5, 90), rng.randint(3, 40)
        spent = rng.randint(1, per * weeks - 1)
        return (f"{name} saves ${per} a week for {weeks} weeks, then spends ${spent}. How many dollars are left?",
                per * weeks - spent, f"print({per} * {weeks} - {spent})")
    speed, hours, stop = rng.randint(20, 120), rng.randint(2, 9), rng.randint(1, 30)
    return (f"A train runs at {speed} km/h for {hours} hours, then {stop} km more. How many km does it cover in all?",
            speed * hours + stop, f"print({speed} * {hours} + {stop})")


def _options(rng: random.Random, value: int) -> list[str]:
    options = [str(value), str(value + 1), str(value - 2), str(value + 10)]
    rng.shuffle(options)
    return options


def planted_items(seed: int = 7) -> list[Planted]:
    """The whole per-item set: sound items, then each per-item defect kind."""
    rng = random.Random(seed)
    items: list[Planted] = []
    for _ in range(8):  # sound multiple choice, with solution code
        q, v, code = _arith(rng)
        items.append(Planted("clean", ARITH, SampleDraft(question=q, choices=_options(rng, v), answer=str(v),
                                                         solution_code=code), str(v), level=rng.randint(1, 3)))
    for _ in range(6):  # sound numeric, with solution code
        q, v, code = _arith(rng)
        items.append(Planted("clean", TOTALS, SampleDraft(question=q, answer=str(v), solution_code=code), str(v),
                             level=rng.randint(1, 3)))
    countries = sorted(CAPITAL_OF)
    for country in countries[:4]:  # sound multiple choice, text options
        capital = CAPITAL_OF[country]
        others = [CAPITAL_OF[c] for c in countries if c != country][:3]
        items.append(Planted("clean", CAPITALS, SampleDraft(question=f"Which city is the capital of {country}?",
                                                            choices=[capital, *others], answer=capital), capital, level=2))
    for name, task, correct, _, tests, _ in FUNCTIONS:  # sound code items
        items.append(Planted("clean", CODE, SampleDraft(question=f"Write a Python function {name} that {task}.",
                                                        answer=name, solution_code=correct, tests=tests), correct, level=2))
    items += _schema_defects()
    items += _leaks(rng, countries)
    for i in range(8):  # the gold answer is one off what the solution code computes
        q, v, code = _arith(rng)
        gold = v + (1 if i % 2 else -1)
        if i < 4:
            draft = SampleDraft(question=q, answer=str(gold), solution_code=code)
            items.append(Planted("numeric_off_by_one", TOTALS, draft, str(v)))
        else:
            choices = [str(gold), str(v), str(v + 10), str(v - 10)]
            items.append(Planted("numeric_off_by_one", ARITH, SampleDraft(question=q, choices=choices, answer=str(gold),
                                                                          solution_code=code), str(v)))
    for name, task, correct, buggy, tests, weak in FUNCTIONS:
        question = f"Implement {name} in Python: a function that {task}."
        items.append(Planted("code_fails_tests", CODE, SampleDraft(question=question, answer=name, solution_code=buggy,
                                                                   tests=tests), correct))
        items.append(Planted("weak_tests", CODE, SampleDraft(question=question + " Keep it short.", answer=name,
                                                             solution_code=correct, tests=weak), correct))
    items += _model_defects(rng, countries)
    return items


def _schema_defects() -> list[Planted]:
    bad = [
        (ARITH, SampleDraft(question="What is 12 times 12, in units?", choices=["124", "142", "140", "146"], answer="144")),
        (ARITH, SampleDraft(question="What is 9 times 8, in units?", choices=["72", "72 ", "81", "64"], answer="72")),
        (ARITH, SampleDraft(question="What is 7 times 6, in units?", choices=["42", "36"], answer="42")),
        (TOTALS, SampleDraft(question="How many legs do 10 spiders have?", answer="eighty")),
        (TOTALS, SampleDraft(question="How many days are in 3 weeks?", choices=["21", "20", "22"], answer="21")),
        (CODE, SampleDraft(question="Write a function double(n) returning 2n.", answer="double", tests="assert double(2) == 4")),
        (CODE, SampleDraft(question="Write a function triple(n) returning 3n.", answer="triple",
                           solution_code="def thrice(n):\n    return 3 * n", tests="assert triple(2) == 6")),
        (TOTALS, SampleDraft(question="Why?", answer="3")),
    ]
    return [Planted("schema", subtask, draft, draft.answer) for subtask, draft in bad]


def _leaks(rng: random.Random, countries: list[str]) -> list[Planted]:
    items = []
    for i in range(4):
        q, v, code = _arith(rng)
        hint = (f" (The answer is {v}.)", f" Note: the result = {v}.", f" Hint: the answer would be {v}.",
                f" The correct option is {v}.")[i]
        subtask = ARITH if i == 3 else TOTALS
        draft = SampleDraft(question=q + hint, answer=str(v), solution_code=code,
                            choices=_options(rng, v) if subtask is ARITH else None)
        items.append(Planted("leakage", subtask, draft, str(v), fixed_question=q))
    for country in countries[4:6]:
        capital, others = CAPITAL_OF[country], [CAPITAL_OF[c] for c in countries if c != country][:3]
        clean = f"Which city is the capital of {country}?"
        draft = SampleDraft(question=f"Which city, {capital} by name, is the capital of {country}?", choices=[capital, *others],
                            answer=capital)
        items.append(Planted("leakage", CAPITALS, draft, capital, fixed_question=clean))
    for country in countries[6:8]:
        capital = CAPITAL_OF[country]
        draft = SampleDraft(question=f"{capital} is the capital of {country}. What is the capital of {country}?", answer=capital)
        items.append(Planted("leakage", NAMING, draft, capital, fixed_question=f"What is the capital of {country}?"))
    return items


def _model_defects(rng: random.Random, countries: list[str]) -> list[Planted]:
    items = []
    for i in range(8):  # wrong gold answers, with no solution code to give them away
        if i < 3:
            q, v, _ = _arith(rng)
            options = _options(rng, v)
            items.append(Planted("wrong_answer", ARITH, SampleDraft(question=q, choices=options, answer=str(v + 10)), str(v)))
        elif i < 6:
            q, v, _ = _arith(rng)
            items.append(Planted("wrong_answer", TOTALS, SampleDraft(question=q, answer=str(v + 3)), str(v)))
        else:
            country = countries[i + 2]
            capital, others = CAPITAL_OF[country], [CAPITAL_OF[c] for c in countries if c != country][:3]
            draft = SampleDraft(question=f"What is the capital city of {country}?", choices=[capital, *others], answer=others[0])
            items.append(Planted("wrong_answer", CAPITALS, draft, capital))
    for box in (4, 5, 6, 7, 8, 9):  # two correct options
        question = f"Pens come only in full boxes of {box}. Which of these could be the number of pens a class bought?"
        gold, second, wrong = 2 * box, 3 * box, [2 * box + 1, 3 * box - 1]
        choices = [str(gold), str(second), *map(str, wrong)]
        items.append(Planted("several_correct", ARITH, SampleDraft(question=question, choices=choices, answer=str(gold)),
                             str(gold), also_correct=[str(second)], replacement=str(3 * box + 1)))
    for day, count in (("Tuesday", 42), ("Friday", 17), ("Sunday", 230), ("Monday", 95)):
        question = f"According to the table above, how many visitors came to the museum on {day}?"
        items.append(Planted("missing_context", TOTALS, SampleDraft(question=question, answer=str(count)), str(count),
                             needs_context=True))
    for a, b in ((2, 3), (4, 4), (10, 5), (1, 1), (6, 3), (9, 1)):  # trivially easy: every panel model solves them
        question = f"What is {a} + {b}, counted as a whole number of apples?"
        items.append(Planted("saturated", TOTALS, SampleDraft(question=question, answer=str(a + b),
                                                              solution_code=f"print({a} + {b})"), str(a + b), level=0))
    return items
