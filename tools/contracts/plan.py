"""The plan: subtasks with quotas, and the typed edits that change it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from tools.contracts.base import AnswerFormat, Difficulty, Strict
from tools.contracts.material import FieldUse, MaterialSelection
from tools.contracts.spec import BenchmarkSpec


class PriorOverlap(Strict):
    """A known benchmark close to a subtask, and what makes ours different."""

    name: str
    score: float = Field(ge=0, le=1)
    how_we_differ: str = ""


class Subtask(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1, max_length=600)
    answer_format: AnswerFormat
    quota: int = Field(ge=1)
    overlaps: list[PriorOverlap] = Field(default_factory=list)
    difficulty: Difficulty | None = Field(default=None, description="This subtask's difficulty, if not the spec's.")
    guidance: list[str] = Field(
        default_factory=list, description="Instructions for its generator, e.g. from the user's review of preview samples."
    )
    material: MaterialSelection | None = Field(default=None, description="Grounded subtasks: the material its items use.")


class SubtaskPlan(Strict):
    subtasks: list[Subtask] = Field(min_length=1, max_length=8)
    rationale: str = ""

    @model_validator(mode="after")
    def _ids_unique(self) -> SubtaskPlan:
        ids = [s.id for s in self.subtasks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"subtask ids must be unique, got {ids}")
        return self

    @property
    def total(self) -> int:
        return sum(s.quota for s in self.subtasks)


SubtaskRef = Annotated[str, Field(min_length=1, max_length=120, description="A subtask's id, name or number (1 = first).")]


class DropSubtask(Strict):
    """Remove a subtask; its samples go to the others."""

    op: Literal["drop"]
    subtask: SubtaskRef


class AddSubtask(Strict):
    """Add a new subtask."""

    op: Literal["add"]
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=400, description="What its samples test.")
    quota: int | None = Field(default=None, ge=1, description="Its number of samples; null for an even share.")


class RenameSubtask(Strict):
    """Give a subtask a new name (and optionally a new description)."""

    op: Literal["rename"]
    subtask: SubtaskRef
    name: str = Field(min_length=1, max_length=80, description="The new name.")
    description: str | None = Field(default=None, max_length=400)


class SplitSubtask(Strict):
    """Split a subtask into an easy and a hard subtask."""

    op: Literal["split"]
    subtask: SubtaskRef


class MergeSubtasks(Strict):
    """Merge two or more subtasks into one."""

    op: Literal["merge"]
    subtasks: list[SubtaskRef] = Field(min_length=2, max_length=4)
    name: str | None = Field(default=None, max_length=80, description="Name of the merged subtask; null to combine the names.")


class SetQuota(Strict):
    """Change how many samples one subtask gets; the others absorb the difference."""

    op: Literal["quota"]
    subtask: SubtaskRef
    quota: int = Field(ge=1)


class SetSize(Strict):
    """Change the total number of samples; the quotas are scaled."""

    op: Literal["size"]
    size: int = Field(ge=1)


class MakeHarder(Strict):
    """Make one subtask, or the whole benchmark (subtask null), harder."""

    op: Literal["harder"]
    subtask: SubtaskRef | None = None


class ChangeFormat(Strict):
    """Change the answer format of one subtask, or of all (subtask null)."""

    op: Literal["format"]
    answer_format: AnswerFormat
    subtask: SubtaskRef | None = None


class ScaleAmount(Strict):
    """Change the size of one subtask (its quota), or of the whole benchmark (subtask null), by a factor
    ('double' 2, 'halve' 0.5, '20% more' 1.2) or by a number of samples ('add 10' 10, '5 fewer' -5).
    A subtask's change changes the total by the same amount; the other subtasks keep their quotas."""

    op: Literal["scale"]
    subtask: SubtaskRef | None = None
    factor: float | None = Field(default=None, gt=0, le=100, description="Multiply by this, e.g. 2 or 0.5.")
    change: int | None = Field(default=None, description="Add this many samples (negative: remove).")

    @model_validator(mode="after")
    def _one_amount(self) -> ScaleAmount:
        if (self.factor is None) == (self.change is None):
            raise ValueError("give exactly one of factor and change")
        return self


