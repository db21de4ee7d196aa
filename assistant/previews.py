"""Preview steps: a few samples per subtask before the build, checked as the build checks them, and the
user's verdict on each.

A rejection with its reason, or a correction, becomes an instruction on that subtask
(`Subtask.guidance`), which the generator reads on every batch of the full build. The instruction
makes a new plan version: versions are never rewritten.
"""

from __future__ import annotations

import re
from typing import Literal

from assistant import material
from assistant.deps import AssistantDeps, qc_options
from assistant.session import PendingInput, ReviewNote
from tools.contracts import PreviewItem
from tools.engine.preview import preview_samples, review_note, with_guidance

Verdict = Literal["accept", "reject", "edit"]
_ACCEPT = re.compile(r"^\s*(?:accept|approve|keep)\s+(?:samples?\s+|previews?\s+|items?\s+)?(?P<which>all|everything|"
                     r"\d+(?:\s*(?:,|and|&)\s*\d+)*)\s*[.!]*\s*$", re.IGNORECASE)
_REJECT = re.compile(r"^\s*reject\s+(?:sample\s+|preview\s+|item\s+|#)?(?P<which>\d+)\s*(?:(?:because|as|:|-|,)\s*"
                     r"(?P<reason>.+))?$", re.IGNORECASE | re.DOTALL)
_EDIT = re.compile(r"^\s*(?:edit|correct|fix)\s+(?:sample\s+|preview\s+|item\s+|#)?(?P<which>\d+)\s*:\s*(?P<text>.+)$",
                   re.IGNORECASE | re.DOTALL)
REASONS = ("Wrong answer", "Too easy", "Ambiguous", "Off topic")


async def preview_step(deps: AssistantDeps) -> str:
    state = deps.state
    if state.plan is None or state.spec is None:
        return "There is no plan to preview yet: confirm the spec first."
    items, problems = await preview_samples(state.spec, state.plan, models=deps.models, qc=qc_options(deps.settings),
                                            per_subtask=deps.settings.preview_size, material=material.view_of(deps))
    state.previews, state.preview_problems, state.pending = items, problems, None
    dropped = (f" {len(problems)} draft(s) failed a check and are not shown: " + "; ".join(problems)[:600] + "."
               if problems else "")
    return (f"{len(items)} preview samples for {len(state.plan.subtasks)} subtasks passed the build's checks and are "
            f"shown for review, each with its check verdicts.{dropped} Accept, reject (with a reason) or edit each "
            "one: rejections and corrections steer the full build. Then build it (say 'go').")


def review_step(deps: AssistantDeps, item_id: str, verdict: Verdict, text: str | None = None) -> str:
    """Record the user's verdict on one preview; a rejection or edit without its text asks for it first."""
    state = deps.state
    item = next((p for p in state.previews if p.id == item_id), None)
    if item is None or state.plan is None:
        return "That preview is no longer part of the plan."
    number = state.previews.index(item) + 1
    if verdict == "accept":
        _set(deps, item, status="accepted", reason=None)
        return f"Preview {number} accepted."
    if text is None:
        if verdict == "reject":
            prompt = f"Why reject preview {number}? Click a reason or type your own; it will steer the build."
        else:
            prompt = (f"Type the corrected preview {number} as 'question => answer' (or '=> answer' to keep the "
                      "question).")
        state.pending = PendingInput(kind="reject_reason" if verdict == "reject" else "edit_sample", item_id=item_id,
                                     prompt=prompt)
        return prompt
    state.pending = None
    if verdict == "reject":
        _set(deps, item, status="rejected", reason=text.strip()[:300])
        return f"Preview {number} rejected ({text.strip()[:300]}); the build's generator will be told to avoid that."
    question, arrow, answer = text.partition("=>")
    if not arrow:
        question, answer = item.question, text
    update = {"question": question.strip() or item.question, "answer": answer.strip() or item.answer}
    _set(deps, item, status="edited", reason="corrected by the user", **update)
    return f"Preview {number} corrected; the build's generator will write items like it."


def _set(deps: AssistantDeps, item: PreviewItem, **update: object) -> None:
    state = deps.state
    reviewed = item.model_copy(update=update)
    state.previews = [reviewed if p.id == item.id else p for p in state.previews]
    note = review_note(reviewed)
    if note and state.plan is not None:
        state.review_notes.append(ReviewNote(subtask_id=item.subtask_id, note=note))
        if state.version is None or state.spec is None:
            state.plan = with_guidance(state.plan, item.subtask_id, note)
        elif with_guidance(state.plan, item.subtask_id, note) != state.plan:  # a new version, never a rewritten one
            number = state.previews.index(reviewed) + 1
            name = next((s.name for s in state.plan.subtasks if s.id == item.subtask_id), item.subtask_id)
            state.commit(state.plan, state.spec, note=f"preview {number} {reviewed.status}",
                         changes=[f"an instruction for {name} from preview {number}"])


def review_command(deps: AssistantDeps, message: str) -> str | None:
    """Plain-language reviews ('accept all', 'reject 2 because it is too easy', 'edit 3: Q => A'), or None."""
    previews = deps.state.previews
    if not previews:
        return None
    if match := _ACCEPT.match(message):
        which = match.group("which").lower()
        numbers = range(1, len(previews) + 1) if which in ("all", "everything") else [int(n) for n in re.findall(r"\d+", which)]
        return " ".join(_by_number(deps, n, "accept", None) for n in numbers)
    if match := _REJECT.match(message):
        return _by_number(deps, int(match.group("which")), "reject", match.group("reason"))
    if match := _EDIT.match(message):
        return _by_number(deps, int(match.group("which")), "edit", match.group("text"))
    return None


def _by_number(deps: AssistantDeps, number: int, verdict: Verdict, text: str | None) -> str:
    previews = deps.state.previews
    if not 1 <= number <= len(previews):
        return f"There is no preview {number} (there are {len(previews)})."
    return review_step(deps, previews[number - 1].id, verdict, text)
