"""Stage 2b: plan refinement. A change asked for in plain words becomes typed edits, applied deterministically.

Plain commands ("drop 2", "rename Fractions to Ratios", "make it 60 samples") are read without a
model; anything else goes to the refinement agent, whose edits are validated (every subtask it
names must exist, every quota must fit) before anything changes.
"""

from __future__ import annotations

import re

from pydantic import TypeAdapter
from pydantic_ai import Agent, ToolOutput

from tools.contracts import BenchmarkSpec, EditRequest, PlanEdit, PlanRevision, SubtaskPlan
from tools.errors import InvalidEdit, InvalidRequest
from tools.llm.stage import StageModels, run_stage
from tools.stages.plan_edits import apply_edit, pin_levels, plan_diff, resolve_subtask, sync_spec
from tools.stages.requirements import format_in_text, size_in_text

MAX_EDIT_CHARS = 2000

_INSTRUCTIONS = """\
You turn a researcher's request to change a benchmark plan into edits of that plan.
Operations: drop a subtask; add one (name, description, optional quota); rename one; split one into
easy and hard; merge two or more; set one subtask's quota; set the total size; make one subtask or
the whole benchmark (subtask null) harder; change the answer format of one or all (subtask null).
Name subtasks by their number or id from the plan. Use only what the request asks for; if it asks
for no change to the plan, return no edits. Call submit_edit exactly once."""

refine_agent: Agent[None, EditRequest] = Agent(
    output_type=ToolOutput(EditRequest, name="submit_edit"), instructions=_INSTRUCTIONS, retries=2, name="refine"
)

_EDIT = TypeAdapter(PlanEdit)
_WHOLE = {"it", "this", "everything", "the benchmark", "the whole benchmark", "the plan", "all", "all of it",
          "all subtasks", "the total", "total", "the size", "size", "overall"}
_POLITE = re.compile(r"^(please|can you|could you|would you|let's|lets|now|and|then|ok|okay)[,\s]+", re.IGNORECASE)
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:drop|remove|delete|cut|get rid of)\s+(?P<a>.+?)$", re.I), "drop"),
    (re.compile(r"^rename\s+(?P<a>.+?)\s+(?:to|as|into)\s+(?P<b>.+?)$", re.I), "rename"),
    (re.compile(r"^split\s+(?P<a>.+?)(?:\s+(?:into|in)\s+(?:an?\s+)?easy\s+and\s+(?:a\s+)?hard(?:\s+\w+)?)?$", re.I), "split"),
    (re.compile(r"^(?:merge|combine|join)\s+(?P<a>.+?)\s+(?:and|with|&)\s+(?P<b>.+?)(?:\s+(?:into|as)\s+(?P<c>.+?))?$", re.I),
     "merge"),
    (re.compile(r"^(?:add|include)\s+(?:a\s+|an\s+)?(?:new\s+)?(?:subtask\s+)?(?:(?:on|about|for|called|named)\s+)?"
                r"(?P<a>.+?)(?:\s+with\s+(?P<n>\d+)\s+\w+)?$", re.I), "add"),
    (re.compile(r"^(?:make|set|change|give)\s+(?P<a>.+?)\s+(?:to\s+|have\s+)?(?P<n>\d[\d,]*)\s*(?:items?|samples?|questions?)?$",
                re.I), "count"),
    (re.compile(r"^(?:make\s+)?(?P<a>.+?)?\s*(?:harder|more difficult|more challenging|tougher)$", re.I), "harder"),
]


def _clean(text: str) -> str:
    text = text.strip().rstrip(".!")
    while (stripped := _POLITE.sub("", text)) != text:
        text = stripped
    return re.sub(r"\s+", " ", text).strip()


def _target(text: str | None) -> str | None:
    """A subtask reference, or None for the whole benchmark."""
    if text is None:
        return None
    cleaned = re.sub(r"^(?:the\s+)?(?:subtask\s+)?", "", text.strip().strip("'\"")).strip()
    cleaned = re.sub(r"\s+(?:subtask|one|part)$", "", cleaned).strip()
    return None if not cleaned or text.strip().lower() in _WHOLE or cleaned.lower() in _WHOLE else cleaned


def parse_edit(text: str, plan: SubtaskPlan) -> list[PlanEdit] | None:
    """The edit a plain command asks for, or None when it is not one (then the model reads it)."""
    cleaned = _clean(text)
    for pattern, kind in _RULES:
        match = pattern.match(cleaned)
        if match is None:
            continue
        edit = _edit_from(kind, match, plan, cleaned)  # the first command that matches decides
        return [edit] if edit is not None else None
    fmt = format_in_text(cleaned)
    if fmt and re.search(r"\b(format|answers?|use|switch|change|make|as)\b", cleaned, re.I):
        target = re.search(r"\b(?:for|of|in)\s+(?:the\s+)?(?P<a>.+?)$", cleaned, re.I)
        ref = _target(target.group("a")) if target else None
        if ref is None or _resolves(plan, ref):
            return [_EDIT.validate_python({"op": "format", "answer_format": fmt, "subtask": ref})]
    return None


