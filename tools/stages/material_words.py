"""What one instruction about the user's material says, read without a model.

Two kinds: which part of the material to use ("use only chapter 3", "skip the appendix", "only pages 2-5",
"skip data.csv for Fractions") and what a field of the data records is for ("use 'summary' as context",
"the gold answer is in label", "'topic' is a label", "ignore the id column"). The readers only parse: whether
the part or the field exists is decided against the material when the edit is applied (plan_edits).
"""

from __future__ import annotations

import re

from tools.contracts import FieldUse, SelectMaterial, SetFieldUse, SubtaskPlan
from tools.errors import InvalidEdit
from tools.stages.plan_edits import resolve_subtask
from tools.stages.spec_words import format_in_text

# The words for each use of a field, longest first within a use.
_USES: dict[FieldUse, tuple[str, ...]] = {
    "answer": ("gold answers?", "correct answers?", "right answers?", "reference answers?", "true answers?",
               "expected answers?", "answers?", "gold", "targets?", "ground truth", "solutions?"),
    "context": ("context", "contexts", "passages?", "background", "source text", "documents?", "reading"),
    "question": ("questions?", "prompts?", "inputs?"),
    "label": ("labels?", "categor(?:y|ies)", "tags?", "metadata", "classes", "class"),
    "ignore": ("nothing", "unused"),
}
_USE = "|".join(f"(?:{w})" for words in _USES.values() for w in words)
_QUOTE = "['\"‘’“”`]"
_FIELD = rf"(?:the\s+)?(?:field|column)?\s*{_QUOTE}?(?P<f>[\w.\- ]{{1,80}}?){_QUOTE}?(?:\s+(?:field|column))?"
_ARTICLE = r"(?:(?:the|a|an|its|their)\s+)?"

_FIELD_PATTERNS = (
    # "use 'summary' as context", "treat label as the gold answer", "take text as the question"
    re.compile(rf"^(?:use|treat|take|read|keep)\s+{_FIELD}\s+as\s+{_ARTICLE}(?P<u>{_USE})(?:\s+field)?$", re.I),
    # "label is the gold answer", "'topic' holds a label", "summary is context"
    re.compile(rf"^{_FIELD}\s+(?:is|are|holds?|has|contains?|gives?|should be|becomes?)\s+{_ARTICLE}(?P<u>{_USE})$", re.I),
    # "the gold answer is in label", "answers come from the 'label' column", "context is in 'summary'"
    re.compile(rf"^{_ARTICLE}(?P<u>{_USE})\s+(?:is|are|comes?|lies|sits?|lives?|should come|can be found)\s+"
               rf"(?:in|from|under)\s+{_FIELD}$", re.I),
    # "write the questions from 'text'"
    re.compile(rf"^(?:write|make|base|build)\s+{_ARTICLE}(?P<u>questions?|items?)\s+(?:from|on)\s+{_FIELD}$", re.I),
)
_IGNORE_FIELD = re.compile(rf"^(?:ignore|skip|drop|exclude|leave out|do without)\s+(?:the\s+)?(?:(?:field|column)\s+"
                           rf"{_QUOTE}?(?P<f>[\w.\- ]{{1,80}}?){_QUOTE}?|{_QUOTE}?(?P<g>[\w.\- ]{{1,80}}?){_QUOTE}?\s+"
                           rf"(?:field|column))$", re.I)

# Which part of the material: "use only X", "only X", "stick to X"; "skip X", "ignore X", "exclude X".
_ONLY = (
    re.compile(r"^(?:please\s+)?(?:use|keep|take|read|cover)\s+only\s+(?P<t>.+)$", re.I),
    re.compile(r"^only\s+(?:use\s+|take\s+|cover\s+|read\s+)?(?P<t>.+)$", re.I),
    re.compile(r"^(?:use|take|cover)\s+(?P<t>.+?)\s+only$", re.I),
    re.compile(r"^(?:stick to|focus on|limit (?:it|the material|yourself|the questions) to|"
               r"restrict (?:it|the material|the questions) to)\s+(?P<t>.+)$", re.I),
)
_SKIP = re.compile(r"^(?:skip|ignore|exclude|omit|leave out|do without|don't use|do not use)\s+(?P<t>.+)$", re.I)
# What an "only" is not about: amounts ("only 10 samples") and formats ("only multiple choice").
_NOT_MATERIAL = re.compile(r"^(?:\d[\d,]*|a few|one|two|three|four|five|ten)\s+(?:samples?|items?|questions?|problems?)"
                           r"\b|^(?:the\s+)?(?:easy|hard|medium|harder|easier)\b", re.I)