class MakeEasier(Strict):
    """Make one subtask, or the whole benchmark (subtask null), easier."""

    op: Literal["easier"]
    subtask: SubtaskRef | None = None


class SetDifficulty(Strict):
    """Set the difficulty of one subtask, or of the whole benchmark (subtask null)."""

    op: Literal["difficulty"]
    difficulty: Difficulty
    subtask: SubtaskRef | None = None


class SelectMaterial(Strict):
    """Use only (or skip) part of the user's material, for one subtask or all (subtask null): a file name, pages
    ('pages 2-5'), a section or chapter heading ('chapter 3', 'the appendix') or rows ('rows 1-100')."""

    op: Literal["material"]
    action: Literal["only", "skip"]
    target: str = Field(min_length=1, max_length=200, description="The part of the material, as the user named it.")
    subtask: SubtaskRef | None = None


class SetFieldUse(Strict):
    """Say what one field of the user's data records is used for: the passage shown with the question (context),
    what the question is written from (question), the gold answer (answer), a label kept with the item (label),
    or nothing (ignore)."""

    op: Literal["field"]
    field: str = Field(min_length=1, max_length=120, description="The field's name, as in the data file.")
    use: FieldUse
    source: str | None = Field(default=None, max_length=200, description="The data file's name; null: the one with that field.")


PlanEdit = Annotated[
    DropSubtask | AddSubtask | RenameSubtask | SplitSubtask | MergeSubtasks | SetQuota | SetSize | MakeHarder
    | ChangeFormat | ScaleAmount | MakeEasier | SetDifficulty | SelectMaterial | SetFieldUse,
    Field(discriminator="op"),
]


EDIT_OPS: tuple[str, ...] = ("drop", "add", "rename", "split", "merge", "quota", "size", "harder", "format", "scale",
                             "easier", "difficulty", "material", "field")
MAX_EDITS = 10


class EditRequest(Strict):
    """The changes to the plan that the user's message asks for, in the order asked; none if it asks for no plan
    change. An instruction the user negated ("don't drop Fractions") is not an edit."""

    edits: list[PlanEdit] = Field(default_factory=list, max_length=MAX_EDITS)
    not_understood: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=MAX_EDITS,
        description="Each instruction of the request that no edit here expresses, quoted from the request.")
    not_asked: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=MAX_EDITS,
        description="Each instruction the user negated or asked to leave alone (\"don't drop Fractions\", \"keep 2 as it "
                    "is\"), quoted from the request; it is not an edit.")


PartOutcome = Literal["done", "not_understood", "not_possible", "not_asked"]


class RequestPart(Strict):
    """One instruction of the user's message and what became of it: done (with the changes it made), not
    understood, not possible (with why), or not asked for (negated: "don't drop Fractions")."""

    text: str = Field(max_length=400)
    outcome: PartOutcome
    edits: list[PlanEdit] = Field(default_factory=list, description="One edit, or one per subtask it names.")
    note: str = Field(default="", max_length=600)
    changes: list[str] = Field(default_factory=list)

    @field_validator("text", "note", mode="before")
    @classmethod
    def _quoted_short(cls, value: object, info: ValidationInfo) -> object:
        # The plain-command reader's clauses (and notes quoting them) hold the user's own words, of any length: a
        # long one is quoted shortened rather than refused.
        limit = 400 if info.field_name == "text" else 600
        return value[: limit - 1] + "…" if isinstance(value, str) and len(value) > limit else value


class PlanRevision(Strict):
    """A plan after edits: the new plan, the spec kept consistent with it, and what changed, in words."""

    plan: SubtaskPlan
    spec: BenchmarkSpec
    edits: list[PlanEdit]
    changes: list[str]
    parts: list[RequestPart] = Field(default_factory=list, description="Each instruction of the request, in order.")
    note: str = Field(default="", max_length=300, description="How the request was read, when that is worth saying.")


class SubtaskIdea(Strict):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=400, description="What the samples of this subtask test.")
    weight: int = Field(default=1, ge=1, le=5, description="Relative share of the benchmark, 1-5.")


class SubtaskProposal(Strict):
    """Subtasks that together cover the spec without overlapping."""

    subtasks: list[SubtaskIdea] = Field(min_length=1, max_length=4)
    rationale: str = Field(default="", max_length=400)
