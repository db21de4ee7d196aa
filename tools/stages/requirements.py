"""Stage 1: requirement analysis. A request in words becomes a spec, or the questions that decide it."""

from __future__ import annotations

import re

from pydantic_ai import Agent, ToolOutput

from tools.contracts import (
    ANSWER_FORMATS,
    SUPPORTED_MODALITIES,
    BenchmarkSpec,
    ClarifyingQuestion,
    NeedsClarification,
    SpecDraft,
)
from tools.errors import InvalidRequest
from tools.llm.stage import StageModels, run_stage
from tools.stages.amounts import NUMBER, number_value, numbers_in

MAX_REQUEST_CHARS = 8000
DEFAULT_CAPABILITY = "general reasoning"
DEFAULT_DOMAIN = "general knowledge"

_INSTRUCTIONS = """\
You turn a researcher's description of an evaluation benchmark into a structured draft.
Fill a field only with what the researcher said or clearly implied; leave it null otherwise.
Answer formats: multiple_choice, short_answer, numeric, yes_no.
If the request is too vague to know what skill to test, add up to three short questions,
most important first, each with a sensible default. Call submit_spec exactly once."""

spec_agent: Agent[None, SpecDraft] = Agent(
    output_type=ToolOutput(SpecDraft, name="submit_spec"), instructions=_INSTRUCTIONS, retries=2, name="requirements"
)

_NOUNS = r"(?:questions?|items?|samples?|problems?|examples?|prompts?|puzzles?|tasks?|exercises?|riddles?)"
# A count, then up to four describing words ("60 hard multiple-choice arithmetic word problems", "a 60-item
# benchmark", "Six yes/no questions"); the words between never include "of", "the", ... ("one of the questions").
_SIZE_PATTERN = re.compile(
    rf"(?P<n>{NUMBER})(?:\s*-\s*|\s+)(?P<words>(?:(?!(?:of|the|in|than|per|each|from|at)\b)[\w/'+-]+\s+){{0,4}}?)"
    rf"(?P<noun>{_NOUNS})\b(?!\s+(?:per|each|for each)\b)",
    re.IGNORECASE,
)
_SIZE_STATED = re.compile(rf"\b(?:(?:size|total)\s*(?:of|:|=|is|to)?|n\s*=)\s*(?P<n>{NUMBER})", re.IGNORECASE)
_FORMAT_WORDS = {
    "multiple_choice": ("multiple choice", "multiple-choice", "mcq", "4-option", "four-option", "options"),
    "yes_no": ("yes/no", "yes-no", "yes or no", "true/false", "true or false", "boolean"),
    "numeric": ("numeric", "numerical", "number answer"),
    "short_answer": ("short answer", "short-answer", "free text", "free-form"),
}


def size_in_text(text: str) -> int | None:
    """The sample count the user wrote ("60 arithmetic word problems", "a 60-item benchmark", "six questions",
    "5k samples", "size: 1,200"), if any."""
    for pattern in (_SIZE_PATTERN, _SIZE_STATED):
        for match in pattern.finditer(text):
            value = number_value(match.group("n"))
            if value:
                return value
    return None


_DIFFICULTY_WORDS = {
    "hard": ("hard", "harder", "difficult", "challenging", "tough"),
    "easy": ("easy", "simple", "beginner", "elementary"),
    "mixed": ("mixed difficulty", "varied difficulty", "range of difficulties"),
    "medium": ("medium", "moderate", "intermediate"),
}
_STOPWORDS = frozenset({
    "the", "and", "for", "with", "that", "this", "from", "about", "into", "than", "then", "them", "they",
    "what", "which", "when", "where", "will", "would", "should", "could", "some", "more", "most", "very",
    "just", "like", "make", "benchmark", "benchmarks", "test", "tests", "testing", "question", "questions",
    "item", "items", "sample", "samples", "problem", "problems", "task", "tasks",
})


def difficulty_in_text(text: str) -> str | None:
    lowered = text.lower()
    for difficulty in ("mixed", "hard", "easy", "medium"):
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in _DIFFICULTY_WORDS[difficulty]):
            return difficulty
    return None


_DOMAIN_LEAD = re.compile(
    r"\b(?:about|on|covering|concerning|regarding|benchmark of|quiz of|test of|in the (?:area|field|domain) of|"
    r"(?:subject|topic|domain)(?: area)?(?: is|:)?)\s+", re.IGNORECASE)
