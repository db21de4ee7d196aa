"""Which roles share a model: a judge or solver that is the generator's own model does not review independently.

In settings the judge and the solver fall back to the generator's model when they are not set. The
plan card (through the cost estimate) and the build report say so in these words, so nobody reads
"independent review" into a build whose reviewers are the model that wrote the items.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

_SETTING = {"judge": "BENCHMARK_AGENT_JUDGE_MODEL", "solver": "BENCHMARK_AGENT_SOLVER_MODEL"}
_DOES = {"judge": "inspects and adjudicates the items", "solver": "re-solves the items without the gold answer"}


def shared_models(names: Mapping[Any, str], reviewers: Collection[str] = ("judge", "solver"), *,
                  images: bool = False, panel: Collection[str] = ()) -> list[str]:
    """One sentence per fact: each reviewing role (of `reviewers`) that is the generator's model, reviewers
    sharing a model with each other, and (`images`: the plan has image items, which the vision role writes when
    it is set) reviewers that are the vision model, and a difficulty `panel` that includes a model writing the items.
    Empty when every reviewer is a model of its own."""
    generator = names.get("generator")
    roles = [role for role in ("judge", "solver") if role in reviewers and names.get(role)]
    same = [role for role in roles if names[role] == generator]
    notes = []
    if same:
        who = " and the ".join(same)
        verb = "are" if len(same) > 1 else "is"
        what = "; ".join(f"the {role} {_DOES[role]}" for role in same)
        notes.append(f"Not independent: the {who} {verb} the generator's model ({generator}), so {what} with the model "
                     f"that wrote them. Set {' and '.join(_SETTING[r] for r in same)} to another model for an "
                     "independent review.")
    if len(roles) == 2 and not same and names["judge"] == names["solver"]:
        notes.append(f"The judge and the solver share one model ({names['judge']}); both differ from the generator.")
    vision = names.get("vision")
    if images and vision and vision != generator and (seen := [r for r in roles if names[r] == vision]):
        who = " and the ".join(seen)
        notes.append(f"Not independent for image items: the {who} {'are' if len(seen) > 1 else 'is'} the vision model "
                     f"({vision}), which writes them. Set {' and '.join(_SETTING[r] for r in seen)} to another model "
                     "for an independent review.")
    writers = [m for m in dict.fromkeys([generator, vision if images else None]) if m and m in panel]
    if writers:
        notes.append(f"The difficulty panel includes the model that writes the items ({', '.join(writers)}): its "
                     "accuracy on its own items can make them look easier than they are for other models.")
    return notes