# Words that start an instruction about material, for cutting a message into instructions.
STARTS = re.compile(rf"^(?:(?:use|keep|take|read|cover)\s+only|only|skip|ignore|exclude|omit|stick to|focus on|"
                    rf"treat|{_ARTICLE}(?:{_USE})\s+(?:is|are|comes?)\s+(?:in|from)|{_QUOTE})\b", re.I)


def _use_of(word: str) -> FieldUse:
    for use, words in _USES.items():
        if any(re.fullmatch(w, word, re.I) for w in words):
            return use
    raise ValueError(word)  # unreachable: the patterns only match the words above


def _field(name: str) -> str | None:
    name = name.strip().strip("'\"‘’“”`").strip()
    return name if name and re.search(r"\w", name) and name.lower() not in ("it", "this", "that", "them") else None


def read_field_use(text: str) -> SetFieldUse | None:
    """The field-use instruction `text` is, or None: "use 'summary' as context", "the gold answer is in label"."""
    text = text.strip().rstrip(".!").strip()
    for pattern in _FIELD_PATTERNS:
        m = pattern.match(text)
        if m and (field := _field(m.group("f"))) is not None:
            use: FieldUse = "question" if m.group("u").lower().startswith("item") else _use_of(m.group("u"))
            return SetFieldUse(op="field", field=field[:120], use=use)
    m = _IGNORE_FIELD.match(text)
    if m and (field := _field(m.group("f") or m.group("g"))) is not None:
        return SetFieldUse(op="field", field=field[:120], use="ignore")
    return None


def _target_and_subtask(target: str, plan: SubtaskPlan | None) -> tuple[str, str | None]:
    """`target` without a trailing "for Fractions" that names one of the plan's subtasks, and that subtask."""
    if plan is not None:
        m = re.match(r"^(?P<t>.+?)\s+(?:for|in)\s+(?:the\s+)?(?:subtask\s+)?(?P<s>.+)$", target, re.I)
        if m:
            try:
                return m.group("t"), resolve_subtask(plan, m.group("s")).id
            except InvalidEdit:
                pass
    return target, None


def _clean_target(target: str) -> str:
    target = re.sub(r"^(?:(?:the|from|of)\s+)+", "", target.strip(), flags=re.I)
    target = re.sub(r"\s+(?:of (?:the|my|this) (?:document|file|material|book|report|pdf))$", "", target, flags=re.I)
    return target.strip().strip("'\"‘’“”`").strip()


def read_selection(text: str, plan: SubtaskPlan | None) -> SelectMaterial | None:
    """The material-selection instruction `text` is, or None: "use only chapter 3", "skip the appendix",
    "only pages 2-5 for Fractions". An "only" about amounts, formats, difficulty or a subtask is not one."""
    text = text.strip().rstrip(".!").strip()
    action: str | None = None
    target = ""
    for pattern in _ONLY:
        if (m := pattern.match(text)) is not None:
            action, target = "only", m.group("t")
            break
    if action is None and (m := _SKIP.match(text)) is not None and read_field_use(text) is None:
        action, target = "skip", m.group("t")
    if action is None:
        return None
    target, subtask = _target_and_subtask(target, plan)
    target = _clean_target(target)
    if not target or _NOT_MATERIAL.match(target) or format_in_text(target) or _names_subtask(target, plan):
        return None
    return SelectMaterial(op="material", action=action, target=target[:200], subtask=subtask)  # type: ignore[arg-type]


def _names_subtask(target: str, plan: SubtaskPlan | None) -> bool:
    """Whether `target` is exactly one of the plan's subtasks ("keep only Fractions" is about the plan)."""
    lowered = target.lower()
    return plan is not None and any(lowered in (s.id, s.name.lower()) for s in plan.subtasks)


def read_material_words(text: str, plan: SubtaskPlan | None) -> list[SelectMaterial | SetFieldUse] | None:
    """The material instruction `text` is (one edit), or None."""
    edit: SelectMaterial | SetFieldUse | None = read_field_use(text) or read_selection(text, plan)
    return [edit] if edit is not None else None
