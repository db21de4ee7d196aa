from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tools.qc_fixtures import CODE, MC, NUM, make
from tools.contracts import Subtask
from tools.qc.leakage import find_leak

SHORT = Subtask(id="short", name="Capitals", description="d", answer_format="short_answer", quota=1)
YES_NO = Subtask(id="yn", name="Checks", description="d", answer_format="yes_no", quota=1)


@pytest.mark.parametrize(("subtask", "draft"), [
    (NUM, {"question": "What is 17 + 25? The answer is 42.", "answer": "42"}),
    (NUM, {"question": "Add 1,000 and 500; the result is 1,500. What is the sum?", "answer": "1500"}),
    (NUM, {"question": "Compute 6 x 7 (hint: answer = 42).", "answer": "42"}),
    (NUM, {"question": "Given that 6 x 7 = 42, what is six times seven?", "answer": "42"}),
    (SHORT, {"question": "The capital of Kenya is Nairobi. What is the capital of Kenya?", "answer": "Nairobi"}),
    (MC, {"question": "Which city is the capital of Kenya, namely Nairobi?", "choices": ["Nairobi", "Mombasa", "Kisumu", "Nakuru"], "answer": "Nairobi"}),
    (MC, {"question": "What is 6 x 7? The correct option is 42.", "choices": ["42", "41", "48", "36"], "answer": "42"}),
])
def test_an_answer_given_away_by_the_stem_is_found(subtask: Subtask, draft: dict[str, object]) -> None:
    assert find_leak(make(subtask, **draft)) is not None


@pytest.mark.parametrize(("subtask", "draft"), [
    (NUM, {"question": "A box holds 42 pens; 42 more arrive and none leave. How many boxes of 84 are there now?", "answer": "1"}),
    (NUM, {"question": "A crate holds 1,500 pens and the answer sheet says nothing. How many crates for 1,500 pens?", "answer": "1"}),
    (MC, {"question": "Nairobi is the capital of which country?", "choices": ["Kenya", "Uganda", "Tanzania", "Ethiopia"], "answer": "Kenya"}),
    (NUM, {"question": "Ada is 7 and Bo is twice her age plus 7. How old is Ada in years?", "answer": "7"}),
    (SHORT, {"question": "Which river is longer, the Nile or the Amazon?", "answer": "Nile"}),
    (SHORT, {"question": "Which word is the odd one out: apple, pear, carrot, plum?", "answer": "carrot"}),
    (MC, {"question": "Which of these numbers is 6 x 7?", "choices": ["42", "41", "48", "36"], "answer": "42"}),
    (MC, {"question": "Is Paris or Lyon the capital of France?", "choices": ["Paris", "Lyon", "Nice", "Lille"], "answer": "Paris"}),
    (YES_NO, {"question": "Is the answer to 6 x 7 equal to 42? Answer Yes or No.", "answer": "Yes"}),
    (CODE, {"question": "Write is_even(n).", "answer": "is_even", "solution_code": "def is_even(n):\n    return n % 2 == 0", "tests": "assert is_even(2)"}),
])
def test_answers_that_appear_legitimately_are_not_flagged(subtask: Subtask, draft: dict[str, object]) -> None:
    assert find_leak(make(subtask, **draft)) is None


@pytest.mark.parametrize(("subtask", "draft"), [
    (NUM, {"question": "A florist ties 6 bunches of 9 roses. How many roses does she tie? (Fifty-four, by my count.)", "answer": "54"}),
    (NUM, {"question": "A ferry makes 7 trips of 40 km. How many km does it sail? Everyone in the office got 280.", "answer": "280"}),
    (NUM, {"question": "A tiler lays 3 rows of 17 tiles - 51 of them - in a kitchen. How many tiles does he lay?", "answer": "51"}),
    (NUM, {"question": "A crate holds 20 pears and a grocer buys 11 crates, two hundred and twenty pears. How many pears?", "answer": "220"}),
    (MC, {"question": "A clock chimes 4 times an hour for 6 hours. How many chimes? [24, if you trust the manual]", "choices": ["24", "10", "20", "28"], "answer": "24"}),
    (SHORT, {"question": "Which bird cannot fly and lives in Antarctica? (Between us: a penguin.)", "answer": "penguin"}),
    (SHORT, {"question": "Which Czech city is known as Praha? The Vltava flows through Praha.", "answer": "Praha"}),
    (MC, {"question": "Which city lies on the Vltava, Brno or another one? (It is Praha, of course.)", "choices": ["Praha", "Plzen", "Brno", "Ostrava"], "answer": "Praha"}),
])
def test_an_answer_given_in_other_words_or_in_an_aside_is_found(subtask: Subtask, draft: dict[str, object]) -> None:
    assert find_leak(make(subtask, **draft)) is not None


