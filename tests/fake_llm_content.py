"""What the fake LLM says: plausible, varied answers for each pipeline stage, correct unless its roles are set
to err (`ContentState.errors`, see `tests/fake_llm_errors.py`).

Pure functions of the request plus a small per-server `ContentState` (seed, call counter and the true
answers of the samples it generated, so its own reviewers can check them). The transport lives in
`tests/fake_llm.py`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_llm_edits import plan_edits
from tests.fake_llm_errors import (
    ErrorRates,
    generator_mistakes,
    inspector_verdict,
    judge_errs,
    lettered_choices,
    program,
    repaired,
    same_value,
    solver_mistake,
    wrong_ruling,
)

# --- replies and request reading ------------------------------------------------------------


@dataclass
class Reply:
    """One assistant turn: text, or a call of one tool with JSON arguments."""

    text: str | None = None
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None
    stage: str | None = None  # a stage's output sent as JSON text instead of a tool call

    @property
    def label(self) -> str:
        return self.tool_name or self.stage or "text"


@dataclass
class ContentState:
    seed: int = 0
    judge_reject_rate: float = 0.0
    counter: int = 0
    # Deterministic: the same request always gets the same answer (for resume tests); otherwise a
    # call counter varies repeated identical requests.
    deterministic: bool = False
    answers: dict[str, str] = field(default_factory=dict)  # generated question -> correct answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: ErrorRates = field(default_factory=ErrorRates)  # the mistakes each role makes (tests/fake_llm_errors.py)
    made: Counter[str] = field(default_factory=Counter)  # mistakes made, by "role:kind"
    # Multiple-choice items with a computed answer also carry a solution program (the generator is asked for one).
    choice_programs: bool = False

    def rng_for(self, text: str) -> random.Random:
        with self.lock:
            self.counter += 1
            count = 0 if self.deterministic else self.counter
        digest = hashlib.sha256(f"{self.seed}|{count}|{text}".encode()).hexdigest()
        return random.Random(int(digest[:16], 16))

    def remember(self, question: str, answer: str) -> None:
        with self.lock:
            if len(self.answers) > 100_000:
                self.answers.clear()
            self.answers[question] = answer


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


_KEY_LINE = re.compile(r"^\s*(?:[-*]\s+)?([A-Za-z][A-Za-z0-9 _/-]{0,40}?)\s*:\s*(.*?)\s*$")


def key_values(messages: list[dict[str, Any]]) -> dict[str, str]:
    """`Key: value` lines of the system and user messages, outside quoted material; later messages win. Keys are
    lowercased."""
    found: dict[str, str] = {}
    for message in messages:
        if message.get("role") not in ("system", "developer", "user"):
            continue
        for line in outside_material(message_text(message)).splitlines():
            match = _KEY_LINE.match(line)
            if match and match.group(2):
                found[match.group(1).strip().lower()] = match.group(2)
    return found


# A block opens on a line of its own (`<material id=...>`), so a sentence that mentions "<material> tags" is no block.
_QUOTED_MATERIAL = re.compile(r"^<material\b[^>\n]*>\n.*?\n</material>$", re.DOTALL | re.MULTILINE)


def outside_material(text: str) -> str:
    """`text` without the `<material>` blocks it quotes: a record's `field: value` lines are data, not the
    prompt's own `Key: value` lines (a quoted `question: ...` must not stand for the item's question)."""
    return _QUOTED_MATERIAL.sub("", text)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def _int(value: str | None, default: int) -> int:
    match = re.search(r"\d+", value or "")
    return int(match.group()) if match else default


# --- the dispatcher -------------------------------------------------------------------------


def respond(body: dict[str, Any], state: ContentState) -> Reply:
    messages: list[dict[str, Any]] = body.get("messages") or []
    tools = [t["function"] for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    names = [t["name"] for t in tools]
    stage = next((n for n in names if n in STAGES), None)
    if stage == "submit_samples" and MATERIAL_BLOCK.search(last_user_text(messages)):
        tool = next(t for t in tools if t["name"] == stage)
        return Reply(tool_name=stage, arguments=grounded_sample_batch(messages, state, cites="evidence" in json.dumps(tool)))
    if stage is not None:
        return Reply(tool_name=stage, arguments=STAGES[stage](key_values(messages), state))
    if tools:
        return _chat_turn(body, messages, tools)
    return _plain_text(body, messages)


def _chat_turn(body: dict[str, Any], messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Reply:
    forced = body.get("tool_choice")
    by_name = {t["name"]: t for t in tools}
    if isinstance(forced, dict) and forced.get("function", {}).get("name") in by_name:
        tool = by_name[forced["function"]["name"]]
        return Reply(tool_name=tool["name"], arguments=fill_schema(tool.get("parameters") or {}))
    last_role = messages[-1].get("role") if messages else "user"
    if forced == "none":
        return Reply(text=f"Noted: {message_text(messages[-1])[:200]}" if messages else "Noted.")
    outputs = [t for t in tools if t["name"].startswith("final_result")]
    functions = [t for t in tools if t not in outputs] or tools
    if last_role == "tool":
        if forced == "required" and outputs:
            return Reply(tool_name=outputs[0]["name"], arguments=fill_schema(outputs[0].get("parameters") or {}))
        if forced != "required":
            return Reply(text=f"Done: {message_text(messages[-1])[:200]}")
    tool = functions[0]
    return Reply(tool_name=tool["name"], arguments=fill_schema(tool.get("parameters") or {}))


def _plain_text(body: dict[str, Any], messages: list[dict[str, Any]]) -> Reply:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema") or {}
        return Reply(text=json.dumps(fill_schema(schema)))
    if response_format.get("type") == "json_object":
        return Reply(text="{}")
    topic = " ".join(last_user_text(messages).split())[:120] or "nothing in particular"
    return Reply(text=f"Happy to help with that. You asked about: {topic}")


# --- generic JSON-schema filler -------------------------------------------------------------


def fill_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A minimal instance of `schema`: required properties only, first choices everywhere."""
    root = root if root is not None else schema
    if depth > 12:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = (root.get("$defs") or root.get("definitions") or {}).get(name, {})
        return fill_schema(target, root, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            branches = schema[key]
            branch = next((b for b in branches if b.get("type") != "null"), branches[0])
            return fill_schema(branch, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: fill_schema(props.get(name, {}), root, depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        items = schema.get("items") or {}
        return [fill_schema(items, root, depth + 1) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "auto".ljust(schema.get("minLength", 0), "o")


# --- stage: submit_spec ---------------------------------------------------------------------

TOPICS: list[tuple[tuple[str, ...], str, str]] = [
    (("reading comprehension", "comprehension", "passage"), "reading comprehension", "short passages"),
    (
        ("arithmetic", "math", "word problem", "addition", "multiplication"),
        "multi-step arithmetic",
        "grade-school word problems",
    ),
    (("algebra", "equation"), "algebraic reasoning", "high-school algebra"),
    (("geography", "capital", "countries", "country"), "factual recall", "world geography"),
    (("history", "historical"), "factual recall", "world history"),
    (("chemistry", "element"), "scientific knowledge", "chemistry"),
    (("science", "physics", "biology"), "scientific knowledge", "general science"),
    (("logic", "deduction", "syllogism", "reasoning puzzle"), "logical reasoning", "deductive logic puzzles"),
    (("code", "programming", "python"), "code understanding", "Python programming"),
    (("common sense", "commonsense", "everyday"), "commonsense reasoning", "everyday situations"),
    (("unit conversion", "units", "measurement"), "unit conversion", "everyday measurements"),
    (("vocabulary", "synonym", "grammar"), "language knowledge", "English vocabulary"),
]
LANGUAGES = ("English", "French", "Spanish", "German", "Italian", "Portuguese", "Chinese", "Japanese")
_SIZE = re.compile(
    r"\b(\d{1,6})\s+(?:[a-z-]+\s+){0,3}?"
    r"(questions?|items?|samples?|problems?|examples?|prompts?|tasks?|puzzles?|cases?)\b"
)


def spec_draft(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    request = keys.get("request", "").strip() or "a benchmark"
    low = request.lower()
    topic = next(((cap, dom) for words, cap, dom in TOPICS if any(w in low for w in words)), None)
    vague = topic is None or len(request.split()) < 4
    draft: dict[str, Any] = {
        "goal": f"Build a benchmark for: {request}"[:400],
        "capability": topic[0] if topic else None,
        "domain": topic[1] if topic else None,
        "answer_format": _answer_format(low),
        "size": _size(low),
        "difficulty": _difficulty(low),
        "language": next((lang for lang in LANGUAGES if lang.lower() in low), None),
        "modalities": ["text"],
        "constraints": _constraints(request),
        "questions": _questions(topic, low) if vague else [],
    }
    return draft


_STEPS_ASKED = re.compile(r"\bat least (?:\d+|two|three|four|five) (?:\w+ )?(?:steps|hops|operations)\b", re.IGNORECASE)


def _constraints(request: str) -> list[str]:
    """The request's "at least N (reasoning) steps", in its own words: the one constraint this fake records."""
    return [m.group(0) for m in _STEPS_ASKED.finditer(request)][:1]


def _answer_format(low: str) -> str | None:
    if any(w in low for w in ("multiple choice", "multiple-choice", "mcq")):
        return "multiple_choice"
    if any(w in low for w in ("yes/no", "yes or no", "yes-no", "true or false", "true/false")):
        return "yes_no"
    if any(w in low for w in ("numeric", "arithmetic", "math")):
        return "numeric"
    if "short answer" in low or "short-answer" in low:
        return "short_answer"
    return None


def _size(low: str) -> int | None:
    match = _SIZE.search(low)
    return int(match.group(1)) if match and int(match.group(1)) >= 1 else None


def _difficulty(low: str) -> str | None:
    if any(w in low for w in ("hard", "harder", "challenging", "difficult")):
        return "hard"
    if any(w in low for w in ("easy", "simple", "beginner")):
        return "easy"
    if "mixed difficulty" in low:
        return "mixed"
    if "medium" in low:
        return "medium"
    return None


def _questions(topic: tuple[str, str] | None, low: str) -> list[dict[str, str]]:
    questions = []
    if topic is None:
        questions.append(
            {
                "field": "capability",
                "question": "Which skill should the benchmark test?",
                "default": "multi-step arithmetic",
            }
        )
    if _answer_format(low) is None:
        questions.append(
            {
                "field": "answer_format",
                "question": "Should answers be multiple choice, short answer, numeric or yes/no?",
                "default": "multiple_choice",
            }
        )
    if _size(low) is None:
        questions.append({"field": "size", "question": "How many questions should it have?", "default": "20"})
    return questions[:3] or [{"field": "other", "question": "Anything the questions must avoid?", "default": "nothing"}]


# --- stage: submit_subtasks -----------------------------------------------------------------

SUBTASKS: list[tuple[tuple[str, ...], list[tuple[str, str]]]] = [
    (
        ("arithmetic", "math", "word problem"),
        [
            ("Multi-step addition and subtraction", "Word problems that chain two or more additions and subtractions."),
            ("Multiplication and division word problems", "Problems about equal groups, rates and sharing."),
            ("Fractions and percentages", "Problems that take a fraction or a percentage of a quantity."),
        ],
    ),
    (
        ("geography", "capital", "country"),
        [
            ("Capital cities", "Naming the capital city of a country."),
            ("Countries from capitals", "Recognising which country a capital belongs to."),
            ("Continents", "Placing countries on their continent."),
        ],
    ),
    (
        ("chemistry", "science", "element"),
        [
            ("Chemical symbols", "Matching elements to their chemical symbols."),
            ("Everyday physics", "Qualitative questions about forces, heat and light."),
            ("Units and quantities", "Knowing the units used for common physical quantities."),
        ],
    ),
    (
        ("logic", "deduct", "reasoning"),
        [
            ("Syllogisms", "Drawing valid conclusions from two premises."),
            ("Ordering puzzles", "Working out an order from pairwise clues."),
        ],
    ),
]


def subtask_proposal(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    capability = keys.get("capability", "").strip()[:120] or "general knowledge"
    domain = keys.get("domain", "").strip()[:120] or "general topics"
    limit = max(1, min(4, _int(keys.get("maximum subtasks"), 3)))
    low = f"{capability} {domain}".lower()
    ideas = next((items for words, items in SUBTASKS if any(w in low for w in words)), None) or [
        (f"Core {capability}"[:80], f"Direct questions testing {capability} in {domain}."),
        (f"Applied {capability}"[:80], f"Questions that apply {capability} to realistic {domain} scenarios."),
        (f"Multi-step {capability}"[:80], f"Questions needing several steps of {capability} within {domain}."),
    ]
    chosen = ideas[:limit]
    subtasks = [{"name": n, "description": d, "weight": 3 - i if i < 2 else 1} for i, (n, d) in enumerate(chosen)]
    return {
        "subtasks": subtasks,
        "rationale": f"Covers {capability} in {domain} with {len(subtasks)} non-overlapping parts.",
    }


# --- stage: submit_samples ------------------------------------------------------------------


def sample_batch(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    answer_format = keys.get("answer format", "short_answer").strip().lower().replace("-", "_").replace(" ", "_")
    if answer_format not in ("multiple_choice", "short_answer", "numeric", "yes_no"):
        answer_format = "short_answer"
    count = max(1, min(20, _int(keys.get("number of samples"), 4)))
    topic = f"{keys.get('subtask', '')} {keys.get('domain', '')}".lower()
    rng = state.rng_for(json.dumps(keys, sort_keys=True))
    samples: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(samples) < count:
        item = make_item(rng, topic, answer_format)
        if item["question"] in seen:
            continue
        seen.add(item["question"])
        state.remember(item["question"], item["answer"])  # the true answer, whatever mistake the gold answer gets
        if state.choice_programs and answer_format == "multiple_choice" and item["answer"].lstrip("-").isdigit():
            item["solution_code"] = program(item["answer"], item["rationale"])
        item = generator_mistakes(item, answer_format, state)
        if answer_format == "multiple_choice":  # the generator's schema names the correct option by position
            item["correct_choice"] = item["choices"].index(item.pop("answer"))
        samples.append(item)
    return {"samples": samples}


# --- stage: submit_samples, written from the user's material (grounded generation) -----------------

MATERIAL_BLOCK = re.compile(r'<material id="(M\d+)" source="([^"]*)" where="([^"]*)">\n(.*?)\n</material>', re.DOTALL)
_ASSIGNED = re.compile(r"^Sample (\d+): write from (M\d+)(?: and (M\d+))?", re.MULTILINE)
_FIELD_LINE = re.compile(r"^([^\n:\[]+?)(?: \[([a-z ]+)\])?: (.*)$", re.MULTILINE)
FABRICATED_EVERY = 6  # items from one passage in six quote a span that is not in it, for the evidence check


def grounded_sample_batch(messages: list[dict[str, Any]], state: ContentState, *, cites: bool) -> dict[str, Any]:
    """Items written from the `<material>` blocks of the prompt: sample i from the blocks assigned to it, quoting a
    real sentence of each as evidence, except those from one passage in `FABRICATED_EVERY`, whose quote is made up."""
    text = last_user_text(messages)
    blocks = {m.group(1): (m.group(2), m.group(3), m.group(4)) for m in MATERIAL_BLOCK.finditer(text)}
    keys = key_values([{"role": "user", "content": MATERIAL_BLOCK.sub("", text)}])
    answer_format = keys.get("answer format", "short_answer").strip().lower()
    count = max(1, min(20, _int(keys.get("number of samples"), 4)))
    assigned = {int(m.group(1)): [g for g in m.groups()[1:] if g] for m in _ASSIGNED.finditer(text)}
    samples = []
    for n in range(1, count + 1):
        ids = assigned.get(n) or [sorted(blocks)[(n - 1) % len(blocks)]]
        item = _item_from(ids, blocks, answer_format, keys.get("batch", ""))
        state.remember(item["question"], item.pop("gold"))
        if not cites:
            item.pop("evidence")
        samples.append(item)
    return {"samples": samples}


def _item_from(ids: list[str], blocks: dict[str, tuple[str, str, str]], answer_format: str, batch: str) -> dict[str, Any]:
    body = blocks[ids[0]][2]
    fields = {m.group(1).strip(): (m.group(2), m.group(3)) for m in _FIELD_LINE.finditer(body)}
    gold_field = next((f for f, (use, _) in fields.items() if use == "gold answer"), None)
    if gold_field is not None:
        return _record_item(ids[0], fields, gold_field, answer_format)
    sentences = [_sentence(blocks[i][2], f"{batch}|{i}") for i in ids]
    question, answer, distractors = _blank(sentences[0], " ".join(blocks[i][2] for i in ids))
    if len(sentences) > 1:
        question = f'{question} The text also says: "{sentences[1]}"'
    quotes = [{"material": i, "quote": s} for i, s in zip(ids, sentences, strict=True)]
    if _fabricates(*blocks[ids[0]][:2]):
        quotes[0]["quote"] = "This sentence appears nowhere in the material."
    return {**_formatted(question, answer, distractors, answer_format), "evidence": quotes}


def _fabricates(source: str, where: str) -> bool:
    """Items written from one passage in six (page 6, 12, ...; else by a hash of the place) quote a made-up span."""
    numbers = re.findall(r"\d+", where)
    key = int(numbers[0]) if numbers else int(hashlib.sha256(f"{source}|{where}".encode()).hexdigest()[:8], 16)
    return key % FABRICATED_EVERY == 0


def _sentence(text: str, seed: str) -> str:
    """A sentence of the block with a few words, copied as it stands (whitespace and all)."""
    found = [m.group(0).strip() for m in re.finditer(r"[^.!?]+[.!?]", text) if len(m.group(0).split()) >= 4]
    found = [s for s in found if len(s) <= 380] or [text.strip()[:300]]
    return found[int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % len(found)]


def _blank(sentence: str, pool: str) -> tuple[str, str, list[str]]:
    """A fill-in-the-blank question on `sentence`: its longest word that occurs once, and other words as options."""
    words = re.findall(r"[A-Za-z]{4,}", sentence)
    once = [w for w in words if len(re.findall(rf"\b{re.escape(w)}\b", sentence, re.IGNORECASE)) == 1] or words or ["text"]
    answer = max(once, key=len)
    blanked = re.sub(rf"\b{re.escape(answer)}\b", "_____", sentence, count=1)
    others = sorted({w for w in re.findall(r"[A-Za-z]{4,}", pool) if w.lower() != answer.lower()})
    distractors = (others + ["river", "window", "seven", "orange"])[:3] if len(others) < 3 else \
        [others[(len(answer) * k) % len(others)] for k in (1, 3, 7)]
    distractors = list(dict.fromkeys(distractors)) + [w for w in ("river", "window", "orange") if w not in distractors]
    return f'Which word fills the blank in this statement from the text: "{" ".join(blanked.split())}"?', answer, \
        distractors[:3]


def _record_item(mid: str, fields: dict[str, tuple[str | None, str]], gold_field: str, answer_format: str) -> dict[str, Any]:
    gold = fields[gold_field][1]
    asked = next((v for f, (use, v) in fields.items() if use == "question material"), None)
    if asked is None:
        shown = next(((f, v) for f, (use, v) in fields.items() if f != gold_field and v), ("record", mid))
        asked = f"What is the {gold_field} of the record whose {shown[0]} is {shown[1]}?"
    line = f"{gold_field} [gold answer]: {gold}"
    if answer_format == "numeric":  # the record's value is the answer as it stands
        item = {"question": asked, "answer": gold, "rationale": f"The record says {gold}.",
                "solution_code": f"print({gold!r})", "gold": gold}
    else:
        item = _formatted(asked, gold, ["Unknown", "None of these", "Not stated"], answer_format)
    return {**item, "evidence": [{"material": mid, "quote": line}]}


def _formatted(question: str, answer: str, distractors: list[str], answer_format: str) -> dict[str, Any]:
    if answer_format == "multiple_choice":
        choices = [answer, *[d for d in distractors if d.lower() != answer.lower()][:3]]
        order = sorted(choices, key=lambda c: hashlib.sha256(f"{question}|{c}".encode()).hexdigest())
        return {"question": question, "choices": order, "correct_choice": order.index(answer),
                "rationale": f"The text says {answer}.", "gold": answer}
    if answer_format == "yes_no":
        claimed = answer if len(question) % 2 else distractors[0]
        verdict = "Yes" if claimed == answer else "No"
        return {"question": f"{question} Is it {claimed}? Answer Yes or No.", "answer": verdict,
                "rationale": f"The text says {answer}.", "gold": verdict}
    if answer_format == "numeric":
        count = len(answer)
        return {"question": f"{question} How many letters has the missing word?", "answer": str(count),
                "rationale": f"The missing word is {answer}.", "solution_code": f"print(len({answer!r}))", "gold": str(count)}
    return {"question": question, "answer": answer, "rationale": f"The text says {answer}.", "gold": answer}


# --- stage: submit_verdict ------------------------------------------------------------------


def judge_verdict(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    question = keys.get("question", "").strip()
    proposed = keys.get("proposed answer", "").strip()
    answer_format = keys.get("answer format", "").strip().lower()
    problems = _structural_problems(answer_format, keys.get("choices"), proposed)
    expected = state.answers.get(question)
    if not problems and expected is not None and expected.strip().lower() != proposed.lower():
        problems.append(f"incorrect answer: expected {expected}"[:200])
    if not problems and _injected_reject(question, state.judge_reject_rate):
        problems.append("ambiguous wording (injected)")
    if expected is not None and judge_errs(question, state, "verdict"):  # the verdict the wrong way round
        problems = [] if problems else ["the proposed answer looks wrong (a judge mistake, injected)"]
    return {"verdict": "reject" if problems else "accept", "reasons": problems}


def _structural_problems(answer_format: str, raw_choices: str | None, proposed: str) -> list[str]:
    if not proposed:
        return ["no proposed answer"]
    if answer_format.replace("-", "_").replace(" ", "_") != "multiple_choice":
        return []
    choices = parse_choices(raw_choices)
    if not choices:
        return ["multiple choice sample without choices"]
    if len(set(choices)) != len(choices):
        return ["duplicate choices"]
    if proposed not in choices:
        return ["proposed answer is not among the choices"]
    return []


def parse_choices(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [c.strip() for c in raw.split(" | ") if c.strip()]
    return [str(c).strip() for c in value] if isinstance(value, list) else []


def _injected_reject(question: str, rate: float) -> bool:
    if rate <= 0:
        return False
    digest = hashlib.sha256(question.encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF < rate


# --- quality control stages: briefs, inspection, repair, re-solve, adjudication, scores -------


def design_briefs(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    count = max(1, min(20, _int(keys.get("number of samples"), 4)))
    capability = keys.get("capability under test", "the skill").strip()[:80] or "the skill"
    multiple_choice = "multiple" in keys.get("answer format", "")
    rng = state.rng_for(json.dumps(keys, sort_keys=True))
    briefs = []
    for i in range(count):
        hops = rng.sample(["read the quantities", "combine the first two", "apply the last change",
                           "check the units", "compare with the question"], rng.randint(2, 4))
        brief: dict[str, Any] = {
            "facts": [f"{capability}, item {i + 1}: all numbers are stated in the question"],
            "hops": hops,
            "difficulty_plan": f"{keys.get('difficulty', 'medium')}: {len(hops)} steps, no trick",
            "leakage_guards": ["do not state the result or an intermediate total that equals it"],
        }
        if multiple_choice:
            brief["distractor_plan"] = "off by one step, a dropped step, a doubled quantity"
        briefs.append(brief)
    return {"briefs": briefs}


def inspection(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    question, gold = keys.get("question", "").strip(), keys.get("gold answer", "").strip()
    if "function name" in keys:  # a code item: its reference and tests are checked by running them
        return {"issues": []}
    answer_format = keys.get("answer format", "").strip().lower().split(" ")[0]
    issues = [{"kind": "schema", "detail": p[:200]} for p in _structural_problems(answer_format, keys.get("choices"), gold)]
    if not issues:
        issues = inspector_verdict(question, gold, state.answers.get(question), parse_choices(keys.get("choices")), state)
    return {"issues": issues}


def repair(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    """Infeasible unless the issues are ones a minimal edit can remove (tests/fake_llm_errors.py `repaired`)."""
    return repaired(keys, parse_choices(keys.get("choices")), state)


def solver_answer(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    question = keys.get("question", "").strip()
    expected = state.answers.get(question)
    if expected is None:
        return {"reasoning": "I could not work this one out.", "answer": "unknown"}
    lettered = lettered_choices(keys.get("choices"))
    if (mistake := solver_mistake(question, expected, lettered, state)) is not None:
        return {"reasoning": "Worked through the steps, one of them wrongly.", "answer": mistake}
    letter = next((label for label, text in lettered if text == expected), None)
    return {"reasoning": "Worked through the steps in order.", "answer": letter or expected}


CLOSED_BOOK_KNOWN_EVERY = 4  # the closed-book solver knows one item in four without its material


def closed_book_answer(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    """Asked without the material: the right answer for a deterministic one in `CLOSED_BOOK_KNOWN_EVERY` of the
    items this server wrote (by a hash of the question), as a model knows some facts by heart; unknown for the rest."""
    question = keys.get("question", "").strip()
    known = int(hashlib.sha256(question.encode()).hexdigest()[:8], 16) % CLOSED_BOOK_KNOWN_EVERY == 0
    if not known or question not in state.answers:
        return {"reasoning": "The question refers to material I was not given.", "answer": "unknown"}
    return solver_answer(keys, state)


def adjudication(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    question = keys.get("question", "").strip()
    expected, gold = state.answers.get(question), keys.get("gold answer", "").strip()
    right = expected is None or same_value(expected, gold)
    if expected is not None and judge_errs(question, state, "adjudication"):  # the ruling the wrong way round
        right = not right
        if not right:
            return wrong_ruling(question, gold, keys.get("solver answer", "").strip(), state)
    if right:
        return {"reasoning": "The gold answer follows from the question.", "answer": gold[:100] or None,
                "decision": "gold_correct"}
    return {"reasoning": f"The correct answer is {expected}.", "answer": expected, "decision": "solver_correct"}


def answer_grade(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    """An open answer graded against the reference: right when it holds the reference's value or its words."""
    reference, candidate = keys.get("reference answer", "").strip(), keys.get("candidate answer", "").strip()
    words = set(re.findall(r"\w+", reference.casefold()))
    right = same_value(candidate, reference) or bool(words) and words <= set(re.findall(r"\w+", candidate.casefold()))
    return {"correct": right, "reason": "It states the reference answer." if right else "It says something else."}


def quality_scores(keys: dict[str, str], state: ContentState) -> dict[str, Any]:
    digest = hashlib.sha256(keys.get("question", "").encode()).digest()
    spans = {"user_intention_alignment": (72, 95), "format_schema_quality": (80, 98), "question_answer_coherence": (80, 98),
             "context_question_correspondence": (70, 95), "target_signal_dependency": (60, 90),
             "skill_specific_challenge": (30, 60)}
    scores = {name: low + digest[i] % (high - low + 1) for i, (name, (low, high)) in enumerate(spans.items())}
    return {**scores, "comment": "Clear and answerable; the arithmetic is routine."}


STAGES: dict[str, Callable[[dict[str, str], ContentState], dict[str, Any]]] = {
    "submit_spec": spec_draft,
    "submit_subtasks": subtask_proposal,
    "submit_samples": sample_batch,
    "submit_verdict": judge_verdict,
    "submit_briefs": design_briefs,
    "submit_inspection": inspection,
    "submit_repair": repair,
    "submit_answer": solver_answer,
    "submit_closed_book_answer": closed_book_answer,
    "submit_adjudication": adjudication,
    "submit_scores": quality_scores,
    "submit_grade": answer_grade,
    "submit_edit": plan_edits,
}


# --- the problem bank -----------------------------------------------------------------------
# Each template returns (question, answer, one-sentence rationale) with the answer computed.

Problem = tuple[str, int, str]

NAMES = (
    "Aisha",
    "Bruno",
    "Chen",
    "Dana",
    "Emeka",
    "Farah",
    "Goran",
    "Hana",
    "Ivan",
    "Jamal",
    "Keiko",
    "Luis",
    "Maya",
    "Nils",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Samir",
    "Tomas",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zara",
    "Amara",
    "Bao",
    "Carmen",
    "Dmitri",
    "Elif",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
)
GOODS = (
    "notebooks",
    "apples",
    "pencils",
    "concert tickets",
    "bus passes",
    "mangoes",
    "candles",
    "plant pots",
    "comic books",
    "bags of rice",
    "bottles of juice",
    "packs of cards",
    "light bulbs",
    "scarves",
    "muffins",
)
BAKED = ("croissants", "bagels", "cupcakes", "cookies", "rolls", "pretzels", "scones", "dumplings")
PLACES = ("library", "museum", "stadium", "school", "zoo", "cinema", "market", "harbour", "factory", "farm")


def _name(r: random.Random) -> str:
    return r.choice(NAMES)


def _t_change(r: random.Random) -> Problem:
    n, q, p = _name(r), r.randint(2, 19), r.randint(2, 45)
    bill = (q * p // 50 + 1 + r.randint(0, 3)) * 50
    good = r.choice(GOODS)
    text = r.choice(
        (
            f"{n} buys {q} {good} at ${p} each and pays with ${bill}. How many dollars of change does {n} get?",
            f"At the {r.choice(PLACES)} shop, {q} {good} cost ${p} apiece. {n} hands over ${bill}. What change is due, in dollars?",
        )
    )
    return text, bill - q * p, f"{q} x {p} = {q * p} dollars spent, and {bill} - {q * p} = {bill - q * p}."


def _t_bakery(r: random.Random) -> Problem:
    trays, per, good = r.randint(3, 40), r.randint(6, 36), r.choice(BAKED)
    sold = r.randint(1, trays * per - 1)
    text = r.choice(
        (
            f"A bakery bakes {trays} trays of {good} with {per} on each tray and sells {sold} of them. How many {good} are left?",
            f"{_name(r)} fills {trays} trays with {per} {good} each for a fair; by noon {sold} have been sold. How many remain unsold?",
        )
    )
    return (
        text,
        trays * per - sold,
        f"{trays} x {per} = {trays * per} baked, and {trays * per} - {sold} = {trays * per - sold} are left.",
    )


def _t_distance(r: random.Random) -> Problem:
    speed, hours = r.randint(12, 160), r.randint(2, 14)
    vehicle = r.choice(("train", "truck", "ferry", "coach", "cyclist"))
    text = r.choice(
        (
            f"A {vehicle} travels at a steady {speed} km/h for {hours} hours. How many kilometres does it cover?",
            f"Moving at {speed} kilometres per hour without stopping, how far in km does a {vehicle} get in {hours} hours?",
        )
    )
    return text, speed * hours, f"Distance is speed times time: {speed} x {hours} = {speed * hours} km."


def _t_savings(r: random.Random) -> Problem:
    n, per, weeks = _name(r), r.randint(5, 120), r.randint(3, 52)
    spent = r.randint(1, per * weeks - 1)
    text = r.choice(
        (
            f"{n} saves ${per} every week for {weeks} weeks, then spends ${spent} on a bicycle. How many dollars are left?",
            f"Each week for {weeks} weeks {n} puts ${per} into a jar. After taking out ${spent} for a gift, how much money is in the jar?",
        )
    )
    return (
        text,
        per * weeks - spent,
        f"{per} x {weeks} = {per * weeks} saved, and {per * weeks} - {spent} = {per * weeks - spent}.",
    )


def _t_share(r: random.Random) -> Problem:
    n, friends, each = _name(r), r.randint(2, 24), r.randint(3, 90)
    good = r.choice(GOODS)
    text = r.choice(
        (
            f"{n} shares {friends * each} {good} equally among {friends} friends. How many does each friend receive?",
            f"A crate of {friends * each} {good} is split evenly between {friends} volunteers at the {r.choice(PLACES)}. How many does each volunteer get?",
        )
    )
    return text, each, f"{friends * each} / {friends} = {each}."


def _t_discount(r: random.Random) -> Problem:
    price, pct = 20 * r.randint(2, 60), r.choice((5, 10, 15, 20, 25, 30, 40, 50, 60, 75))
    thing = r.choice(("jacket", "lamp", "bicycle", "phone case", "backpack", "tent", "kettle", "chair"))
    sale = price - price * pct // 100
    text = r.choice(
        (
            f"A {thing} priced at ${price} is reduced by {pct}% in a sale. What is the sale price in dollars?",
            f"During a clearance, every {thing} gets {pct}% off its ${price} tag. How many dollars does one cost now?",
        )
    )
    return (
        text,
        sale,
        f"{pct}% of {price} is {price} x {pct} / 100 = {price * pct // 100}, so the price is {price} - {price * pct // 100} "
        f"= {sale}.",
    )


def _t_fraction(r: random.Random) -> Problem:
    den = r.choice((2, 3, 4, 5, 6, 8, 10))
    num, total = r.randint(1, den - 1), den * r.randint(3, 40)
    group = r.choice(("students", "passengers", "runners", "members", "visitors", "employees"))
    activity = r.choice(
        ("walk to the event", "bring a packed lunch", "wear a hat", "arrive early", "speak two languages")
    )
    text = r.choice(
        (
            f"There are {total} {group}, and {num}/{den} of them {activity}. How many {group} {activity}?",
            f"Out of {total} {group} at the {r.choice(PLACES)}, exactly {num} in every {den} {activity}. How many is that?",
        )
    )
    return (
        text,
        total * num // den,
        f"{total} / {den} = {total // den}, and {total // den} x {num} = {total * num // den}.",
    )


def _t_area(r: random.Random) -> Problem:
    length, width = r.randint(3, 95), r.randint(2, 60)
    place = r.choice(("garden", "car park", "classroom floor", "swimming pool", "field", "rooftop terrace"))
    text = r.choice(
        (
            f"A rectangular {place} is {length} m long and {width} m wide. What is its area in square metres?",
            f"How many square metres of tiles cover a {length} m by {width} m rectangular {place} exactly?",
        )
    )
    return text, length * width, f"Area = length x width = {length} x {width} = {length * width}."


def _t_perimeter(r: random.Random) -> Problem:
    length, width = r.randint(4, 250), r.randint(3, 180)
    text = r.choice(
        (
            f"A fence goes all the way around a rectangular paddock {length} m by {width} m. How many metres of fence are needed?",
            f"What is the perimeter, in centimetres, of a rectangle measuring {length} cm by {width} cm?",
        )
    )
    return text, 2 * (length + width), f"Perimeter = 2 x ({length} + {width}) = {2 * (length + width)}."


def _t_age(r: random.Random) -> Problem:
    a, b = r.sample(NAMES, 2)
    age, extra = r.randint(4, 40), r.randint(1, 25)
    text = r.choice(
        (
            f"{a} is {age} years old. {b} is {extra} years older than twice {a}'s age. How old is {b}?",
            f"{b}'s age is twice {a}'s age plus {extra}. If {a} is {age}, what is {b}'s age in years?",
        )
    )
    return text, 2 * age + extra, f"2 x {age} + {extra} = {2 * age + extra}."


def _t_warehouse(r: random.Random) -> Problem:
    stock, arrive = r.randint(50, 5000), r.randint(10, 900)
    ship = r.randint(1, stock + arrive - 1)
    unit = r.choice(("boxes", "pallets", "crates", "sacks", "barrels"))
    text = r.choice(
        (
            f"A warehouse holds {stock} {unit}. On Monday {arrive} more arrive and on Tuesday {ship} are shipped out. How many {unit} are there now?",
            f"Starting with {stock} {unit} in stock, a depot receives {arrive} and then dispatches {ship}. What is the new stock count?",
        )
    )
    total = stock + arrive - ship
    return text, total, f"{stock} + {arrive} - {ship} = {total}."


def _t_production(r: random.Random) -> Problem:
    rate, hours, days = r.randint(12, 400), r.randint(2, 12), r.randint(2, 7)
    good = r.choice(("widgets", "bottles", "bricks", "masks", "chairs", "circuit boards"))
    text = r.choice(
        (
            f"A machine makes {rate} {good} per hour and runs {hours} hours a day for {days} days. How many {good} does it make?",
            f"Working {hours} hours daily at {rate} {good} an hour, how many {good} does a line turn out over {days} days?",
        )
    )
    total = rate * hours * days
    return text, total, f"{rate} x {hours} x {days} = {total}."


def _t_product(r: random.Random) -> Problem:
    a, b = r.randint(11, 999), r.randint(3, 99)
    text = r.choice(
        (f"What is {a} times {b}?", f"Compute the product of {a} and {b}.", f"Multiply {a} by {b}. What do you get?")
    )
    return text, a * b, f"{a} x {b} = {a * b}."


def _t_sum(r: random.Random) -> Problem:
    values = [r.randint(10, 9999) for _ in range(r.randint(3, 5))]
    listed = ", ".join(map(str, values[:-1])) + f" and {values[-1]}"
    text = r.choice((f"What is the sum of {listed}?", f"Add up {listed}. What is the total?"))
    return text, sum(values), f"{' + '.join(map(str, values))} = {sum(values)}."


def _t_pages(r: random.Random) -> Problem:
    n, per, days = _name(r), r.randint(5, 60), r.randint(2, 20)
    total = per * days + r.randint(1, 900)
    text = r.choice(
        (
            f"{n}'s book has {total} pages. {n} reads {per} pages a day for {days} days. How many pages are still unread?",
            f"A novel is {total} pages long. Reading {per} pages each evening, {n} has kept going for {days} evenings. How many pages remain?",
        )
    )
    return (
        text,
        total - per * days,
        f"{per} x {days} = {per * days} read, and {total} - {per * days} = {total - per * days}.",
    )


def _t_fuel(r: random.Random) -> Problem:
    litres, hundreds = r.randint(4, 15), r.randint(2, 30)
    text = r.choice(
        (
            f"A car uses {litres} litres of fuel per 100 km. How many litres does it need for a {hundreds * 100} km trip?",
            f"Burning {litres} L every 100 km, how much fuel in litres does a van use to drive {hundreds * 100} km?",
        )
    )
    return (
        text,
        litres * hundreds,
        f"{hundreds * 100} / 100 = {hundreds} hundreds of km, and {hundreds} x {litres} = {litres * hundreds}.",
    )


ADD_SUB = (_t_change, _t_bakery, _t_savings, _t_warehouse, _t_sum, _t_pages, _t_age)
MUL_DIV = (_t_distance, _t_share, _t_area, _t_production, _t_product, _t_fuel, _t_perimeter)
FRAC_PCT = (_t_discount, _t_fraction, _t_fuel)
ARITHMETIC = ADD_SUB + MUL_DIV + (_t_discount, _t_fraction)

CAPITALS = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Kenya": "Nairobi",
    "Canada": "Ottawa",
    "Australia": "Canberra",
    "Brazil": "Brasilia",
    "Egypt": "Cairo",
    "Norway": "Oslo",
    "Peru": "Lima",
    "Vietnam": "Hanoi",
    "Portugal": "Lisbon",
    "Turkey": "Ankara",
    "Chile": "Santiago",
    "Ghana": "Accra",
    "Poland": "Warsaw",
    "Thailand": "Bangkok",
    "Argentina": "Buenos Aires",
    "Morocco": "Rabat",
    "Finland": "Helsinki",
    "New Zealand": "Wellington",
    "Mexico": "Mexico City",
    "India": "New Delhi",
    "Ireland": "Dublin",
    "Hungary": "Budapest",
    "Colombia": "Bogota",
    "Nigeria": "Abuja",
    "Greece": "Athens",
    "Sweden": "Stockholm",
    "South Korea": "Seoul",
    "Austria": "Vienna",
    "Cuba": "Havana",
    "Ethiopia": "Addis Ababa",
}
SYMBOLS = {
    "sodium": "Na",
    "potassium": "K",
    "iron": "Fe",
    "gold": "Au",
    "silver": "Ag",
    "lead": "Pb",
    "tin": "Sn",
    "copper": "Cu",
    "mercury": "Hg",
    "tungsten": "W",
    "helium": "He",
    "neon": "Ne",
    "calcium": "Ca",
    "magnesium": "Mg",
    "chlorine": "Cl",
    "zinc": "Zn",
    "nickel": "Ni",
    "sulfur": "S",
    "phosphorus": "P",
    "antimony": "Sb",
    "argon": "Ar",
    "lithium": "Li",
    "uranium": "U",
    "carbon": "C",
    "oxygen": "O",
}
CAPITAL_FRAMES = (
    "What is the capital city of {k}?",
    "Which city is the capital of {k}?",
    "Name the capital of {k}.",
    "In which city is the national government of {k} based?",
)
SYMBOL_FRAMES = (
    "What is the chemical symbol for {k}?",
    "Which symbol does the periodic table use for {k}?",
    "Write the element symbol of {k}.",
)
YES_NO_FRAMES = (
    "Is the answer {c}?",
    "Answer yes or no: is it {c}?",
    "Would {c} be the correct result?",
    "True or not: the answer is {c}. Reply Yes or No.",
)


def make_item(rng: random.Random, topic: str, answer_format: str) -> dict[str, Any]:
    """One correct sample draft for `answer_format`, drawn from the bank that fits `topic`."""
    facts = _fact_table(topic)
    if facts is not None and answer_format != "numeric":
        return _fact_item(rng, facts, answer_format)
    question, value, rationale = rng.choice(_templates(topic))(rng)
    if answer_format == "multiple_choice":
        choices = [str(v) for v in _number_distractors(rng, value)] + [str(value)]
        rng.shuffle(choices)
        return {"question": question, "choices": choices, "answer": str(value), "rationale": rationale}
    if answer_format == "yes_no":
        claimed = value if rng.random() < 0.5 else rng.choice(_number_distractors(rng, value))
        text = f"{question} {rng.choice(YES_NO_FRAMES).format(c=claimed)}"
        verdict = "Yes" if claimed == value else "No"
        return {
            "question": text,
            "answer": verdict,
            "rationale": f"{rationale[:-1]}, so the claim {claimed} is {'right' if verdict == 'Yes' else 'wrong'}.",
        }
    item: dict[str, Any] = {"question": question, "answer": str(value), "rationale": rationale}
    if answer_format == "numeric":
        item["solution_code"] = solution_program(rationale, value)
    return item


_EQUATION = re.compile(r"((?:\(?\d+\)?\s*[x+\-/]\s*)+\(?\d+\)?)\s*=\s*(\d+)")


def solution_program(rationale: str, value: int) -> str:
    """A program that computes `value` step by step, one line per equation of the rationale ("4 x 18 = 72, and
    100 - 72 = 28"), each later use of an earlier result named by its step; a constant when the equations do
    not end in `value`."""
    lines: list[str] = []
    names: dict[str, str] = {}
    for expression, result in _EQUATION.findall(rationale):
        code = re.sub(r"\d+", lambda m: names.get(m.group(), m.group()), expression)
        lines.append(f"step{len(lines) + 1} = {code.replace(' x ', ' * ').replace('/', '//')}")
        names[result] = f"step{len(lines)}"
    if not lines or names.get(str(value)) != f"step{len(lines)}":
        return f"# {rationale}\nanswer = {value}\nprint(answer)\n"
    return "\n".join([f"# {rationale}", *lines, f"print(step{len(lines)})"]) + "\n"


def _templates(topic: str) -> tuple[Callable[[random.Random], Problem], ...]:
    if "fraction" in topic or "percent" in topic:
        return FRAC_PCT
    if "multipl" in topic or "divis" in topic:
        return MUL_DIV
    if "addition" in topic or "subtraction" in topic:
        return ADD_SUB
    return ARITHMETIC


def _fact_table(topic: str) -> tuple[dict[str, str], tuple[str, ...]] | None:
    if any(w in topic for w in ("capital", "geograph", "countr")):
        return CAPITALS, CAPITAL_FRAMES
    if any(w in topic for w in ("chemi", "element", "symbol")):
        return SYMBOLS, SYMBOL_FRAMES
    return None


def _fact_item(rng: random.Random, facts: tuple[dict[str, str], tuple[str, ...]], answer_format: str) -> dict[str, Any]:
    table, frames = facts
    key = rng.choice(sorted(table))
    answer, question = table[key], rng.choice(frames).format(k=key)
    rationale = f"The answer for {key} is {answer}."
    others = rng.sample(sorted(set(table.values()) - {answer}), 3)
    if answer_format == "multiple_choice":
        choices = others + [answer]
        rng.shuffle(choices)
        return {"question": question, "choices": choices, "answer": answer, "rationale": rationale}
    if answer_format == "yes_no":
        claimed = answer if rng.random() < 0.5 else others[0]
        verdict = "Yes" if claimed == answer else "No"
        text = f"{question.rstrip('.?')}: is it {claimed}? Answer Yes or No."
        return {"question": text, "answer": verdict, "rationale": rationale}
    return {"question": question, "answer": answer, "rationale": rationale}


def _number_distractors(rng: random.Random, value: int) -> list[int]:
    spread = max(3, abs(value) // 10)
    pool = {
        value + 1,
        value - 1,
        value + 2,
        value + 10,
        value - 10,
        value * 2,
        value // 2,
        value + rng.randint(3, spread + 3),
        value - rng.randint(3, spread + 3),
    }
    pool = {v for v in pool if v >= 0 and v != value}
    return rng.sample(sorted(pool), 3)
