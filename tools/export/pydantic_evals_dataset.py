"""The pydantic_evals export: a `Dataset` YAML, written by pydantic_evals itself, with its JSON schema beside it.

Each case is named by the sample id; `inputs` holds the question, its passage and options, and for an image
item `image`, the image's path relative to this dataset's folder (`../images/<sha256>.png`); `expected_output`
is the option letter for multiple choice and the answer otherwise; `metadata` the subtask, format, for a
grounded item its `evidence` (unit, source, anchor, verbatim quote: what a grader checks the answer against,
kept out of `inputs` so a task that sends its inputs to a model does not hand it the answer's span) and, for
code items, the entry point and tests. The dataset's evaluator is `EqualsExpected`; short answers also
carry an `LLMJudge` case evaluator with the gold answer as its rubric (it needs a judge model to run).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import EqualsExpected, Evaluator, LLMJudge

from tools.export.rows import from_folder

FOLDER = "pydantic_evals"
DATASET_FILE = "dataset.yaml"
SCHEMA_FILE = "dataset_schema.json"


def _case(row: dict[str, Any]) -> Case[dict[str, Any], str, dict[str, Any]]:
    inputs: dict[str, Any] = {"question": row["question"]}
    if row.get("context"):
        inputs["context"] = row["context"]
    if row["choices"]:
        inputs["choices"] = {letter: choice for letter, choice in zip("ABCDEFGHIJ", row["choices"], strict=False)}
    if row.get("image"):
        inputs["image"] = row["image"]
    metadata: dict[str, Any] = {"subtask": row["subtask"], "answer_format": row["answer_format"]}
    if row.get("evidence"):
        metadata["evidence"] = row["evidence"]
    for key in ("kind", "entry_point", "tests"):
        if key in row["metadata"]:
            metadata[key] = row["metadata"][key]
    evaluators: list[Evaluator[dict[str, Any], str, dict[str, Any]]] = []
    if row["answer_format"] == "short_answer" and row["metadata"].get("kind") != "code":
        evaluators.append(LLMJudge(rubric=f"The answer is equivalent to: {row['answer']}", include_input=True))
    expected = row["answer_letter"] if row["answer_format"] == "multiple_choice" else row["answer"]
    return Case(name=row["id"], inputs=inputs, expected_output=expected, metadata=metadata, evaluators=tuple(evaluators))


def pydantic_evals_files(rows: list[dict[str, Any]], name: str) -> dict[str, str]:
    """File path (under pydantic_evals/) -> text, as `Dataset.to_file` writes them."""
    dataset = Dataset[dict[str, Any], str, dict[str, Any]](
        name=name, cases=[_case(from_folder(r, FOLDER)) for r in rows], evaluators=[EqualsExpected()])
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / DATASET_FILE
        dataset.to_file(path, schema_path=SCHEMA_FILE)
        return {DATASET_FILE: path.read_text(encoding="utf-8"),
                SCHEMA_FILE: (Path(scratch) / SCHEMA_FILE).read_text(encoding="utf-8")}
