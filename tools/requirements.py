"""Stage 1: requirement analysis. A request in words becomes a spec, or the questions that decide it."""

from __future__ import annotations

import re

from pydantic_ai import Agent, ToolOutput

from tools.errors import InvalidRequest
from tools.llm import StageModels, run_stage
from tools.models import (
    SUPPORTED_MODALITIES,
    BenchmarkSpec,
    ClarifyingQuestion,
    NeedsClarification,
    SpecDraft,
)

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

_SIZE_PATTERN = re.compile(
    r"\b(\d[\d,]*)\s+(?:[\w-]+\s+){0,4}?(?:questions?|items?|samples?|problems?|examples?|prompts?|puzzles?|tasks?)\b",
    re.IGNORECASE,
)
_FORMAT_WORDS = {
    "multiple_choice": ("multiple choice", "multiple-choice", "mcq", "4-option", "four-option", "options"),
    "yes_no": ("yes/no", "yes-no", "yes or no", "true/false", "true or false", "boolean"),
    "numeric": ("numeric", "numerical", "number answer"),
    "short_answer": ("short answer", "short-answer", "free text", "free-form"),
}


def size_in_text(text: str) -> int | None:
    """The sample count the user wrote ("60 arithmetic word problems"), if any."""
    match = _SIZE_PATTERN.search(text)
    return int(match.group(1).replace(",", "")) if match else None


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
    unsupported: list[str] = list(previous.unsupported_requests) if previous else []

    def pick(name: str, from_text: object, default: object, label: str) -> object:
        value = from_text if from_text is not None else getattr(draft, name)
        if value is None and previous is not None:
            return getattr(previous, name)
        if value is None:
            assumptions.append(f"{label}: {str(default).replace('_', ' ')} (not specified)")
            return default
        return value

    wanted = size if size is not None else size_in_text(request)
    chosen_size = int(pick("size", wanted, default_size, "Size"))  # type: ignore[call-overload]
    if chosen_size > max_size:
        unsupported.append(f"{chosen_size:,} samples is above this installation's limit of {max_size:,}; planned {max_size:,}.")
        chosen_size = max_size

    modalities = [m for m in (draft.modalities or (previous.modalities if previous else [])) if m in SUPPORTED_MODALITIES]
    for modality in set(draft.modalities) - set(SUPPORTED_MODALITIES):
        unsupported.append(f"{modality} samples are not supported yet; the benchmark will be text only.")

    capability = draft.capability or (previous.capability if previous else None)
    domain = draft.domain or (previous.domain if previous else None)
    spec = BenchmarkSpec(
        goal=f"{previous.goal} | {request}"[:2000] if previous else request[:2000],
        capability=capability or DEFAULT_CAPABILITY,
        domain=domain or DEFAULT_DOMAIN,
        language=str(pick("language", None, "English", "Language")),
        answer_format=pick("answer_format", format_in_text(request), "multiple_choice", "Answer format"),  # type: ignore[arg-type]
        size=chosen_size,
        difficulty=pick("difficulty", None, "medium", "Difficulty"),  # type: ignore[arg-type]
        modalities=modalities or ["text"],
        constraints=_merge(previous.constraints if previous else [], draft.constraints),
        assumptions=_merge(previous.assumptions if previous else [], assumptions),
        unsupported_requests=_dedupe(unsupported),
    )
    gaps = [f"Capability: {DEFAULT_CAPABILITY} (not specified)"] if not capability else []
    gaps += [f"Domain: {DEFAULT_DOMAIN} (not specified)"] if not domain else []
    spec = spec.model_copy(update={"assumptions": _merge(spec.assumptions, gaps)})
    if autonomous:
        return spec
    questions = _questions(draft, capability=capability, domain=domain)
    return NeedsClarification(questions=questions, draft=spec) if questions else spec


def _questions(draft: SpecDraft, *, capability: str | None, domain: str | None) -> list[ClarifyingQuestion]:
    """The model's questions, plus ours for the two fields no benchmark can be built without."""
    questions = list(draft.questions)
    asked = {q.field for q in questions}
    if capability is None and "capability" not in asked:
        questions.insert(0, ClarifyingQuestion(
            field="capability", question="Which skill should the benchmark test (e.g. multi-step arithmetic, reading comprehension)?",
            default=DEFAULT_CAPABILITY))
    if domain is None and "domain" not in asked:
        questions.append(ClarifyingQuestion(
            field="domain", question="Which subject area should the questions come from?", default=DEFAULT_DOMAIN))
    if capability is not None and domain is not None:
        return []
    return questions[:3]


def _merge(old: list[str], new: list[str]) -> list[str]:
    return _dedupe([*old, *new])


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))
