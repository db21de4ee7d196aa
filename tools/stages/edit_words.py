"""What one instruction about the plan says: its subtask references and the reader of each kind of edit.

`READERS` are tried in order on one instruction (the user's material, amounts, rename, merge, split,
difficulty, format, drop, add); each returns the typed edits, the reason the edit cannot be made, or None when it is not its kind.
"""

from __future__ import annotations

import re

from pydantic import TypeAdapter

from tools.contracts import PlanEdit, SubtaskPlan
from tools.errors import InvalidEdit
from tools.stages.amounts import NUMBER, factor_in, number_value
from tools.stages.material_words import read_material_words
from tools.stages.plan_edits import resolve_subtask
from tools.stages.spec_words import format_in_text, formats_in_text

_EDIT = TypeAdapter(PlanEdit)


_N = rf"(?P<n>{NUMBER})"


_NOUN = r"(?:samples?|items?|questions?|problems?|examples?|prompts?|tasks?)"


_WHOLE = {"it", "this", "that", "everything", "all", "all of it", "all of them", "them", "them all", "the benchmark",
          "the whole benchmark", "the whole thing", "the entire benchmark", "benchmark", "the plan", "the whole plan",
          "plan", "the total", "total", "the size", "size", "overall", "the overall size", "the total size",
          "all subtasks", "all the subtasks", "every subtask", "each subtask", "the dataset", "the set", "the questions",
          "the items", "the samples", "all questions", "all items", "all samples", "every question", "every item",
          "the number of samples", "the number of items", "the number of questions", "the sample count",
          "the number of", "number of", "the number", "the count", "the amount", "the sample size", "sample size"}


_SIZE_OF = re.compile(r"^(?:the\s+)?(?:size|quota|count|number of (?:samples|items|questions)|share|amount)\s+"
                      r"(?:of|for|in)\s+", re.IGNORECASE)


def _ref(text: str | None) -> str | None:
    """A subtask reference as written, or None for the whole benchmark."""
    if text is None:
        return None
    cleaned = text.strip().strip("'\"").strip()
    cleaned = _SIZE_OF.sub("", cleaned).strip()
    if cleaned.lower() in _WHOLE or not cleaned:
        return None
    cleaned = re.sub(r"^(?:the\s+)?(?:subtask|part|section)\s+(?=\D)", "", cleaned, flags=re.IGNORECASE).strip()
    cleaned = re.sub(r"(?:'s|s')?\s+(?:quota|share|sample count|count|size|difficulty|level|format|answer format|answers)$",
                     "", cleaned, flags=re.IGNORECASE).strip()
    cleaned = re.sub(r"\bthe(?=first|second|third|fourth|last|final)", "the ", cleaned, flags=re.IGNORECASE)  # "thefirst"
    cleaned = re.sub(r"\b(first|second|third|fourth|last|final)one\b", r"\1 one", cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r"\s+(?:subtasks?|parts?|sections?|categor(?:y|ies)|ones)$", "", cleaned, flags=re.IGNORECASE).strip()
    return None if cleaned.lower() in _WHOLE or not cleaned else cleaned


def _refs(text: str, plan: SubtaskPlan) -> list[str]:
    """Several references: "1 and 3", "Fractions, Geometry and 2", "the first two", "the last two"; a name
    with 'and' in it ("Percentages and ratios") stays one."""
    lowered = text.lower().strip()
    if any(lowered.removeprefix("the ") in (s.name.lower(), f"{s.name.lower()} subtask") for s in plan.subtasks):
        return [text.strip()]
    if (few := re.fullmatch(r"(?:the\s+)?(first|last)\s+(two|three|2|3)(?:\s+(?:subtasks|ones|parts))?", lowered)):
        count = number_value(few.group(2)) or 2
        last = len(plan.subtasks)
        return [str(i) for i in range(1, count + 1)] if few.group(1) == "first" else \
            [str(i) for i in range(max(1, last - count + 1), last + 1)]
    others = re.fullmatch(r"(?:everything|all|all subtasks|all the subtasks|all of them|the others)\s+"
                          r"(?:except|but|other than|apart from|besides|save)\s+(?P<kept>.+)", lowered)
    if others:
        kept = {_id_of(r, plan) for r in _refs(others.group("kept"), plan)}
        return [s.id for s in plan.subtasks if s.id not in kept]
    parts = re.split(r"\s*(?:,|\band\b|\bwith\b|&|\+|\bplus\b)\s*(?:then\s+|also\s+)?", text)
    refs, seen = [], set()
    for ref in (_ref(p) for p in parts if p.strip()):
        if ref is None:
            continue
        key = _id_of(ref, plan)
        if key not in seen:
            refs.append(ref)
            seen.add(key)
    return refs


