"""The fake endpoint's answer to a plan edit (`submit_edit`): the typed edits a capable model would return.

It reads the prompt's `Request:` line one instruction at a time, for a small set of phrasings (drop, split,
double or halve, harder or easier, rename, a quota), and names subtasks as the request does ("the second
subtask", "the last one", "Fractions"): the product pins those to the plan. A negated instruction goes to
`not_asked`, anything else to `not_understood`. This is what shows that a model's edits travel through
structured output, validation and the one new plan version; it knows nothing the product's own reader knows.
"""

from __future__ import annotations

import re
from typing import Any

_CUT = re.compile(r"\s*(?:[;.]\s+|,\s*(?:and\s+|then\s+|but\s+)?|\s+(?:and|then|but)\s+(?=(?:don'?t|do not|drop|remove|"
                  r"split|double|halve|make|rename|give)\b))", re.IGNORECASE)
_REF = r"(?P<ref>.+?)"
_READERS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(rf"^(?:drop|remove|delete)\s+{_REF}$", re.I), lambda m: {"op": "drop", "subtask": m["ref"]}),
    (re.compile(rf"^split\s+{_REF}(?:\s+into\s+easy\s+and\s+hard)?$", re.I), lambda m: {"op": "split", "subtask": m["ref"]}),
    (re.compile(rf"^double\s+(?:the\s+size\s+of\s+)?{_REF}$", re.I),
     lambda m: {"op": "scale", "subtask": m["ref"], "factor": 2.0}),
    (re.compile(rf"^halve\s+(?:the\s+size\s+of\s+)?{_REF}$", re.I),
     lambda m: {"op": "scale", "subtask": m["ref"], "factor": 0.5}),
    (re.compile(rf"^make\s+{_REF}\s+(?P<op>harder|easier)$", re.I), lambda m: {"op": m["op"].lower(), "subtask": m["ref"]}),
    (re.compile(rf"^rename\s+{_REF}\s+to\s+(?P<name>.+)$", re.I),
     lambda m: {"op": "rename", "subtask": m["ref"], "name": m["name"].strip("'\"")}),
    (re.compile(rf"^give\s+{_REF}\s+(?P<n>\d+)(?:\s+samples)?$", re.I),
     lambda m: {"op": "quota", "subtask": m["ref"], "quota": int(m["n"])}),
)


def plan_edits(keys: dict[str, str], state: object) -> dict[str, Any]:
    request = keys.get("request", "").strip().rstrip(".!")
    edits: list[dict[str, Any]] = []
    not_understood: list[str] = []
    not_asked: list[str] = []
    for clause in (c.strip() for c in _CUT.split(request) if c and c.strip()):
        if re.match(r"^(?:don'?t|do not|never)\b", clause, re.I):
            not_asked.append(clause[:200])
            continue
        edit = next((read(m) for pattern, read in _READERS if (m := pattern.match(clause))), None)
        if edit is None:
            not_understood.append(clause[:200])
        else:
            edits.append(edit)
    return {"edits": edits, "not_understood": not_understood, "not_asked": not_asked}