# Where the subject stops: punctuation, or words that start another part of the request.
_DOMAIN_END = re.compile(
    r"[,.;:!?()\[\]]|\s(?:with|that|which|where|so|for|and (?:make|keep|use|each|all|no)|in (?:english|[A-Z]\w+)\b|"
    r"harder|easier|like|similar|each|using|written|at (?:an?|the)? ?\w+ level|suitable|aimed|please)\b", re.IGNORECASE)
_LANGUAGES = ("English", "French", "German", "Spanish", "Italian", "Portuguese", "Dutch", "Polish", "Russian", "Ukrainian",
              "Chinese", "Mandarin", "Japanese", "Korean", "Arabic", "Hindi", "Bengali", "Turkish", "Swedish", "Norwegian",
              "Danish", "Finnish", "Greek", "Hebrew", "Vietnamese", "Thai", "Indonesian", "Swahili", "Czech", "Romanian")
_LANGUAGE = re.compile(rf"\b(?:in|into)\s+({'|'.join(_LANGUAGES)})\b|\b({'|'.join(_LANGUAGES)})[- ](?:language\s+)?"
                       rf"(?:{_NOUNS}|quiz|benchmark|test|speakers?)\b")
_NOT_SUBJECT = frozenset({*_STOPWORDS, "hard", "harder", "easy", "easier", "medium", "difficult", "simple", "mixed",
                          "multiple", "choice", "multiple-choice", "yes/no", "numeric", "short", "answer", "answers",
                          "new", "good", "set", "some", "few", "many", "a", "an", "of", "to", "in", "on", "as",
                          "open-ended", "true/false", "mcq", "four-option", "4-option", "item", "option", "options",
                          "level", "short-answer", "free-form", "challenging", "tough", "moderate",
                          "intermediate", "beginner", "elementary", "prompts", "examples", "exercises"})


def _subject(phrase: str) -> str | None:
    """A subject phrase cut at its end, without leading articles; None when nothing of substance is left."""
    phrase = _DOMAIN_END.split(phrase, maxsplit=1)[0]
    phrase = re.sub(r"^(?:(?:the|a|an|some|these|those)\s+)+", "", phrase.strip(), flags=re.IGNORECASE).strip(" '\"")
    words = phrase.split()
    if not words or len(words) > 10 or re.match(rf"^{NUMBER}\b", phrase, re.IGNORECASE):
        return None
    if not [w for w in words if w.lower() not in _NOT_SUBJECT and re.search(r"[a-z]", w.lower())]:
        return None
    return phrase[:120]


def domain_in_text(text: str) -> str | None:
    """The subject area the user wrote: "questions about the planets of the solar system", "a benchmark of
    grade-school arithmetic word problems", "40 European geography questions"; None when the text names none."""
    for lead in _DOMAIN_LEAD.finditer(text):
        if (subject := _subject(text[lead.end():])) is not None:
            return subject
    for match in _SIZE_PATTERN.finditer(text):
        words = [w for w in match.group("words").split() if w.lower() not in _NOT_SUBJECT and not _format_word(w)]
        if words:
            noun = match.group("noun").lower()
            return " ".join([*words, noun] if noun.startswith(("problem", "puzzle", "riddle")) else words)[:120]
    return None


def _format_word(word: str) -> bool:
    return format_in_text(word) is not None or difficulty_in_text(word) is not None


def language_in_text(text: str) -> str | None:
    """The language the user named ("in French", "German questions"), if any."""
    match = _LANGUAGE.search(text)
    return (match.group(1) or match.group(2)) if match else None


def capability_from_domain(domain: str) -> str:
    """The skill a benchmark of `domain` items tests when the user named only the subject."""
    if re.search(r"\b(problems?|puzzles?|riddles?|exercises?)$", domain, re.IGNORECASE):
        return f"solving {domain}"[:200]
    return f"knowledge of {domain}"[:200]


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 4 and w not in _STOPWORDS}


def screen_draft(draft: SpecDraft, request: str, previous: BenchmarkSpec | None) -> tuple[SpecDraft, dict[str, str]]:
    """Keep only what the request supports: a weak model fills fields with sentences nobody said.

    Capability, domain, language and constraints stay when they share a word with what the user wrote
    (this request or the spec so far) and, for capability and domain, read as a label, not a sentence. An unsupported but label-like capability or domain is returned
    as inferred (it becomes a question's default); a sentence-like one marks the whole draft as
    unreliable, and then only what the text itself says is kept.
    """
    said = _stems(request) | (_stems(f"{previous.goal} {previous.capability} {previous.domain}") if previous else set())
    inferred: dict[str, str] = {}
    update: dict[str, object] = {}
    trusted = True
    for name in ("capability", "domain"):
        value = getattr(draft, name)
        sentence = len(value.split()) > 10 or bool(re.search(r"[!?;]|\.\s|\.$", value)) if value else False
        if value is None or (_stems(value) & said and not sentence):
            continue
        update[name] = None
        if len(value.split()) <= 6 and not sentence:
            inferred[name] = value
        else:
            trusted = False
    if draft.language is not None and draft.language.lower() not in request.lower():
        update["language"] = None
    update["constraints"] = [c for c in draft.constraints if _stems(c) & said]
    if not trusted:
        update.update(answer_format=None, size=None, difficulty=None, questions=[], modalities=[])
        inferred = {}
    return draft.model_copy(update=update), inferred