def _id_of(ref: str, plan: SubtaskPlan) -> str:
    try:
        return resolve_subtask(plan, ref).id
    except InvalidEdit:
        return ref  # left for the stage to report as not matching


def make_edit(**data: object) -> PlanEdit:
    return _EDIT.validate_python(data)


Result = list[PlanEdit] | str | None


def _read_amount(text: str, plan: SubtaskPlan) -> Result:
    """Sizes: 'make it 60 samples', 'give Geometry 8', 'add 10 to Geometry', 'double the last one', '20% more'."""
    t = text
    patterns_set = [
        rf"^(?:make|set|change|bring|resize|scale|increase|reduce|raise|lower|grow|shrink|cut|trim|expand|bump|push|"
        rf"take|up)\s+(?:up\s+|down\s+)?(?:(?:down\s+|up\s+)?to\s+|(?P<a>.+?)\s+(?:to\s+|down to\s+|up to\s+|at\s+|be\s+)?)"
        rf"{_N}\s*(?:{_NOUN})?(?:\s+(?:in total|total|overall|each))?$",
        rf"^(?P<a>.+?)\s+(?:should have|should get|should be|gets|needs|must have|will have|can have)\s+"
        rf"(?:only\s+|just\s+|exactly\s+)?{_N}\s*(?:{_NOUN})?(?:\s+(?:in total|total|overall))?$",
        rf"^(?:give|allot|allocate|assign)\s+(?P<a>.+?)\s+(?:only\s+|just\s+|exactly\s+)?{_N}(?:\s+{_NOUN})?$",
        rf"^(?:give|allot|allocate|assign)\s+{_N}\s*(?:{_NOUN})?\s+to\s+(?P<a>.+?)$",
        rf"^(?:make it|go with|use|i want|we want|let's have|have|i'?d like|i would like|we'?d like|i need|we need|"
        rf"let's do|let's go with|how about|what about)\s+(?:only\s+|just\s+)?{_N}\s*(?:{_NOUN})?(?:\s+in total|\s+total)?$",
        rf"^(?:only\s+|just\s+)?{_N}\s*{_NOUN}?\s+(?:for|in)\s+(?P<a>.+?)$",
        rf"^(?P<a>[^:]+?):\s*{_N}(?:\s+{_NOUN})?$",
        rf"^{_N}\s+{_NOUN}(?:\s+in total|\s+total|\s+overall)?$",
        rf"^(?!(?:add|put|include|remove|take|drop|cut|subtract|trim|give)\b)(?P<a>[^:]+?)\s*(?:\sto\s|->|→|=)\s*"
        rf"{_N}(?:\s+{_NOUN})?$",
    ]
    for pattern in patterns_set:
        if (m := re.match(pattern, t, re.IGNORECASE)) is None:
            continue
        n = number_value(m.group("n"))
        if not n or "%" in t or re.search(r"\b(?:by|more|fewer|less|times)\b", t, re.IGNORECASE):
            break
        if re.search(r"\b(?:each|every|per subtask|apiece)\b", t, re.IGNORECASE):
            return (f"Giving every subtask the same number is not one edit here: say 'make it "
                    f"{n * len(plan.subtasks)} samples', then give single subtasks their quota ('give 1 {n} samples').")
        ref = _ref(m.groupdict().get("a"))
        return [make_edit(op="size", size=n)] if ref is None else [make_edit(op="quota", subtask=ref, quota=n)]
    delta = [
        (rf"^(?:add|put|include)\s+(?:another\s+)?{_N}\s*(?:more\s+)?(?:{_NOUN})?(?:\s+(?:more\s+)?(?:to|for|in|into|on)\s+(?P<a>.+?))?$", 1),
        (rf"^(?:add|put|include)\s+(?:another\s+)?{_N}\s+(?:more\s+|extra\s+)?(?P<a>.+?)\s+{_NOUN}$", 1),
        (rf"^(?:remove|take|drop|cut|subtract|trim|take away)\s+{_N}\s*(?:{_NOUN})?\s+(?:from|off|of)\s+(?P<a>.+?)$", -1),
        (rf"^(?:remove|take|drop|cut|subtract|trim)\s+{_N}\s*{_NOUN}$", -1),
        (rf"^(?:increase|raise|grow|expand|bump(?: up)?|boost|extend)\s+(?P<a>.+?)\s+by\s+{_N}\s*(?:{_NOUN})?$", 1),
        (rf"^(?:decrease|reduce|lower|shrink|cut|trim)\s+(?P<a>.+?)\s+by\s+{_N}\s*(?:{_NOUN})?$", -1),
        (rf"^(?:give|make|have)\s+(?P<a>.+?)\s+{_N}\s+more(?:\s+{_NOUN})?$", 1),
        (rf"^(?:give|make|have)\s+(?P<a>.+?)\s+{_N}\s+(?:fewer|less)(?:\s+{_NOUN})?$", -1),
        (rf"^{_N}\s+more(?:\s+{_NOUN})?(?:\s+(?:for|in|to|on)\s+(?P<a>.+?))?$", 1),
        (rf"^{_N}\s+(?:fewer|less)(?:\s+{_NOUN})?(?:\s+(?:for|in|from|on)\s+(?P<a>.+?))?$", -1),
    ]
    for pattern, sign in delta:
        if (m := re.match(pattern, t, re.IGNORECASE)) and "%" not in t:
            n = number_value(m.group("n"))
            target = m.groupdict().get("a") or ""
            if n and re.fullmatch(r"(?:each|every|all)(?:\s+(?:of the\s+)?(?:subtasks?|of them|parts?))?", target.strip(),
                                  re.IGNORECASE):
                return [make_edit(op="scale", subtask=s.id, change=sign * n) for s in plan.subtasks]
            if n and len(several := _refs(target, plan) if target else []) > 1:
                return [make_edit(op="scale", subtask=ref, change=sign * n) for ref in several]
            if n:
                return [make_edit(op="scale", subtask=_ref(target or None), change=sign * n)]
    factor = factor_in(t)
    if factor is not None and not re.search(r"\b(?:hard|harder|easy|easier|difficult|challenging|simple|simpler|tough|"
                                            r"tougher)\b", t, re.I):
        target = _factor_target(t)
        several = _refs(target, plan) if isinstance(target, str) else []
        if isinstance(target, str) and (len(several) > 1 or several[:1] not in ([], [target])):
            return [make_edit(op="scale", subtask=ref, factor=factor) for ref in several]  # "double all but Geometry"
        if target is not False:
            return [make_edit(op="scale", subtask=target, factor=factor)]
    return None


