from __future__ import annotations

import pytest

from tests.scripted import Script, stage_models
from tests.tools.samples import SPEC_CLEAR, SPEC_VAGUE
from tools.contracts import BenchmarkSpec, ClarifyingQuestion, NeedsClarification
from tools.errors import InvalidRequest
from tools.stages.requirements import analyze_request, apply_answer
from tools.stages.spec_words import domain_in_text, size_in_text

LIMITS = {"max_size": 500, "default_size": 20}


async def test_clear_request_gives_a_spec_with_assumptions_listed() -> None:
    models = stage_models(Script(submit_spec=[SPEC_CLEAR]))
    spec = await analyze_request("60 hard multiple-choice arithmetic word problems", models=models, **LIMITS)
    assert isinstance(spec, BenchmarkSpec)
    assert spec.size == 60 and spec.answer_format == "multiple_choice" and spec.difficulty == "hard"
    assert any(a.startswith("Language") for a in spec.assumptions)
    assert models.usage["chat"].requests == 1


async def test_vague_request_gets_clarifying_questions_with_defaults() -> None:
    models = stage_models(Script(submit_spec=[SPEC_VAGUE]))
    result = await analyze_request("a hard reasoning benchmark", models=models, **LIMITS)
    assert isinstance(result, NeedsClarification)
    assert 1 <= len(result.questions) <= 3
    assert {q.field for q in result.questions} >= {"capability"}
    assert all(q.default for q in result.questions)
    assert result.draft.difficulty == "hard"


async def test_autonomous_mode_never_asks_and_records_assumptions() -> None:
    models = stage_models(Script(submit_spec=[SPEC_VAGUE]))
    spec = await analyze_request("a hard reasoning benchmark", models=models, autonomous=True, size=12, **LIMITS)
    assert isinstance(spec, BenchmarkSpec)
    assert spec.size == 12
    assert any(a.startswith("Capability") for a in spec.assumptions)


async def test_size_above_the_limit_is_refused_and_capped() -> None:
    models = stage_models(Script(submit_spec=[SPEC_CLEAR]))
    spec = await analyze_request("1,000,000 arithmetic word problems", models=models, **LIMITS)
    assert isinstance(spec, BenchmarkSpec)
    assert spec.size == 500
    assert any("1,000,000" in u for u in spec.unsupported_requests)


async def test_image_modality_is_named_as_unsupported_not_dropped() -> None:
    draft = {**SPEC_CLEAR, "modalities": ["text", "image"]}
    spec = await analyze_request("arithmetic word problems read off charts", models=stage_models(Script(submit_spec=[draft])), **LIMITS)
    assert isinstance(spec, BenchmarkSpec)
    assert spec.modalities == ["text"]
    assert any("image" in u for u in spec.unsupported_requests)


async def test_later_size_wins_over_earlier_one() -> None:
    models = stage_models(Script(submit_spec=[SPEC_CLEAR]))
    first = await analyze_request("50 arithmetic word problems", models=models, **LIMITS)
    assert isinstance(first, BenchmarkSpec)
    second = await analyze_request("actually make it 100 items", models=models, previous=first, **LIMITS)
    assert isinstance(second, BenchmarkSpec) and second.size == 100
    assert second.capability == first.capability


@pytest.mark.parametrize("request_text", ["", "   ", "🙂🙂", "x" * 9000])
async def test_unusable_request_is_refused_before_any_model_call(request_text: str) -> None:
    script = Script(submit_spec=[SPEC_CLEAR])
    with pytest.raises(InvalidRequest):
        await analyze_request(request_text, models=stage_models(script), **LIMITS)
    assert script.calls == {}


@pytest.mark.parametrize("malformed", ['{"goal": ', '{"goal": "x", "size": -3}', '{"unknown": 1}'])
async def test_malformed_spec_output_is_retried_with_the_error(malformed: str) -> None:
    script = Script(submit_spec=[malformed, SPEC_CLEAR])
    spec = await analyze_request("60 arithmetic word problems", models=stage_models(script), **LIMITS)
    assert isinstance(spec, BenchmarkSpec)
    assert len(script.calls["submit_spec"]) == 2


def test_size_is_read_from_the_request_text() -> None:
    assert size_in_text("60 arithmetic word problems harder than GSM8K") == 60
    assert size_in_text("make 1,200 hard questions") == 1200
    assert size_in_text("questions about the 1990s") is None


JUNK = {"goal": "a hard reasoning benchmark", "capability": "The best way to improve your skills is to learn a new language.",
        "domain": "The best way to improve your skills is to learn a new language.", "language": "The best way to improve",
        "answer_format": "numeric", "size": 7, "difficulty": "mixed", "constraints": ["Learn a new language."],
        "questions": []}


