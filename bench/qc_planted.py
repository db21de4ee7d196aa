"""The planted-defect set for `bench/qc_catch.py`: sound items, and items with one known defect each.

Each defect kind is written from a description of the defect (`DEFECTS`), the way a careless author or
generator would make it, not from the patterns a check looks for: a hint is phrased as an aside, a tip or a
spoiler in words no check has been told about; an answer is restated as a number in words or the city's name
in its own language; a second correct option is a synonym. Whether a check catches them is what the bench
measures. Generated in code from a fixed seed, so every run measures the same items; each item carries its
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

DEFECTS = {
    "schema": "a draft the format rules refuse: an answer that is not among the options, two equal options, too few "
              "options, a numeric answer in words, code without its reference solution, a question of one word",
    "hint_in_new_words": "the stem gives the answer away in an aside, a tip or a spoiler, in the author's own words",
    "answer_restated": "the stem restates the answer in other words: the number spelled out, the city named in its "
                       "own language",
    "synonym_option": "a second option is also correct: the same number written another way, or another name of the "
                      "same city",
    "wrong_gold_with_program": "the gold answer is wrong (a slip of one, swapped digits, a forgotten step) while the "
                               "item's own solution program computes the right one",
    "code_fails_tests": "the reference solution has a bug that its own unit tests expose",
    "weak_tests": "the unit tests pass whatever the function does",
    "duplicate_reworded": "an earlier item asked again in other words, with the same answer",
    "wrong_gold": "the gold answer is wrong and no program comes with the item to give it away",
    "missing_context": "the question refers to a table that is not given",
    "saturated": "so easy that every model of the panel solves it",
    "position_imbalance": "multiple choice whose correct option is always the first",
}
# The kinds a check without a model (schema, leakage, executed answers, duplicates) is meant to catch.
DETERMINISTIC_KINDS = ("schema", "hint_in_new_words", "answer_restated", "synonym_option", "wrong_gold_with_program",
                       "code_fails_tests", "weak_tests", "duplicate_reworded", "position_imbalance")
MODEL_KINDS = ("wrong_gold", "synonym_option", "hint_in_new_words", "answer_restated", "missing_context", "saturated")


@dataclass
class Planted:
    kind: str  # "clean" or the defect planted
    subtask: Subtask
    draft: SampleDraft
    truth: str  # the true answer (for multiple choice, the text of the truly correct option)
    level: int = 1  # 0: every panel model solves it; higher: fewer do
    also_correct: list[str] = field(default_factory=list)  # options that are correct too (synonym_option)
    replacement: str | None = None  # the minimal fix for a second correct option
    fixed_question: str | None = None  # the minimal fix for a leaked answer
    needs_context: bool = False
    repeats: int | None = None  # duplicate_reworded: the index of the item it repeats


CAPITAL_OF = {"Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo", "Ghana": "Accra", "Chile": "Santiago",
              "Poland": "Warsaw", "Egypt": "Cairo", "Canada": "Ottawa", "Vietnam": "Hanoi", "Austria": "Vienna",
              "Greece": "Athens", "Cuba": "Havana", "Italy": "Rome", "Portugal": "Lisbon", "Romania": "Bucharest",
              "Belgium": "Brussels", "Czechia": "Prague", "Denmark": "Copenhagen", "China": "Beijing", "Ukraine": "Kyiv"}
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
        items.append(Planted("clean", CAPITALS, SampleDraft(question=f"Which city is the capital of {country}?",
                                                            choices=[capital, *_others(country, 3)], answer=capital),
                             capital, level=2))
    for name, task, correct, _, tests, _ in FUNCTIONS:  # sound code items
        items.append(Planted("clean", CODE, SampleDraft(question=f"Write a Python function {name} that {task}.",
                                                        answer=name, solution_code=correct, tests=tests), correct, level=2))
    items += _schema_defects()
    items += _hints(rng, countries)
    items += _restated(rng)
    items += _synonym_options(rng)
    items += _wrong_gold_with_program(rng)
    for name, task, correct, buggy, tests, weak in FUNCTIONS:
        question = f"Implement {name} in Python: a function that {task}."
        items.append(Planted("code_fails_tests", CODE, SampleDraft(question=question, answer=name, solution_code=buggy,
                                                                   tests=tests), correct))
        items.append(Planted("weak_tests", CODE, SampleDraft(question=question + " Keep it short.", answer=name,
                                                             solution_code=correct, tests=weak), correct))
    items += _reworded(items)
    items += _model_defects(rng, countries)
    return items


def _others(country: str, count: int) -> list[str]:
    return [CAPITAL_OF[c] for c in sorted(CAPITAL_OF) if c != country][:count]


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


def _hints(rng: random.Random, countries: list[str]) -> list[Planted]:
    """Asides an author might leave in: none of them says "the answer is"."""
    asides = ("(Psst: it's {v}.)", "Spoiler: you will end up with {v}.", "Most people get {v} on this one.",
              "The receipt in the bag already reads {v}.", "Tip: work backwards from {v}.", "({v}, if you are in a hurry.)")
    items = []
    for i, aside in enumerate(asides):
        q, v, code = _arith(rng)
        subtask = ARITH if i % 2 else TOTALS
        draft = SampleDraft(question=f"{q} {aside.format(v=v)}", answer=str(v), solution_code=code,
                            choices=_options(rng, v) if subtask is ARITH else None)
        items.append(Planted("hint_in_new_words", subtask, draft, str(v), fixed_question=q))
    for country, aside in zip(countries[4:8], ("(Tip: think of {c}.)", "Locals would say {c} without a pause.",
                                               "Hint — it starts like {c}.", "{c} fans, this one is for you."), strict=True):
        capital = CAPITAL_OF[country]
        clean = f"What is the capital of {country}?"
        items.append(Planted("hint_in_new_words", NAMING, SampleDraft(question=f"{clean} {aside.format(c=capital)}",
                                                                      answer=capital), capital, fixed_question=clean))
    return items


_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def in_words(n: int) -> str:
    """0 <= n < 1000 in English words."""
    if n < 20:
        return _WORDS[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _WORDS[n % 10])
    rest = n % 100
    return f"{_WORDS[n // 100]} hundred" + ("" if rest == 0 else " and " + in_words(rest))


NATIVE = {"Italy": "Roma", "Poland": "Warszawa", "Portugal": "Lisboa", "Romania": "București"}  # the city's own name
SYNONYM = {"Vietnam": "Hà Nội", "Ukraine": "Kiev", "Norway": "Christiania", "Greece": "Athína"}  # another name of it


def _restated(rng: random.Random) -> list[Planted]:
    items: list[Planted] = []
    while len(items) < 4:
        q, v, code = _arith(rng)
        if not 0 < v < 1000:
            continue
        lead, _, ask = q.rpartition(". ")
        question = f"{lead} (that makes {in_words(v)} in all). {ask}"
        items.append(Planted("answer_restated", TOTALS, SampleDraft(question=question, answer=str(v), solution_code=code),
                             str(v), fixed_question=q))
    for country in NATIVE:
        capital = CAPITAL_OF[country]
        clean = f"Which city is the capital of {country}?"
        question = f"Which city, called {NATIVE[country]} by the people who live there, is the capital of {country}?"
        items.append(Planted("answer_restated", CAPITALS, SampleDraft(question=question, choices=[capital, *_others(country, 3)],
                                                                      answer=capital), capital, fixed_question=clean))
    return items


def _synonym_options(rng: random.Random) -> list[Planted]:
    items = []
    for country, synonym in SYNONYM.items():  # another name of the same city, no program
        capital = CAPITAL_OF[country]
        choices = [capital, synonym, *_others(country, 2)]
        items.append(Planted("synonym_option", CAPITALS, SampleDraft(question=f"Which is the capital city of {country}?",
                                                                     choices=choices, answer=capital), capital,
                             also_correct=[synonym], replacement=_others(country, 3)[2]))
    for i in range(4):  # the same number written another way, with the program that computes it
        q, v, code = _arith(rng)
        same = (f"{v}.0", f"{v:,}" if v >= 1000 else f"{v}.00", f"{2 * v}/2", f"+{v}")[i]
        choices = [str(v), same, str(v + 7), str(v - 3)]
        items.append(Planted("synonym_option", ARITH, SampleDraft(question=q, choices=choices, answer=str(v), solution_code=code),
                             str(v), also_correct=[same], replacement=str(v + 11)))
    return items


def _wrong_gold_with_program(rng: random.Random) -> list[Planted]:
    """Slips a tired author makes: one off, two digits swapped, a step left out, the step done twice."""
    items: list[Planted] = []
    while len(items) < 8:
        q, v, code = _arith(rng)
        slip = len(items) % 4
        gold = (v + 1, int(str(v)[::-1]) if v > 9 else v + 10, v + rng.randint(2, 9) * 10, 2 * v)[slip]
        if gold == v or gold <= 0:
            continue
        if len(items) < 4:
            items.append(Planted("wrong_gold_with_program", TOTALS, SampleDraft(question=q, answer=str(gold),
                                                                                solution_code=code), str(v)))
        else:
            choices = [str(gold), str(v), str(v + 13), str(abs(v - 13) + 1)]
            if len(set(choices)) == 4:
                items.append(Planted("wrong_gold_with_program", ARITH, SampleDraft(
                    question=q, choices=choices, answer=str(gold), solution_code=code), str(v)))
    return items


def _reworded(items: list[Planted]) -> list[Planted]:
    """Sound items asked again in other words: same numbers, same entities, same answer."""
    rewordings = []
    capitals = [(n, p) for n, p in enumerate(items) if p.kind == "clean" and p.subtask is CAPITALS][:3]
    for n, p in capitals:
        country = p.draft.question.removeprefix("Which city is the capital of ").rstrip("?")
        draft = p.draft.model_copy(update={"question": f"{country}'s capital is which of these cities?"})
        rewordings.append(Planted("duplicate_reworded", CAPITALS, draft, p.truth, repeats=n))
    functions = [(n, p) for n, p in enumerate(items) if p.kind == "clean" and p.subtask is CODE][:3]
    for n, p in functions:
        name = p.draft.answer
        task = p.draft.question.split(" that ", 1)[1].rstrip(".")
        draft = p.draft.model_copy(update={"question": f"In Python, define {name}, which {task}."})
        rewordings.append(Planted("duplicate_reworded", CODE, draft, p.truth, repeats=n))
    return rewordings


def _model_defects(rng: random.Random, countries: list[str]) -> list[Planted]:
    items = []
    for i in range(8):  # wrong gold answers, with no solution code to give them away
        if i < 3:
            q, v, _ = _arith(rng)
            options = _options(rng, v)
            items.append(Planted("wrong_gold", ARITH, SampleDraft(question=q, choices=options, answer=str(v + 10)), str(v)))
        elif i < 6:
            q, v, _ = _arith(rng)
            items.append(Planted("wrong_gold", TOTALS, SampleDraft(question=q, answer=str(v + 3)), str(v)))
        else:
            country = countries[i + 2]
            capital, others = CAPITAL_OF[country], _others(country, 3)
            draft = SampleDraft(question=f"What is the capital city of {country}?", choices=[capital, *others], answer=others[0])
            items.append(Planted("wrong_gold", CAPITALS, draft, capital))
    for day, count in (("Tuesday", 42), ("Friday", 17), ("Sunday", 230), ("Monday", 95)):
        question = f"According to the table above, how many visitors came to the museum on {day}?"
        items.append(Planted("missing_context", TOTALS, SampleDraft(question=question, answer=str(count)), str(count),
                             needs_context=True))
    for a, b in ((2, 3), (4, 4), (10, 5), (1, 1), (6, 3), (9, 1)):  # trivially easy: every panel model solves them
        question = f"What is {a} + {b}, counted as a whole number of apples?"
        items.append(Planted("saturated", TOTALS, SampleDraft(question=question, answer=str(a + b),
                                                              solution_code=f"print({a} + {b})"), str(a + b), level=0))
    return items