def _factor_target(text: str) -> str | None | bool:
    """Who a relative amount is for: a subtask, None for the whole benchmark, False when it is not an amount."""
    t = re.sub(rf"(?:\b\d+(?:\.\d+)?|{NUMBER})\s*(?:%|percent\b|per cent\b)", " ", text, flags=re.IGNORECASE)
    t = re.sub(rf"\b(?:double[ds]?|triple[ds]?|halve[ds]?|quadruple|twice|thrice|{NUMBER}\s*times|\d+\s*x)\b", " ", t,
               flags=re.IGNORECASE)
    t = re.sub(r"\b(?:cut|make|increase|raise|grow|expand|reduce|decrease|shrink|lower|scale|bump|boost|up|down|add|give|"
               r"put|have|to|"
               r"in half|by half|half|by|as (?:big|large|many|long)|bigger|larger|smaller|more|fewer|less|"
               rf"{_NOUN}|please)\b", " ", t, flags=re.IGNORECASE)
    t = re.sub(r"\s+", " ", t).strip(" ,")
    t = re.sub(r"^(?:(?:for|of|in|to|on|the size of|the number of(?: \w+)? in)\s+)+", "", t, flags=re.IGNORECASE)
    sized = re.fullmatch(r"(?P<a>.+?)\s+(?:the\s+)?size", t, re.IGNORECASE)  # "make the whole thing half the size"
    t = sized.group("a") if sized and sized.group("a").lower() not in ("the", "of the") else t
    if re.search(r"\b(?:harder|easier|format|rename)\b", t, re.IGNORECASE):
        return False
    return _ref(t)


