"""The lm-evaluation-harness export: one task per kind of item, and a group over them when there are two.

    lm_eval/<name>_mc.yaml + <name>_mc.jsonl     multiple choice: lettered options, target the integer index
    lm_eval/<name>_gen.yaml + <name>_gen.jsonl   numeric, yes/no and short answers: generate_until, scored by
                                                 `loader.process_results` (numbers within a tolerance)
    lm_eval/<name>.yaml                          the group, when both exist
    lm_eval/loader.py                            reads each task's JSONL relative to the folder

`lm_eval --include_path lm_eval --tasks <name>` runs it from any working directory. Code items are not
exported here: the harness would have to run their unit tests, which this export does not set up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tools.export.rows import is_code, jsonl_text

LOADER = Path(__file__).with_name("lm_eval_loader.py")
_CONTEXT = "{% if context %}{{context}}\n\n{% endif %}"
_MC_TEXT = (_CONTEXT + "{{question}}\n{% for choice in choices %}{{ 'ABCDEFGHIJ'[loop.index0] }}. {{choice}}\n"
            "{% endfor %}Answer:")
_MC_CHOICES = "{{ ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'][:choices|length] }}"
_GEN_TEXT = _CONTEXT + "Question: {{question}}\nAnswer:"


def task_name(capability: str) -> str:
    """An lm-eval task name (letters, digits, underscores) for a benchmark of `capability`."""
    slug = re.sub(r"[^a-z0-9]+", "_", capability.casefold()).strip("_")[:40].strip("_")
    return f"ba_{slug or 'benchmark'}"


def lm_eval_files(rows: list[dict[str, Any]], name: str) -> dict[str, str]:
    """File path (under lm_eval/) -> text, for the rows this harness can score."""
    choice = [r for r in rows if r["answer_format"] == "multiple_choice"]
    generated = [r for r in rows if r["answer_format"] != "multiple_choice" and not is_code(r)]
    files: dict[str, str] = {}
    tasks = []
    if choice:
        tasks.append(f"{name}_mc")
        files[f"{name}_mc.jsonl"] = jsonl_text(choice)
        files[f"{name}_mc.yaml"] = _task_yaml(f"{name}_mc", {
            "output_type": "multiple_choice", "doc_to_text": _MC_TEXT, "doc_to_choice": _MC_CHOICES,
            "doc_to_target": "answer_index", "target_delimiter": " ",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        })
    if generated:
        tasks.append(f"{name}_gen")
        files[f"{name}_gen.jsonl"] = jsonl_text(generated)
        files[f"{name}_gen.yaml"] = _task_yaml(f"{name}_gen", {
            "output_type": "generate_until", "doc_to_text": _GEN_TEXT, "doc_to_target": "answer",
            "generation_kwargs": {"until": ["\n\n", "Question:"], "do_sample": False, "temperature": 0.0,
                                  "max_gen_toks": 128},
            "process_results": "!function loader.process_results",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        })
    if len(tasks) > 1:
        files[f"{name}.yaml"] = yaml.safe_dump({
            "group": name, "task": tasks,
            "aggregate_metric_list": [{"metric": "acc", "aggregation": "mean", "weight_by_size": True}],
            "metadata": {"version": 1.0},
        }, sort_keys=False, allow_unicode=True)
    if files:
        files["loader.py"] = LOADER.read_text(encoding="utf-8")
    return files


def _task_yaml(task: str, body: dict[str, Any]) -> str:
    config = {
        "task": task, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": f"{task}.jsonl"}},
        "custom_dataset": "!function loader.load", "test_split": "test", **body, "metadata": {"version": 1.0},
    }
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000)
    # `!function` is lm-eval's own YAML tag; safe_dump can only write it as a quoted string.
    return text.replace("'!function loader.load'", "!function loader.load").replace(
        "'!function loader.process_results'", "!function loader.process_results")