def format_in_text(text: str) -> str | None:
    lowered = text.lower()
    for answer_format, words in _FORMAT_WORDS.items():
        if any(word in lowered for word in words):
            return answer_format
    return None


def _check_request(request: str) -> str:
    cleaned = request.strip()
    if not re.search(r"\w", cleaned):
        raise InvalidRequest("The request is empty: describe the benchmark you want, e.g. '40 hard geography questions'.")
    if len(cleaned) > MAX_REQUEST_CHARS:
        raise InvalidRequest(
            f"The request is {len(cleaned):,} characters; describe the benchmark in under {MAX_REQUEST_CHARS:,} "
            "(upload long material as a file instead)."
        )
    return cleaned


def _prompt(request: str, previous: BenchmarkSpec | None) -> str:
    lines = [f"Request: {request}"]
    if previous is not None:
        lines.append(f"Current spec (update it with the request): {previous.model_dump_json(exclude={'assumptions'})}")
    return "\n".join(lines)


async def analyze_request(
    request: str,
    *,
    models: StageModels,
    max_size: int,
    default_size: int,
    size: int | None = None,
    previous: BenchmarkSpec | None = None,
    autonomous: bool = False,
) -> BenchmarkSpec | NeedsClarification:
    """Draft a spec from `request` (merged over `previous`); ask questions only when it is too vague.

    An explicit `size` (the CLI's --size) wins over one written in the request, which wins over the
    model's reading. In autonomous mode nothing is asked: every gap is filled and listed as an assumption.
    """
    request = _check_request(request)
    if size is not None and size < 1:
        raise InvalidRequest(f"Size must be at least 1, got {size}.")
    draft = await run_stage(spec_agent, _prompt(request, previous), models=models, role="chat", stage="requirement analysis")
    return resolve_draft(
        draft, request, previous=previous, size=size, max_size=max_size, default_size=default_size, autonomous=autonomous
    )


def resolve_draft(
    draft: SpecDraft,
    request: str,
    *,
    previous: BenchmarkSpec | None,
    size: int | None,
    max_size: int,
    default_size: int,
    autonomous: bool,
) -> BenchmarkSpec | NeedsClarification:
    """Deterministic part of the analysis: merge, fill defaults as assumptions, enforce limits."""
    assumptions: list[str] = []
    stated: set[str] = set()  # fields this request states: an earlier assumption about them no longer holds
    unsupported: list[str] = list(previous.unsupported_requests) if previous else []

    def pick(name: str, from_text: object, default: object, label: str) -> object:
        value = from_text if from_text is not None else getattr(draft, name)
        if value is not None:
            stated.add(label)
        if value is None and previous is not None:
            return getattr(previous, name)
        if value is None:
            assumptions.append(f"{label}: {str(default).replace('_', ' ')} (not specified)")
            return default
        return value

    draft, inferred = screen_draft(draft, request, previous)
    wanted = size if size is not None else size_in_text(request)
    chosen_size = int(pick("size", wanted, default_size, "Size"))  # type: ignore[call-overload]
    if chosen_size > max_size:
        unsupported.append(f"{chosen_size:,} samples is above this installation's limit of {max_size:,}; planned {max_size:,}.")
        chosen_size = max_size

    modalities = [m for m in (draft.modalities or (previous.modalities if previous else [])) if m in SUPPORTED_MODALITIES]
    for modality in set(draft.modalities) - set(SUPPORTED_MODALITIES):
        unsupported.append(f"{modality} samples are not supported yet; the benchmark will be text only.")

    # What the text itself says stands even when the model left it out (a weak model often does).
    text_domain = domain_in_text(request)
    domain = draft.domain or text_domain or (previous.domain if previous else None)
    capability = draft.capability or (previous.capability if previous else None)
    stated |= {label for label, value in (("Capability", draft.capability), ("Domain", draft.domain or text_domain))
               if value}
    if capability is None and domain is not None and "capability" not in inferred:
        # The user named the subject only ("questions about the planets"): the skill follows from it.
        inferred["capability"] = capability_from_domain(domain)
        capability = inferred["capability"]
        assumptions.append(f"Capability: {capability} (inferred, not stated)")
    spec = BenchmarkSpec(
        goal=f"{previous.goal} | {request}"[:2000] if previous else request[:2000],
        capability=capability or inferred.get("capability") or DEFAULT_CAPABILITY,
        domain=domain or inferred.get("domain") or DEFAULT_DOMAIN,
        language=str(pick("language", language_in_text(request), "English", "Language")),
        answer_format=pick("answer_format", format_in_text(request), "multiple_choice", "Answer format"),  # type: ignore[arg-type]
        size=chosen_size,
        difficulty=pick("difficulty", difficulty_in_text(request), "medium", "Difficulty"),  # type: ignore[arg-type]
        modalities=modalities or ["text"],
        constraints=_merge(previous.constraints if previous else [], draft.constraints),
        assumptions=_merge(previous.assumptions if previous else [], assumptions),
        unsupported_requests=_dedupe(unsupported),
    )
    gaps = [_gap("Capability", inferred.get("capability"), DEFAULT_CAPABILITY)] if not capability else []
    gaps += [_gap("Domain", inferred.get("domain"), DEFAULT_DOMAIN)] if not domain else []
    kept = [a for a in _merge(spec.assumptions, gaps) if a.split(":")[0] not in stated or a in assumptions]
    spec = spec.model_copy(update={"assumptions": kept})
    if autonomous:
        return spec
    fields = {"Capability": "capability", "Domain": "domain", "Language": "language", "Answer format": "answer_format",
              "Size": "size", "Difficulty": "difficulty"}
    answered = {fields[label] for label in stated if label in fields}  # what the user said is never asked again
    draft = draft.model_copy(update={"questions": [q for q in draft.questions if q.field not in answered]})
    questions = _questions(draft, capability=capability, domain=domain, defaults=inferred)
    return NeedsClarification(questions=questions, draft=spec) if questions else spec