def _read_drop(text: str, plan: SubtaskPlan) -> Result:
    m = re.match(r"^(?:drop|remove|delete|cut|scrap|lose|eliminate|get rid of|take out|leave out)\s+(?P<a>.+?)$", text,
                 re.IGNORECASE)
    if m is None:
        return None
    refs = _refs(m.group("a"), plan)
    if not refs:
        return "Say which subtask to drop, e.g. 'drop 2' or 'drop Geometry'."
    return [make_edit(op="drop", subtask=r) for r in refs]


def _read_rename(text: str, plan: SubtaskPlan) -> Result:
    m = re.match(r"^(?:rename|retitle|call|change the name of|relabel)\s+(?P<a>.+?)\s*(?:\s(?:to|as|into)\s|->|→|=>)\s*"
                 r"(?P<b>.+?)$", text, re.IGNORECASE) or \
        re.match(r"^(?:call|name|rename)\s+(?P<a>.+?)\s+(?P<b>'[^']+'|\"[^\"]+\")$", text, re.IGNORECASE)
    if m is None:
        return _rename_unmarked(text, plan)
    ref, name = _ref(m.group("a")), m.group("b").strip().strip("'\"").strip()
    if ref is None or not name:
        return "Say which subtask to rename and its new name, e.g. 'rename 2 to Ratios'."
    return [make_edit(op="rename", subtask=ref, name=name[:80])]


def _rename_unmarked(text: str, plan: SubtaskPlan) -> Result:
    """ "call the last one Shapes", "rename Geometry Areas": the shortest start that names a subtask, the rest its name."""
    m = re.match(r"^(?:call|name|rename)\s+(?P<rest>.+)$", text, re.IGNORECASE)
    words = m.group("rest").split() if m else []
    for k in range(1, len(words)):
        ref, name = " ".join(words[:k]), " ".join(words[k:])
        if words[k].lower() in ("one", "subtask", "part", "section", "to", "as", "it"):
            continue
        try:
            resolve_subtask(plan, ref)
        except InvalidEdit:
            continue
        return [make_edit(op="rename", subtask=ref, name=name.strip("'\"")[:80])]
    return None


def _read_split(text: str, plan: SubtaskPlan) -> Result:
    m = re.match(r"^(?:split|break up|break|divide|separate)\s+(?P<a>.+?)(?:\s+(?:up\s+)?(?:into|in)\s+(?P<b>.+?))?"
                 r"(?:\s+by difficulty)?$", text, re.IGNORECASE)
    if m is None:
        return None
    into = (m.group("b") or "").lower()
    if into and not re.fullmatch(r"(?:an?\s+)?easy(?:\s+\w+)?\s+(?:and|&|/|vs\.?)\s+(?:an?\s+)?hard(?:\s+\w+)?|"
                                 r"(?:two|2|halves|two halves|two parts|two subtasks|two levels|easy/hard|levels)"
                                 r"(?:\s+by difficulty)?(?:\s+\(easy and hard\))?", into):
        return (f"A split makes an easy and a hard half of a subtask; splitting into '{m.group('b')}' is not an "
                "edit this plan supports. Add the new subtasks with 'add ...' and drop the old one instead.")
    refs = _refs(m.group("a"), plan)
    if not refs:
        return "Say which subtask to split, e.g. 'split 1 into easy and hard'."
    return [make_edit(op="split", subtask=r) for r in refs]


