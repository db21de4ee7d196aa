"""An audit of an existing benchmark file: how its columns were read, and what each check found per item."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.contracts.base import CheckName, Strict
from tools.contracts.checks import IssueKind

AnswerAs = Literal["text", "letter", "index", "index1"]
"""How a multiple-choice answer names its option: the option's text, a letter (A, B, ...), a 0-based or a 1-based index."""

MAPPED_FIELDS: tuple[str, ...] = ("question", "answer", "choices", "context", "solution_code", "tests", "entry_point",
                                  "rationale", "id", "subtask")


class FieldMapping(Strict):
    """Which column of the file holds each field of a benchmark item (None: the file has none)."""

    question: str
    answer: str | None = None
    choices: list[str] = Field(default_factory=list, description="One column holding a list, or one column per option.")
    answer_as: AnswerAs | None = Field(default=None, description="Multiple choice only: how the answer names its option.")
    context: str | None = None
    solution_code: str | None = None
    tests: str | None = None
    entry_point: str | None = None
    rationale: str | None = None
    id: str | None = None
    subtask: str | None = None
    how: dict[str, str] = Field(default_factory=dict, description="Per field, why that column: its name, its values, --fields.")


class AuditFinding(Strict):
    """One check that failed for one item, and why."""

    check: CheckName
    reasons: list[str] = Field(default_factory=list)
    issues: list[IssueKind] = Field(default_factory=list)
    duplicate_of: int | None = Field(default=None, description="Duplicates within the file: the earlier row it repeats.")
    memory_id: str | None = Field(default=None, description="Duplicates of the memory: the stored sample it repeats.")


class AuditItem(Strict):
    """One row of the file that could be read as an item."""

    row: int = Field(ge=1, description="1-based row number in the file (the line for JSONL).")
    id: str = Field(description="audit-<hash of the question and answer>")
    source_id: str | None = Field(default=None, description="The row's own id, when the file has an id column.")
    answer_format: str
    question: str = Field(description="The question, cut to 200 characters.")
    passed: list[CheckName] = Field(default_factory=list)
    failed: list[AuditFinding] = Field(default_factory=list)
    not_run: list[str] = Field(default_factory=list, description="Checks that could not run on this item, and why.")


class RowProblem(Strict):
    """A row that could not be read as an item at all."""

    row: int = Field(ge=1)
    reason: str


class ReasonCount(Strict):
    reason: str
    count: int = Field(ge=1)


class CheckTotal(Strict):
    """One check over the whole file: how many items it ran on, how many failed it, the most frequent reasons."""

    check: CheckName
    ran: int = Field(ge=0)
    failed: int = Field(ge=0)
    top_reasons: list[ReasonCount] = Field(default_factory=list)


class AuditReport(Strict):
    """What `benchmark-agent check FILE` found; written as check.json."""

    file: str
    rows: int = Field(ge=0, description="Rows in the file, readable or not.")
    mapping: FieldMapping
    items: list[AuditItem] = Field(default_factory=list)
    unmapped: list[RowProblem] = Field(default_factory=list)
    totals: list[CheckTotal] = Field(default_factory=list)
    models: dict[str, str] = Field(default_factory=dict, description="Model per role for the model-run checks; empty: none ran.")
    notes: list[str] = Field(default_factory=list, description="What the audit could not do, said plainly.")

    @property
    def failed_items(self) -> list[AuditItem]:
        return [item for item in self.items if item.failed]