@pytest.mark.parametrize(("subtask", "draft"), [
    (NUM, {"question": "What is 12 - 6?", "answer": "6"}),
    (NUM, {"question": "Ada has 15 shells. She gives away 6 and finds 6 more. How many shells does she have now?", "answer": "15"}),
    (NUM, {"question": "Nine boxes hold five pens each; one box is lost. How many pens are left, in forty-five minus five?", "answer": "40"}),
    (NUM, {"question": "A lane is 400 m long (about 437 yards). How many metres are 3 laps? Give a whole number.", "answer": "1200"}),
    (NUM, {"question": "A box of twelve eggs loses none on the way. How many eggs arrive?", "answer": "12"}),
    (NUM, {"question": "Of 3 red pens and 4 blue ones, Ada loses one red pen. How many red pens does she lose?", "answer": "1"}),
    (MC, {"question": "Which is the largest: 3/4, 0.7 or 72%?", "choices": ["3/4", "0.7", "72%"], "answer": "3/4"}),
    (MC, {"question": "Which city lies on the Vltava? (Plzeň and Brno do not.)", "choices": ["Prague", "Plzeň", "Brno", "Ostrava"], "answer": "Prague"}),
])
def test_numbers_and_asides_that_do_not_give_the_answer_away_are_not_flagged(subtask: Subtask, draft: dict[str, object]) -> None:
    assert find_leak(make(subtask, **draft)) is None


@pytest.mark.parametrize(("subtask", "draft", "leaked"), [
    (NUM, {"question": "A sack holds 4 kg of beans, that is 4,000 grams. How many grams of beans does it hold?",
           "answer": "4000", "solution_code": "print(4 * 1000)"}, True),
    (NUM, {"question": "A van makes 6 trips of 35 km, 210 km in all. How far does it drive in km?", "answer": "210",
           "solution_code": "trips, each = 6, 35\nprint(trips * each)"}, True),
    (NUM, {"question": "A crate holds 30 jars; 10 are sold and 10 arrive. How many jars are in the crate?",
           "answer": "30", "solution_code": "print(30 - 10 + 10)"}, False),
    (NUM, {"question": "Hall 24 seats 6 rows of 4 guests. How many guests does it seat?", "answer": "24",
           "solution_code": "print(6 * 4)"}, False),
    (NUM, {"question": "A sack holds 4 kg of beans. How many grams of beans does it hold?", "answer": "4000",
           "solution_code": "print(4 * 1000)"}, False),
])
def test_a_numeric_answer_in_the_stem_is_a_restatement_when_its_solution_program_never_uses_it(
        subtask: Subtask, draft: dict[str, object], leaked: bool) -> None:
    assert (find_leak(make(subtask, **draft)) is not None) is leaked


@pytest.mark.parametrize(("subtask", "draft", "leaked"), [
    (SHORT, {"question": "Which dance, written tan go on old posters, comes from Buenos Aires?", "answer": "Tango"}, True),
    (MC, {"question": "Which fund, the IMF in the news, lends to governments?", "answer": "International Monetary Fund",
          "choices": ["International Monetary Fund", "World Bank", "OECD", "WTO"]}, True),
    (MC, {"question": "Who heads the IMF today?", "answer": "Its managing director",
          "choices": ["Its managing director", "The World Bank", "The G7", "The UN"]}, False),
    (SHORT, {"question": "Who wrote the tango La Cumparsita?", "answer": "Gerardo Matos Rodríguez"}, False),
    (SHORT, {"question": "What does GDP stand for?", "answer": "Gross Domestic Product"}, False),
    (MC, {"question": "What is the full name of the body known as the IMF?", "answer": "International Monetary Fund",
          "choices": ["International Monetary Fund", "Investment Market Forum", "OECD", "WTO"]}, False),
])
def test_a_text_answer_named_in_another_spelling_is_found(subtask: Subtask, draft: dict[str, object], leaked: bool) -> None:
    assert (find_leak(make(subtask, **draft)) is not None) is leaked


# The stem matches are plain searches with the boundaries checked by hand; these patterns are what they must agree
# with (the regular expressions they replaced, one compiled per answer).
def _phrase(answer: str) -> str:
    from tools.qc.leakage import _norm

    return r"(?<![\w.])" + re.escape(_norm(answer)) + r"(?![\w]|\.\d)"


_TEXT = st.lists(st.sampled_from([*"ab1.2 ,/=:_-é北٣", "or ", "the ", "answer is ", "result: "]),
                 max_size=16).map("".join)


@settings(max_examples=600, deadline=None, database=None)
@given(before=_TEXT, answer=_TEXT, after=_TEXT, again=_TEXT)
def test_the_stem_matches_agree_with_the_patterns_they_replaced(before: str, answer: str, after: str, again: str) -> None:
    from tools.qc.leakage import _REVEAL, _mentioned, _norm, _offered_as_alternative, _stated

    stem, answer = _norm(before + answer + after + answer + again), _norm(answer)  # the answer in it, twice
    if not answer:
        return
    pattern = _phrase(answer)
    assert _mentioned(stem, answer) is (re.search(pattern, stem) is not None)
    assert _stated(stem, answer) is (re.search(_REVEAL + pattern, stem) is not None)
    assert _offered_as_alternative(stem, answer) is (re.search(
        rf"(?:\bor\s+(?:the\s+)?|,\s*|/\s*){pattern}|{pattern}(?:\s*,|\s+or\b|\s*/)", stem) is not None)
