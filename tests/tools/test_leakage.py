from __future__ import annotations

import pytest

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
