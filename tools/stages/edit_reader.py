"""The plain-command reader of plan edits: a message cut into its instructions, each read as typed edits.

No model is involved. "Drop the second subtask, split the first into easy and hard, and double the size
of the last one" is three instructions; each becomes a `RequestPart` holding its edits, or saying that it
was not understood or not asked for ("don't drop Fractions"). A list's numbers and bullets are not
instructions, and several instructions may share one verb ("make 2 harder and 3 easier", "give Fractions 12
and Geometry 2"). Subtask references are kept as written; the refinement stage pins them to the plan the
user saw before applying anything.
"""

from __future__ import annotations

import difflib
import re

from pydantic import ValidationError

from tools.contracts import PlanEdit, RequestPart, SubtaskPlan
from tools.errors import InvalidEdit
from tools.stages import material_words
from tools.stages.amounts import NUMBER
from tools.stages.edit_words import READERS, make_edit
from tools.stages.plan_edits import resolve_subtask

_VERBS = ("drop", "remove", "delete", "cut", "scrap", "lose", "eliminate", "rename", "call", "retitle", "split", "break",
          "divide", "separate", "merge", "combine", "join", "unite", "add", "include", "create", "introduce",
          "make", "set", "change", "give", "double", "triple", "halve", "increase", "decrease", "reduce", "raise",
          "lower", "grow", "shrink", "bump", "boost", "scale", "use", "switch", "convert", "turn", "keep", "bring",
          "put", "take", "trim", "expand", "get", "have", "skip", "ignore", "exclude", "omit", "only", "treat")


_NEGATION = r"(?:don'?t|do not|dont|never|not|no need to|rather not|instead of|rather than|but not|without)"


_LEAD = re.compile(r"^(?:please|pls|can you|could you|would you|will you|kindly|let's|lets|let us|now|and|then|also|"
                   r"ok|okay|so|finally|lastly|first|firstly|next|after that|plus|i want to|i'd like to|id like to|"
                   r"i would like to|we want to|we need to|i need to|you should|go ahead and|just|actually|"
                   r"on second thought|hmm+|wait|oh|ah|well|never ?mind)(?:[,\s]+|$)", re.IGNORECASE)


_PRONOUN = re.compile(r"\b(?:it|that one|this one|that subtask|this subtask|that part)\b", re.IGNORECASE)


_ABOUT_ONE = ("harder", "easier", "difficulty", "format", "scale", "quota")


def read_request(text: str, plan: SubtaskPlan) -> list[RequestPart]:
    """Every instruction in `text`, in order, each with its edits or why there are none. "It" after an
    instruction about one subtask means that subtask ("rename Geometry to Areas and make it harder")."""
    parts: list[RequestPart] = []
    for clause in _unnegated(split_clauses(text)):
        part = _read_clause(clause, plan)
        if part.outcome == "not_understood" or (part.outcome == "done" and not _all_resolve(part.edits, plan)):
            *first, part = _elliptic(clause, plan) or [part]  # one verb for several instructions, when that reads
            parts += first
        previous = _named(parts[-1], plan) if parts else []
        if previous and part.outcome == "done" and _PRONOUN.search(clause) and \
                not re.match(r"^(?:make|set|resize|scale)\s+it\s+" + NUMBER, clause, re.IGNORECASE):
            part = part.model_copy(update={"edits": _about(part.edits, previous, clause)})
        parts.append(part)
    return parts


def _unnegated(clauses: list[str]) -> list[str]:
    """ "don't drop Fractions, just Geometry": the negated instruction, then the same verb for what follows."""
    out: list[str] = []
    for clause in clauses:
        m = re.match(rf"^(?P<neg>{_NEGATION}\s+(?P<verb>[a-z]+)\b.*?),?\s+(?:just|only|but|instead)\s+(?P<rest>.+)$", clause,
                     re.IGNORECASE)
        out += [m.group("neg"), f"{m.group('verb')} {m.group('rest')}"] if m and _verb(m.group("verb").lower()) else [clause]
    return out