def apply_answer(spec: BenchmarkSpec, question: ClarifyingQuestion, answer: str, *, max_size: int) -> BenchmarkSpec:
    """`spec` with `answer` (a question's default, or the user's words) filled into the field the question is about."""
    answer = answer.strip()[:200] or question.default
    label = {"capability": "Capability", "domain": "Domain", "answer_format": "Answer format", "size": "Size",
             "difficulty": "Difficulty", "language": "Language"}.get(question.field)
    update: dict[str, object] = {}
    if question.field in ("capability", "domain", "language"):
        update[question.field] = answer
    elif question.field == "answer_format":
        chosen = answer.replace(" ", "_").lower() if answer.replace(" ", "_").lower() in ANSWER_FORMATS else format_in_text(answer)
        if chosen:
            update["answer_format"] = chosen
    elif question.field == "size":
        numbers = numbers_in(answer)
        if numbers:
            update["size"] = max(1, min(numbers[0][2], max_size))
    elif question.field == "difficulty" and answer.lower() in ("easy", "medium", "hard", "mixed"):
        update["difficulty"] = answer.lower()
    else:
        update["constraints"] = _merge(spec.constraints, [f"{question.question.rstrip('?')}: {answer}"[:200]])
    if label and len(update) == 1:
        update["assumptions"] = [a for a in spec.assumptions if a.split(":")[0] != label]
    return BenchmarkSpec.model_validate({**spec.model_dump(), **update})


def _gap(label: str, inferred: str | None, default: str) -> str:
    return f"{label}: {inferred} (inferred, not stated)" if inferred else f"{label}: {default} (not specified)"


def _questions(draft: SpecDraft, *, capability: str | None, domain: str | None,
               defaults: dict[str, str]) -> list[ClarifyingQuestion]:
    """The model's questions, plus ours for the two fields no benchmark can be built without."""
    questions = list(draft.questions)
    asked = {q.field for q in questions}
    if capability is None and "capability" not in asked:
        questions.insert(0, ClarifyingQuestion(
            field="capability", question="Which skill should the benchmark test (e.g. multi-step arithmetic, reading comprehension)?",
            default=defaults.get("capability", DEFAULT_CAPABILITY)[:120]))
    if domain is None and "domain" not in asked:
        questions.append(ClarifyingQuestion(
            field="domain", question="Which subject area should the questions come from?",
            default=defaults.get("domain", DEFAULT_DOMAIN)[:120]))
    if capability is not None and domain is not None:
        return []
    return questions[:3]


def _merge(old: list[str], new: list[str]) -> list[str]:
    return _dedupe([*old, *new])


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))
