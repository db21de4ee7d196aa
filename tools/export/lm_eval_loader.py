"""Shipped next to the exported lm-evaluation-harness tasks as `lm_eval/loader.py`; standard library and `datasets`
only, and Pillow for image items (every multimodal model lm-eval runs needs it too).

`load` is the tasks' `custom_dataset`: it reads the task's JSONL from this folder, wherever the folder was moved
and whatever the working directory. `doc_to_image` opens an image item's picture from its path relative to this
folder (the build's `images/`, beside it). `process_results` scores generated answers by the item's answer format:
numbers within a tolerance, yes/no by the first word, other short answers by normalised exact match.
"""

from __future__ import annotations

import math
import re
import string
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def load(data_files: dict[str, str] | None = None, **_: Any) -> Any:
    """The task's splits, read from the JSONL files named relative to this folder."""
    import datasets

    files = {split: str(HERE / path) for split, path in (data_files or {}).items()}
    return datasets.load_dataset("json", data_files=files)


def doc_to_image(doc: dict[str, Any]) -> list[Any]:
    """The item's image as lm-eval's multimodal models take it: a list of one RGB PIL image."""
    from PIL import Image

    with Image.open(HERE / doc["image"]) as image:
        return [image.convert("RGB")]


def _normalise(text: str) -> str:
    text = text.casefold().strip()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _numbers(text: str) -> list[float]:
    found = []
    for match in _NUMBER.findall(text):
        try:
            found.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return found


def is_correct(doc: dict[str, Any], response: str) -> bool:
    """Whether `response` gives the item's gold answer."""
    gold, kind = str(doc["answer"]), doc["answer_format"]
    if kind == "numeric":
        numbers = _numbers(response)
        target = float(gold)
        # The last number stated is the answer; equal to the gold's own precision.
        return bool(numbers) and math.isclose(numbers[-1], target, rel_tol=1e-6, abs_tol=1e-9)
    if kind == "yes_no":
        words = _normalise(response).split()
        return bool(words) and words[0] == gold.casefold()
    return _normalise(response) == _normalise(gold)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    return {"acc": 1.0 if is_correct(doc, results[0] if results else "") else 0.0}