def _edit_from(kind: str, match: re.Match[str], plan: SubtaskPlan, text: str) -> PlanEdit | None:
    a = match.group("a") if "a" in match.groupdict() else None
    if kind == "count":
        n = int(match.group("n").replace(",", ""))
        ref = _target(a)
        if ref is None:
            return _EDIT.validate_python({"op": "size", "size": n})
        return _EDIT.validate_python({"op": "quota", "subtask": ref, "quota": n}) if _resolves(plan, ref) else None
    if kind == "harder":
        ref = _target(a)
        if ref is not None and not _resolves(plan, ref):
            return None
        return _EDIT.validate_python({"op": "harder", "subtask": ref})
    if kind == "add":
        if size_in_text(text) and not match.group("n"):
            return None  # "add 10 more items" is a size change: leave it to the model
        quota = int(match.group("n")) if match.group("n") else None
        name = (a or "").strip().strip("'\"")
        name = name[:1].upper() + name[1:]
        return _EDIT.validate_python({"op": "add", "name": name[:80], "description": name[:400], "quota": quota})
    refs = [r for r in (_target(a), _target(match.groupdict().get("b"))) if r]
    if kind == "rename":
        new_name = (match.group("b") or "").strip().strip("'\"")
        return _EDIT.validate_python({"op": "rename", "subtask": refs[0], "name": new_name[:80]}) \
            if refs and new_name and _resolves(plan, refs[0]) else None
    if kind == "merge":
        if len(refs) < 2 or not all(_resolves(plan, r) for r in refs):
            return None
        name = match.group("c").strip().strip("'\"")[:80] if match.group("c") else None
        return _EDIT.validate_python({"op": "merge", "subtasks": refs, "name": name})
    if not refs or not _resolves(plan, refs[0]):
        return None
    return _EDIT.validate_python({"op": kind, "subtask": refs[0]})


def _resolves(plan: SubtaskPlan, ref: str) -> bool:
    try:
        resolve_subtask(plan, ref)
    except InvalidEdit:
        return False
    return True


def _prompt(request: str, plan: SubtaskPlan, spec: BenchmarkSpec) -> str:
    lines = [f"Request: {request}", f"Benchmark: {spec.capability} ({spec.domain}), {plan.total} samples, "
             f"{spec.difficulty} difficulty", "Plan:"]
    lines += [f"{i}. id={s.id} name={s.name!r} quota={s.quota} format={s.answer_format} "
              f"difficulty={s.difficulty or spec.difficulty}" for i, s in enumerate(plan.subtasks, 1)]
    return "\n".join(lines)


async def refine_plan(
    request: str, plan: SubtaskPlan, spec: BenchmarkSpec, *, models: StageModels, max_size: int
) -> PlanRevision:
    """Apply the change `request` asks for; raise `InvalidEdit` (nothing changed) when it cannot be made."""
    request = request.strip()
    if not re.search(r"\w", request) or len(request) > MAX_EDIT_CHARS:
        raise InvalidRequest(f"Describe the change to the plan in a sentence (under {MAX_EDIT_CHARS:,} characters), "
                             "e.g. 'drop 2', 'split Fractions into easy and hard' or 'make it 60 samples'.")
    edits = parse_edit(request, plan)
    if edits is None:
        proposal = await run_stage(refine_agent, _prompt(request, plan, spec), models=models, role="chat",
                                   stage="plan refinement")
        edits = list(proposal.edits)
    if not edits:
        raise InvalidEdit("I could not tell which change to the plan you want. Use the 'Edit the plan' button, or say "
                          "e.g. 'drop 2', 'rename 1 to Ratios', 'split 1', 'merge 1 and 2', 'give 1 10 samples', "
                          "'make it 60 samples', 'make 2 harder' or 'use numeric answers'.")
    return revise(plan, spec, edits, max_size=max_size)


def revise(plan: SubtaskPlan, spec: BenchmarkSpec, edits: list[PlanEdit], *, max_size: int) -> PlanRevision:
    """Apply `edits` in order (all or none) and keep the spec consistent with the new plan."""
    new = plan
    for edit in edits:
        new = apply_edit(new, edit, spec, max_size=max_size)
    new = pin_levels(new, spec)
    return PlanRevision(plan=new, spec=sync_spec(spec, new), edits=edits, changes=plan_diff(plan, new, spec))
