"""The pydantic_evals export: a `Dataset` YAML as `Dataset.to_file` writes it, with its JSON schema beside it.

Each case is named by the sample id; `inputs` holds the question, its passage and options, and for an image
item `image`, the image's path relative to this dataset's folder (`../images/<sha256>.png`); `expected_output`
is the option letter for multiple choice and the answer otherwise; `metadata` the subtask, format, for a
grounded item its `evidence` (unit, source, anchor, verbatim quote: what a grader checks the answer against,
kept out of `inputs` so a task that sends its inputs to a model does not hand it the answer's span) and, for
code items, the entry point and tests. The dataset's evaluator is `EqualsExpected`; short answers also
carry an `LLMJudge` case evaluator with the gold answer as its rubric (it needs a judge model to run).

The files hold what `Dataset.to_file` writes (pydantic_evals' own dump of the dataset and its own schema, the
schema line on top), with two differences in how: the YAML is emitted by libyaml (PyYAML's C emitter) instead of
PyYAML's pure-Python one, which took about 2.8 ms per case (libyaml writes a character beyond the Basic
Multilingual Plane, an emoji, as a `\\U` escape, which reads back as the same character), and the schema, the same
for every export, is generated once per process. `Dataset.from_file` reads them (tests/tools/test_harness_exports.py).
"""

from __future__ import annotations

import functools
from typing import Any

import yaml
from pydantic_core import to_json
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


BenchmarkDataset = Dataset[dict[str, Any], str, dict[str, Any]]
SCHEMA_LINE = "# yaml-language-server: $schema="  # to_file's first line, naming the schema beside the dataset
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter where PyYAML was built with it


@functools.cache
def schema_text() -> str:
    """The dataset's JSON schema as `to_file` writes it: the same for every export, so generated once."""
    return to_json(BenchmarkDataset.model_json_schema_with_evaluators(), indent=2).decode() + "\n"


def dataset_yaml(dataset: Dataset[dict[str, Any], str, dict[str, Any]]) -> str:
    """`dataset` as `to_file` writes it to YAML: its own short-form dump, under the line naming the schema."""
    dumped = dataset.model_dump(mode="json", by_alias=True, context={"use_short_form": True})
    return f"{SCHEMA_LINE}{SCHEMA_FILE}\n" + yaml.dump(dumped, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)


def pydantic_evals_files(rows: list[dict[str, Any]], name: str) -> dict[str, str]:
    """File path (under pydantic_evals/) -> text: what `Dataset.to_file` writes."""
    dataset = BenchmarkDataset(name=name, cases=[_case(from_folder(r, FOLDER)) for r in rows],
                               evaluators=[EqualsExpected()])
    return {DATASET_FILE: dataset_yaml(dataset), SCHEMA_FILE: schema_text()}
