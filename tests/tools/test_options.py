"""Two options that say the same answer are found from their text: values in other forms, names written another way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.contracts import SampleDraft, Subtask
from tools.qc.options import equivalent_options, same_option
from tools.qc.schema import CheckFailed, make_provenance, to_sample

MC = Subtask(id="mc", name="MC", description="d", answer_format="multiple_choice", quota=5)
PROV = make_provenance("b1", "gen", "judge", 1, datetime(2026, 1, 1, tzinfo=UTC))

SAME = [
    ("0.5", "1/2"), ("1/2", "50%"), ("3/4", "0.75"), ("1,000", "1000"), ("10.0", "10"), ("+5", "5"), ("eight", "8"),
    ("\u22123", "-3"), ("1 km", "1000 m"), ("90 minutes", "1.5 hours"), ("$12", "12 dollars"), ("2 L", "2000 ml"),
    ("20 July 1969", "1969-07-20"), ("July 20, 1969", "20/07/1969"), ("7:30 pm", "19:30"),
    ("H\u00e0 N\u1ed9i", "Hanoi"), ("The Hague", "Hague"), ("WHO", "World Health Organization"),
    ("U.S.A.", "United States of America"), ("Mt. Everest", "Mount Everest"), ("R. Amundsen", "Roald Amundsen"),
    ("A. Einstein", "Albert Einstein"),
    ("Kyiv (Kiev)", "Kiev"),
]
DIFFERENT = [
    ("-5", "5"), ("12.5", "12.46"), ("1/3", "0.33"), ("0.7", "72%"), ("50", "50%"), ("-5 km", "5 km"),
    ("3 apples", "3 pears"), ("3 kg of rice", "3000 g of flour"), ("20 July 1969", "21 July 1969"),
    ("March 3, 2001", "3 March 2010"), ("7 pm", "7 am"), ("Sodium", "Sodium chloride"), ("Austria", "Australia"),
    ("North Korea", "South Korea"), ("Vitamin A", "Vitamin D"), ("UK", "USA"), ("St. Louis", "Saint John"),
    ("Apollo 11", "Apollo 13"), ("Kiev", "Kyiv"), ("A. Einstein", "Einstein"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_options_that_say_the_same_answer_another_way_are_found(a: str, b: str) -> None:
    assert same_option(a, b) is not None and same_option(b, a) is not None


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_near_miss_options_that_say_different_answers_are_left_alone(a: str, b: str) -> None:
    assert same_option(a, b) is None and same_option(b, a) is None


def test_a_second_correct_option_is_named_as_such_and_two_equal_distractors_apart() -> None:
    assert "a second correct option: '50%'" in (equivalent_options(["1/2", "50%", "1/3", "1/4"], "1/2") or "")
    assert "two options say the same" in (equivalent_options(["1/2", "0.25", "1/3", "1/4"], "1/2") or "")
    assert equivalent_options(["1/2", "1/3", "1/4", "2/3"], "1/2") is None


def test_the_format_check_drops_a_draft_whose_options_say_the_gold_answer_twice() -> None:
    draft = SampleDraft(question="How far is a 1,000 metre walk?", choices=["1 km", "1000 m", "10 km", "100 m"], answer="1 km")
    with pytest.raises(CheckFailed, match="a second correct option: '1000 m'"):
        to_sample(draft, MC, PROV)
    sound = draft.model_copy(update={"choices": ["1 km", "10 km", "100 m", "1 m"]})
    assert to_sample(sound, MC, PROV).answer == "1 km"


@pytest.mark.parametrize(("question", "choices", "answer"), [
    ("Which fraction is in simplest form?", ["3/4", "6/8", "9/12", "2/3"], "3/4"),
    ("Which is the correct spelling of Vietnam's capital in English?", ["Hanoi", "Ha Noi", "Hanoy", "Hannoi"], "Hanoi"),
    ("What does WHO stand for?", ["World Health Organization", "WHO", "World Heritage Office", "Wide Health Order"],
     "World Health Organization"),
])
def test_a_question_about_how_a_value_or_name_is_written_may_offer_it_in_several_forms(
        question: str, choices: list[str], answer: str) -> None:
    assert to_sample(SampleDraft(question=question, choices=choices, answer=answer), MC, PROV).answer == answer


@pytest.mark.parametrize("question", ["By what share is the price reduced?",
                                      "An express train runs at 90 km/h for half an hour. How far does it go?"])
def test_a_word_problem_that_only_uses_such_words_is_still_checked(question: str) -> None:
    assert equivalent_options(["45 km", "45,000 m", "40 km", "50 km"], "45 km", question) is not None