def _read_merge(text: str, plan: SubtaskPlan) -> Result:
    m = re.match(r"^(?:merge|combine|join|unite|put)\s+(?P<a>.+?)(?:\s+together)?(?:\s+(?:into one|in one))?"
                 r"(?:\s+(?:into|as|called|named)\s+(?:one\s+)?(?:called\s+|named\s+)?(?P<c>.+?))?$", text, re.IGNORECASE)
    if m is None:
        return None
    whole = re.fullmatch(r"(?:them\s+)?(?:all|everything|all of them|all (?:the\s+)?(?:subtasks|three|four|parts))"
                         r"(?:\s+(?:subtasks|together))?", m.group("a").strip(), re.IGNORECASE)
    refs = [str(i) for i in range(1, len(plan.subtasks) + 1)] if whole else \
        _refs(re.sub(r"\s+together$", "", m.group("a")), plan)
    if whole and len(refs) > 4:
        return "A merge takes at most four subtasks; name the ones to merge, e.g. 'merge 1, 2 and 3'."
    if len(refs) < 2:
        return "Name two or more subtasks to merge, e.g. 'merge 1 and 2' or 'merge Fractions with Geometry'."
    name = (m.group("c") or "").strip().strip("'\"")
    return [make_edit(op="merge", subtasks=refs[:4], name=name[:80] or None)]


def _read_add(text: str, plan: SubtaskPlan) -> Result:
    two = re.match(r"^(?P<first>.+?)\s+and\s+(?:one|another)(?:\s+(?:subtask|section|part))?\s+(?P<second>.+)$", text,
                   re.IGNORECASE)
    if two:  # "add a subtask on probability and one on statistics": two new subtasks
        first, second = _read_add(two.group("first"), plan), _read_add(f"add a subtask {two.group('second')}", plan)
        return [*first, *second] if isinstance(first, list) and isinstance(second, list) else None
    m = re.match(r"^(?:add|include|create|introduce)\s+(?:a\s+|an\s+|another\s+)?(?:new\s+)?"
                 r"(?:subtask|section|part|category|topic|one)?\s*(?:(?:on|about|for|called|named|covering|with)\s+)?"
                 rf"(?P<a>.+?)(?:\s*(?:\s(?:with|of)\s|\()\s*{_N}\s*(?:{_NOUN})?\)?)?$", text, re.IGNORECASE)
    if m is None:
        return None
    name = re.sub(r"\s+(?:subtask|section|part|category|topic)$", "", m.group("a").strip(" :").strip("'\""), flags=re.I)
    name, _, description = name.partition(":")
    name = name.strip()
    if not re.search(r"[a-z]", name.lower()) or re.match(rf"^(?:more|extra|some more|a few more|{NUMBER})\b", name, re.I):
        return None  # "add more word problems" names no new subtask
    quota = number_value(m.group("n")) if m.group("n") else None
    return [make_edit(op="add", name=(name[:1].upper() + name[1:])[:80], description=(description.strip() or name)[:400],
                  quota=quota)]


def _targets(text: str | None, plan: SubtaskPlan) -> list[str | None]:
    """One or several subtasks ("2 and 3"), or [None] for the whole benchmark."""
    ref = _ref(text)
    if ref is None:
        return [None]
    several = _refs(ref, plan)
    return list(several) if len(several) > 1 else [ref]


_HARDER = r"(?:harder|more difficult|more challenging|tougher|trickier|more advanced)"


_EASIER = r"(?:easier|simpler|less difficult|less challenging|more basic|more accessible)"


def _joined(text: str) -> bool:
    return bool(re.search(r"\band\b|,|&", text, re.IGNORECASE))


_INTENSITY = r"(?:a (?:bit|little|lot|good deal)|much|way|far|slightly|somewhat|even|\d+\s*%|a notch)"


