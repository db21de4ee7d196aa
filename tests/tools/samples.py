"""Sample drafts for scripted generators: distinct, correct arithmetic items in each answer format."""

from __future__ import annotations

import itertools
import re
from typing import Any

_counter = itertools.count(1)
_NAMES = ["Ada", "Bo", "Cyra", "Dev", "Eli", "Fen", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lior"]
_THINGS = ["apples", "marbles", "stamps", "coins", "books", "shells", "cards", "pencils", "tickets", "seeds"]


def _format(prompt: str) -> tuple[str, int]:
    fmt = re.search(r"Answer format: (\w+)", prompt)
    count = re.search(r"Number of samples: (\d+)", prompt)
    return (fmt.group(1) if fmt else "multiple_choice"), (int(count.group(1)) if count else 1)


def arithmetic_item(answer_format: str) -> dict[str, Any]:
    n = next(_counter)
    a, b = 17 * n + 3, 29 * n % 97 + 11
    who, what = _NAMES[n % len(_NAMES)], _THINGS[(n * 7) % len(_THINGS)]
    question = f"{who} has {a} {what} and buys {b} more, then gives away {n} of them. How many {what} are left?"
    total = a + b - n
    if answer_format == "multiple_choice":
        return {"question": question, "choices": [str(total + 1), str(total), str(total - 2), str(total + 10)],
                "correct_choice": 1, "rationale": f"{a} + {b} - {n} = {total}"}
    if answer_format == "yes_no":
        return {"question": f"{question} Is it more than {total - 1}?", "answer": "Yes", "rationale": "checked"}
    item = {"question": question, "answer": str(total), "rationale": f"{a} + {b} - {n} = {total}"}
    return {**item, "solution_code": f"print({a} + {b} - {n})"} if answer_format == "numeric" else item


def batch_for(prompt: str) -> dict[str, Any]:
    """A correct batch of exactly the size and format the generation prompt asks for."""
    answer_format, count = _format(prompt)
    return {"samples": [arithmetic_item(answer_format) for _ in range(count)]}


SPEC_CLEAR = {
    "goal": "Arithmetic word problems", "capability": "multi-step arithmetic", "domain": "word problems",
    "answer_format": "multiple_choice", "size": None, "difficulty": "hard", "modalities": ["text"],
    "constraints": [], "questions": [],
}
SPEC_VAGUE = {"goal": "a hard reasoning benchmark", "difficulty": "hard", "questions": []}
SUBTASKS = {"subtasks": [
    {"name": "Addition chains", "description": "Several additions and subtractions in a story.", "weight": 2},
    {"name": "Mixed operations", "description": "Additions mixed with removals.", "weight": 1},
], "rationale": "two facets"}
ACCEPT = {"verdict": "accept", "reasons": []}