async def test_fields_a_weak_model_made_up_are_not_taken_and_the_user_is_asked() -> None:
    result = await analyze_request("a hard reasoning benchmark", models=stage_models(Script(submit_spec=[JUNK])), **LIMITS)
    assert isinstance(result, NeedsClarification), "made-up fields do not stand in for the user's answers"
    draft = result.draft
    assert (draft.capability, draft.domain, draft.language) == ("general reasoning", "general knowledge", "English")
    assert (draft.answer_format, draft.size, draft.difficulty) == ("multiple_choice", 20, "hard")  # the text's "hard"
    assert draft.constraints == [] and {q.field for q in result.questions} == {"capability", "domain"}


async def test_a_plausible_inferred_capability_becomes_the_questions_default() -> None:
    draft = {**SPEC_CLEAR, "capability": "multi-step arithmetic", "domain": "grade-school word problems"}
    result = await analyze_request("problems like GSM8K", models=stage_models(Script(submit_spec=[draft])), **LIMITS)
    assert isinstance(result, NeedsClarification)
    assert result.questions[0].field == "capability" and result.questions[0].default == "multi-step arithmetic"
    assert any("(inferred, not stated)" in a for a in result.draft.assumptions)


@pytest.mark.parametrize(("text", "size"), [
    ("A 60-item benchmark of grade-school arithmetic word problems", 60),
    ("a sixty-item quiz", 60),
    ("Six yes/no questions about the planets", 6),
    ("sixty questions on chemistry", 60),
    ("twenty-five short answer questions", 25),
    ("two hundred and fifty items", 250),
    ("a dozen riddles", 12),
    ("5k samples of code review", 5000),
    ("make 1,200 hard questions", 1200),
    ("size: 80, geography", 80),
    ("one question per planet", None),
    ("one of the questions about the 1990s", None),
    ("problems like GSM8K", None),
])
def test_sizes_are_read_in_the_forms_people_write_them(text: str, size: int | None) -> None:
    assert size_in_text(text) == size


@pytest.mark.parametrize(("text", "domain"), [
    ("Six yes/no questions about the planets of the solar system, easy.", "planets of the solar system"),
    ("A 60-item benchmark of grade-school arithmetic word problems", "grade-school arithmetic word problems"),
    ("40 multiple-choice questions on European geography", "European geography"),
    ("60 hard multiple-choice arithmetic word problems harder than GSM8K", "arithmetic word problems"),
    ("a hard reasoning benchmark", None),
    ("questions on 40 topics", None),
])
def test_the_subject_area_is_read_from_the_request(text: str, domain: str | None) -> None:
    assert domain_in_text(text) == domain


# What the embedded toy model answers for most requests: sentences that nobody said.
TOY = {"goal": "Planets", "capability": "The planets are big and we learn about them in school every day.",
       "domain": "general knowledge", "size": 20, "questions": [
           {"field": "domain", "question": "Which subject area should the questions come from?", "default": "science"}]}


async def test_what_the_user_stated_is_read_from_their_words_even_when_the_model_says_otherwise() -> None:
    text = "Six yes/no questions about the planets of the solar system, easy."
    result = await analyze_request(text, models=stage_models(Script(submit_spec=[TOY])), **LIMITS)
    assert isinstance(result, BenchmarkSpec), "nothing the user said is asked again"
    assert (result.size, result.answer_format, result.difficulty) == (6, "yes_no", "easy")
    assert result.domain == "planets of the solar system"
    assert result.capability == "knowledge of planets of the solar system"
    assert not [a for a in result.assumptions if a.startswith(("Size", "Domain", "Answer format", "Difficulty"))]
    assert "Capability: knowledge of planets of the solar system (inferred, not stated)" in result.assumptions


async def test_a_size_written_as_60_item_is_not_an_assumption() -> None:
    text = "A 60-item benchmark of grade-school arithmetic word problems"
    spec = await analyze_request(text, models=stage_models(Script(submit_spec=[{"goal": "x"}])), **LIMITS)
    assert isinstance(spec, BenchmarkSpec) and spec.size == 60
    assert spec.domain == "grade-school arithmetic word problems"
    assert not [a for a in spec.assumptions if a.startswith(("Size", "Domain"))]


async def test_a_language_named_in_the_request_is_taken() -> None:
    spec = await analyze_request("sixty questions in French about Roman history",
                                 models=stage_models(Script(submit_spec=[{"goal": "x"}])), **LIMITS)
    assert isinstance(spec, BenchmarkSpec) and (spec.language, spec.size, spec.domain) == ("French", 60, "Roman history")
    assert not [a for a in spec.assumptions if a.startswith("Language")]


@pytest.mark.parametrize(("answer", "size"), [("sixty", 60), ("1,200", 500), ("make it 5k", 500), ("40 please", 40)])
def test_a_size_answer_is_read_in_words_or_digits_and_capped(answer: str, size: int) -> None:
    spec = BenchmarkSpec(goal="g", capability="c", domain="d", answer_format="numeric", size=20,
                         assumptions=["Size: 20 (not specified)"])
    question = ClarifyingQuestion(field="size", question="How many?", default="20")
    answered = apply_answer(spec, question, answer, max_size=500)
    assert answered.size == size and answered.assumptions == []