def _elliptic(clause: str, plan: SubtaskPlan) -> list[RequestPart] | None:
    """A clause of several instructions sharing one verb ("make the second one harder and the third one easier",
    "give Fractions 12 and Geometry 2"), read as one instruction each; None unless every one reads and resolves."""
    pieces = [p for p in re.split(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+", clause) if p.strip()]
    verb = re.match(r"[A-Za-z']+", pieces[0]) if len(pieces) > 1 else None
    if verb is None or any(not re.search(r"[A-Za-z]{3}", p) for p in pieces[1:]):
        return None
    read = [_read_clause(pieces[0], plan)]
    read += [_read_clause(p if _starts_instruction(p) else f"{verb.group()} {p}", plan).model_copy(update={"text": p})
             for p in pieces[1:]]
    if any(r.outcome != "done" or not _all_resolve(r.edits, plan) for r in read):
        return None
    subject = _named(read[0], plan)
    for i, piece in enumerate(pieces[1:], 1):
        if subject and _no_target(piece):  # "make Geometry yes/no and harder": harder is about Geometry too
            read[i] = read[i].model_copy(update={"edits": _about(read[i].edits, subject, piece)})
    return read


def _no_target(piece: str) -> bool:
    """Whether an elided instruction names nothing but a level or a format ("harder", "a bit easier", "numeric")."""
    rest = re.sub(r"\b(?:make|a bit|a little|a lot|much|way|far|slightly|somewhat|even|more|less|harder|easier|simpler|"
                  r"tougher|difficult|challenging|hard|easy|medium|mixed|numeric|yes/no|true/false|multiple[- ]choice|"
                  r"short[- ]answer|answers?|questions?|too|also)\b", " ", piece, flags=re.IGNORECASE)
    return not rest.strip(" ,.")


def _all_resolve(edits: list[PlanEdit], plan: SubtaskPlan) -> bool:
    """Whether every subtask `edits` name is one of `plan`'s."""
    refs = [r for e in edits for r in [*getattr(e, "subtasks", []), getattr(e, "subtask", None)] if r]
    try:
        for ref in refs:
            resolve_subtask(plan, ref)
    except InvalidEdit:
        return False
    return True


def _about(edits: list[PlanEdit], refs: list[str], clause: str) -> list[PlanEdit]:
    """`edits` made about the subtasks `refs`, where they were about the whole benchmark ("give it 5 samples")."""
    if re.match(r"^(?:give|allot|assign)\b", clause, re.IGNORECASE) and [e.op for e in edits] == ["size"]:
        return [make_edit(op="quota", subtask=ref, quota=edits[0].size) for ref in refs]  # type: ignore[union-attr]
    if not all(e.op in _ABOUT_ONE and getattr(e, "subtask", None) is None for e in edits):
        return edits
    return [e.model_copy(update={"subtask": ref}) for ref in refs for e in edits]


def _named(part: RequestPart, plan: SubtaskPlan) -> list[str]:
    """What "it" refers to after `part`: the one subtask it was about (both halves after a split), if any."""
    if part.outcome != "done" or len(part.edits) != 1:
        return []
    edit = part.edits[0]
    if edit.op == "add":
        return [edit.name]  # type: ignore[union-attr]
    if edit.op == "merge":  # "merge 1 and 2, then double it": the merged subtask, by its new name
        try:
            parts = [resolve_subtask(plan, ref) for ref in edit.subtasks]  # type: ignore[union-attr]
        except InvalidEdit:
            return []
        ordered = [s for s in plan.subtasks if s in parts]
        return [(edit.name or " + ".join(s.name for s in ordered)).strip()[:120]]  # type: ignore[union-attr]
    ref = getattr(edit, "subtask", None)
    if ref is None or edit.op == "drop":
        return []
    if edit.op == "rename":
        return [edit.name]  # type: ignore[union-attr]
    if edit.op == "split":
        try:
            name = resolve_subtask(plan, ref).name
        except InvalidEdit:
            return []
        return [f"{name} (easy)"[:120], f"{name} (hard)"[:120]]
    return [ref]


def split_clauses(text: str) -> list[str]:
    """`text` cut where a new instruction starts: at ';' or a sentence end, and at ',', 'and', 'then', 'also' or
    'but' when an edit verb (or a negation) follows. "merge 1 and 2" and "easy and hard" stay whole."""
    clauses: list[str] = []
    text = re.sub(r"(?m)^\s*(?:\(?\d{1,2}[.)]|[-*•])\s+", "", text)  # a list's numbers and bullets
    for sentence in re.split(r"[;\n]+|(?<=[.!?])\s+", text):
        start = 0
        cut = re.compile(r",\s*(?:and\s+|then\s+|but\s+)*|\s+(?:and|&|then|also|but|plus)\s+(?:then\s+|also\s+)*|"
                         r"\s+(?=(?:instead of|rather than)\s)",
                         re.IGNORECASE)
        for match in cut.finditer(sentence):
            if _starts_instruction(sentence[match.end():]):
                clauses.append(sentence[start:match.start()])
                start = match.end()
        clauses.append(sentence[start:])
    return [c for c in (_clean(c) for c in clauses) if re.search(r"\w", c)]


def _starts_instruction(rest: str) -> bool:
    rest = _strip_lead(rest)
    if re.match(rf"{_NEGATION}\b", rest, re.IGNORECASE) or material_words.STARTS.match(rest):
        return True
    first = re.match(r"[a-z']+", rest.lower())
    return bool(first) and _verb(first.group()) is not None  # type: ignore[union-attr]


def _verb(word: str) -> str | None:
    """`word` as an edit verb, typos forgiven ('spilt', 'drpo', 'mrege'); None when it is none."""
    if word in _VERBS:
        return word
    if len(word) < 4:
        return None
    close = difflib.get_close_matches(word, _VERBS, n=1, cutoff=0.75)
    return close[0] if close and len(close[0]) >= 4 else None


def _strip_lead(text: str) -> str:
    text = text.strip()
    while (stripped := _LEAD.sub("", text)) != text:
        text = stripped.strip()
    return text


def _clean(text: str) -> str:
    text = _strip_lead(re.sub(r"\s+", " ", text).strip().strip(",").strip())
    text = re.sub(r"[,\s]+(?:please|pls|thanks|thank you)$", "", text.rstrip(".!?").strip(), flags=re.IGNORECASE)
    return text.rstrip(".!?").strip()


_SETTING = re.compile(r"\b(?:harder|easier|simpler|tougher|easy|medium|hard|mixed|numeric|numerical|yes/no|true/false|"
                      r"multiple[- ]choice|short[- ]answers?|free[- ]text)\b", re.IGNORECASE)


def _rephrased(clause: str, plan: SubtaskPlan) -> str:
    """An instruction written without its verb, as the edit it asks for: "I don't want Geometry" and "no Geometry"
    (a drop), "the second subtask should be numeric" and "I want everything yes/no" (a make)."""
    if (m := re.match(r"^(?:i|we)\s+(?:don'?t|do not|no longer)\s+(?:want|need)\s+(?P<a>.+)$", clause, re.I)):
        return f"drop {m.group('a')}"
    if (m := re.match(r"^no\s+(?:more\s+)?(?P<a>[^,]+)$", clause, re.I)) and _all_resolve_ref(m.group("a"), plan):
        return f"drop {m.group('a')}"
    m = re.match(r"^(?P<a>.+?)\s+(?:should|must|needs? to|has to|ought to)\s+(?:be|become|get|use|have)\s+(?P<b>.+)$",
                 clause, re.I) or re.match(r"^(?:i|we)\s+(?:want|need|would like|'?d like)\s+(?P<a>)(?P<b>.+)$", clause, re.I)
    if m and _SETTING.search(m.group("b")):
        return " ".join(w for w in ("make", m.group("a"), m.group("b")) if w)
    return clause


def _all_resolve_ref(ref: str, plan: SubtaskPlan) -> bool:
    try:
        resolve_subtask(plan, ref)
    except InvalidEdit:
        return False
    return True


def _read_clause(clause: str, plan: SubtaskPlan) -> RequestPart:
    fixed = _rephrased(clause, plan)
    if re.match(rf"^{_NEGATION}\b", fixed, re.IGNORECASE):
        return RequestPart(text=clause, outcome="not_asked", note="you asked for this not to be done")
    first = re.match(r"[A-Za-z']+", fixed)
    if first and (verb := _verb(first.group().lower())) is not None and verb != first.group().lower():
        fixed = verb + fixed[first.end():]  # a typo in the verb: read it as the verb it is closest to
    if re.match(r"^(?:keep|leave)\b", fixed, re.IGNORECASE) and not re.search(r"\b(?:but|and)\b", fixed):
        return RequestPart(text=clause, outcome="not_asked", note="asks for no change")
    for reader in READERS:
        try:
            result = reader(fixed, plan)
        except ValidationError as exc:  # an amount no edit takes ("10000%", "make it 0 items"): said, not raised
            error = exc.errors()[0]
            return RequestPart(text=clause, outcome="not_possible",
                               note=f"the amount is out of range: {str(error['msg']).lower()}"[:600])
        if isinstance(result, str):
            return RequestPart(text=clause, outcome="not_possible", note=result)
        if result:
            stepped = "%" in clause and any(e.op in ("harder", "easier") for e in result)
            note = "read as one difficulty step (difficulty has no percentages)" if stepped else ""
            return RequestPart(text=clause, outcome="done", edits=result, note=note)
    return RequestPart(text=clause, outcome="not_understood")