def _read_level(text: str, plan: SubtaskPlan) -> Result:
    lowered = text.lower()
    if formats_in_text(text) and _joined(text):
        return None  # "make Geometry numeric and a bit easier": two instructions sharing a verb
    for words, op in ((_HARDER, "harder"), (_EASIER, "easier")):
        m = re.match(rf"^(?:make\s+|render\s+)?(?P<a>.+?)?\s*(?:{_INTENSITY}\s+)?{words}(?:\s+(?:for|in)\s+(?P<b>.+?))?$", text, re.IGNORECASE)
        if m:
            about = m.group("b") or m.group("a")
            about = None if about and re.fullmatch(_INTENSITY, about.strip(), re.IGNORECASE) else about
            return [make_edit(op=op, subtask=ref) for ref in _targets(about, plan)]
    m = re.match(r"^(?:increase|raise|up|bump up)\s+(?:the\s+)?(?:difficulty|level)(?:\s+(?:of|for|in)\s+(?P<a>.+?))?$",
                 lowered) or re.match(r"^(?:decrease|lower|reduce)\s+(?:the\s+)?(?:difficulty|level)"
                                      r"(?:\s+(?:of|for|in)\s+(?P<a>.+?))?$", lowered)
    if m:
        op = "harder" if re.match(r"^(?:increase|raise|up|bump)", lowered) else "easier"
        return [make_edit(op=op, subtask=ref) for ref in _targets(m.group("a"), plan)]
    m = re.match(r"^(?:set|change|make)\s+(?:the\s+)?(?:difficulty|level)(?:\s+(?:of|for|in)\s+(?P<a>.+?))?\s+"
                 r"(?:to\s+|be\s+)?(?P<d>easy|medium|hard|mixed)$", text, re.IGNORECASE) or re.match(
        r"^(?:set|change|make)\s+(?:the\s+)?(?:difficulty|level)\s+(?:to\s+|be\s+)?(?P<d>easy|medium|hard|mixed)\s+"
        r"(?:for|of|in|on)\s+(?P<a>.+?)$", text, re.IGNORECASE) or re.match(
        r"^(?:make|set|change|turn)\s+(?P<a>.+?)\s+(?:to\s+|all\s+|be\s+)?(?P<d>easy|medium|hard|mixed)"
        r"(?:\s+difficulty)?$", text, re.IGNORECASE)
    if m and m.group("a") and re.search(r"\b(?:as|so|too|very|more|less)$", m.group("a"), re.IGNORECASE):
        return None  # "twice as hard", "too hard": not a level to set
    if m:
        return [make_edit(op="difficulty", subtask=ref, difficulty=m.group("d").lower()) for ref in _targets(m.group("a"), plan)]
    return None


def _read_format(text: str, plan: SubtaskPlan) -> Result:
    fmt = format_in_text(text)
    if _joined(text) and (len(formats_in_text(text)) > 1 or re.search(rf"{_HARDER}|{_EASIER}", text, re.IGNORECASE)):
        return None  # "make 3 numeric and 1 yes/no", "make 3 numeric and harder": two instructions sharing a verb
    if not fmt or not re.search(r"\b(format|answers?|questions?|use|switch|change|make|turn|convert|as)\b", text, re.I):
        return None
    target = re.search(r"\b(?:for|of|in|on)\s+(?:the\s+)?(?P<a>.+?)$", text, re.IGNORECASE) or \
        re.match(r"^(?:make|turn|convert|switch|change)\s+(?P<a>.+?)\s+(?:to|into)\s+", text, re.IGNORECASE) or \
        re.match(r"^(?:make|turn|convert|switch|change)\s+(?P<a>.+?)\s+(?:all\s+|be\s+)?"
                 r"(?:yes|true|multiple|mcq|numeric|numerical|short|free|boolean|four|4)", text, re.IGNORECASE)
    ref = _ref(target.group("a")) if target else None
    several = _refs(ref, plan) if ref else []
    if len(several) > 1 and not format_in_text(ref or ""):
        return [make_edit(op="format", answer_format=fmt, subtask=r) for r in several]
    rest = re.sub(r"\b(?:to|into|all|every|each|the|answer|answers|format|formats|type|of|questions?|items?)\b", "",
                  ref or "", flags=re.IGNORECASE).strip()
    if ref is not None and (format_in_text(ref) or not rest):
        ref = None
    return [make_edit(op="format", answer_format=fmt, subtask=ref)]


def _read_material(text: str, plan: SubtaskPlan) -> Result:
    """The material: 'use only chapter 3', 'skip the appendix', "use 'summary' as context"."""
    edits = read_material_words(text, plan)
    return list(edits) if edits else None


# Material first ("drop the id column" is about a field when it says column); then amounts: "cut Fractions by 5"
# and "remove 5 from Geometry" are not drops.
READERS = (_read_material, _read_amount, _read_rename, _read_merge, _read_split, _read_level, _read_format, _read_drop, _read_add)
