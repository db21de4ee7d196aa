"""The lm-evaluation-harness export: one task per kind of item, and a group over them when there are two.

    lm_eval/<name>_mc.yaml + <name>_mc.jsonl     multiple choice: lettered options, target the integer index
    lm_eval/<name>_gen.yaml + <name>_gen.jsonl   numeric, yes/no and short answers: generate_until, scored by
                                                 `loader.process_results` (numbers within a tolerance)
    lm_eval/<name>_mc_image.yaml, <name>_gen_image.yaml (+ .jsonl)
                                                 image items, the same two ways, with `doc_to_image`
    lm_eval/<name>.yaml                          the group, when there are two tasks or more
    lm_eval/loader.py                            reads each task's JSONL relative to the folder, opens images

`lm_eval --include_path lm_eval --tasks <name>` runs it from any working directory. Every row keeps its
evidence, and an image item its image path relative to this folder (`../images/<sha256>.png`): the folder
needs its sibling `images/`. Image items are tasks of their own because lm-eval runs a task with
`doc_to_image` only with a multimodal model type; text items stay runnable with any model. Code items are
not exported here: the harness would have to run their unit tests, which this export does not set up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tools.export.rows import from_folder, is_code, jsonl_text

FOLDER = "lm_eval"
LOADER = Path(__file__).with_name("lm_eval_loader.py")
_CONTEXT = "{% if context %}{{context}}\n\n{% endif %}"
_MC_TEXT = (_CONTEXT + "{{question}}\n{% for choice in choices %}{{ 'ABCDEFGHIJ'[loop.index0] }}. {{choice}}\n"
            "{% endfor %}Answer:")
_MC_CHOICES = "{{ ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'][:choices|length] }}"
_GEN_TEXT = _CONTEXT + "Question: {{question}}\nAnswer:"
# lm-eval's multimodal models put the image where the prompt says `<image>` (hf-multimodal swaps in its own token).
_IMAGE_TEXT = "<image>\n"
_IMAGE_COMMENT = """\
# Image items: lm-eval gives `doc_to_image` (loader.doc_to_image: the item's image as a PIL image, opened from
# the images/ folder beside this one) only to its multimodal model types (hf-multimodal, vllm-vlm and its
# chat-completions API models); any other model type refuses this task. Multiple-choice tasks score
# loglikelihoods, which the chat-completions API models do not give: use hf-multimodal for those.
"""


def task_name(capability: str) -> str:
    """An lm-eval task name (letters, digits, underscores) for a benchmark of `capability`."""
    slug = re.sub(r"[^a-z0-9]+", "_", capability.casefold()).strip("_")[:40].strip("_")
    return f"ba_{slug or 'benchmark'}"


def lm_eval_files(rows: list[dict[str, Any]], name: str) -> dict[str, str]:
    """File path (under lm_eval/) -> text, for the rows this harness can score."""
    rows = [from_folder(r, FOLDER) for r in rows if not is_code(r)]
    files: dict[str, str] = {}
    tasks = []
    for suffix, image in (("", False), ("_image", True)):
        chosen = [r for r in rows if bool(r.get("image")) is image]
        for kind, body in (("mc", _mc_body()), ("gen", _gen_body())):
            task = f"{name}_{kind}{suffix}"
            picked = [r for r in chosen if (r["answer_format"] == "multiple_choice") is (kind == "mc")]
            if not picked:
                continue
            tasks.append(task)
            files[f"{task}.jsonl"] = jsonl_text(picked)
            if image:
                body = {**body, "doc_to_text": _IMAGE_TEXT + body["doc_to_text"],
                        "doc_to_image": "!function loader.doc_to_image"}
            files[f"{task}.yaml"] = (_IMAGE_COMMENT if image else "") + _task_yaml(task, body)
    if len(tasks) > 1:
        files[f"{name}.yaml"] = yaml.safe_dump({
            "group": name, "task": tasks,
            "aggregate_metric_list": [{"metric": "acc", "aggregation": "mean", "weight_by_size": True}],
            "metadata": {"version": 1.0},
        }, sort_keys=False, allow_unicode=True)
    if files:
        files["loader.py"] = LOADER.read_text(encoding="utf-8")
    return files


def _mc_body() -> dict[str, Any]:
    return {"output_type": "multiple_choice", "doc_to_text": _MC_TEXT, "doc_to_choice": _MC_CHOICES,
            "doc_to_target": "answer_index", "target_delimiter": " ",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}


def _gen_body() -> dict[str, Any]:
    return {"output_type": "generate_until", "doc_to_text": _GEN_TEXT, "doc_to_target": "answer",
            "generation_kwargs": {"until": ["\n\n", "Question:"], "do_sample": False, "temperature": 0.0,
                                  "max_gen_toks": 128},
            "process_results": "!function loader.process_results",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}


def _task_yaml(task: str, body: dict[str, Any]) -> str:
    config = {
        "task": task, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": f"{task}.jsonl"}},
        "custom_dataset": "!function loader.load", "test_split": "test", **body, "metadata": {"version": 1.0},
    }
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000)
    # `!function` is lm-eval's own YAML tag; safe_dump can only write it as a quoted string.
    for function in ("load", "process_results", "doc_to_image"):
        text = text.replace(f"'!function loader.{function}'", f"!function loader.{function}")
    return text
