"""The Inspect AI export: a task file with one `@task` per kind of item, and the dataset each reads.

Each dataset row is an Inspect `Sample` as `json_dataset` reads it (`id`, `input`, `target`, `choices`,
`metadata`); the target of a multiple-choice item is its letter. Solvers and scorers fit the answer format:
`multiple_choice()` + `choice()`, `generate()` + `match(numeric=True)` for numbers, `match()` for yes/no,
`model_graded_fact()` for short answers. Code items get a task of their own (`..._code`): `generate()`, then a
scorer written into the task file that runs the item's own tests against the function in the model's reply, with
Inspect's `sandbox().exec`; the task's sandbox is `local` (a subprocess on the host, no isolation), which
`inspect eval --sandbox docker` replaces with a container.

Image items get tasks of their own (`..._image`, for a model that reads images): their `input` is one user
message, the text (`ContentText`) then the image (`ContentImage`, its path relative to the dataset file,
which Inspect resolves when it reads the file). A grounded item's evidence is kept in `metadata.evidence`.
"""

from __future__ import annotations

import json
from typing import Any

from tools.export.rows import from_folder, is_code

FOLDER = "inspect"
TASK_FILE = "benchmark_task.py"
# answer format -> (dataset file stem, task suffix, solver, scorer)
_KINDS: dict[str, tuple[str, str, str, str]] = {
    "multiple_choice": ("multiple_choice", "mc", "multiple_choice()", "choice()"),
    "numeric": ("numeric", "numeric", "generate()", "match(numeric=True)"),
    "yes_no": ("yes_no", "yes_no", "generate()", "match(location='begin', ignore_case=True)"),
    "short_answer": ("short_answer", "short", "generate()", "model_graded_fact()"),
}


# What a code item's prompt adds, and the scorer that runs its tests (in the task file, so it needs nothing of ours).
_CODE_ASK = "Write the Python function `{entry_point}`. Reply with its complete code in one ```python block."
_CODE_SCORER = '''

FENCED = re.compile(r"```(?:python|py)?[ \\t]*\\n(.*?)```", re.DOTALL)


@scorer(metrics=[accuracy(), stderr()])
def passes_tests(timeout: int = 30) -> Scorer:
    """Correct when the item's own tests pass against the code in the reply (its longest fenced block, else all
    of it), run with the task's sandbox: `local` runs it in a subprocess on this machine, `--sandbox docker`
    in a container."""

    async def score(state: TaskState, target: Target) -> Score:
        blocks = FENCED.findall(state.output.completion)
        code = max(blocks, key=len) if blocks else state.output.completion
        program = f"{code}\\n\\n{state.metadata['tests']}\\n"
        try:
            result = await sandbox().exec(["python3", "-c", program], timeout=timeout)
        except TimeoutError:
            return Score(value=INCORRECT, answer=code, explanation=f"The tests ran over {timeout} s.")
        return Score(value=CORRECT if result.success else INCORRECT, answer=code,
                     explanation=(result.stderr or result.stdout)[-1000:] or "The tests passed.")

    return score
'''


def code_row(row: dict[str, Any]) -> dict[str, Any]:
    """A code item as an Inspect sample: the task and what to write; the reference solution is the target."""
    entry_point = row["metadata"].get("entry_point", "")
    ask = _CODE_ASK.format(entry_point=entry_point) if entry_point else _CODE_ASK.replace(" `{entry_point}`", "")
    question = f"{row['context']}\n\n{row['question']}" if row.get("context") else row["question"]
    return {"id": row["id"], "input": f"{question}\n\n{ask}", "target": row["answer"],
            "metadata": {"subtask": row["subtask"], "answer_format": row["answer_format"], "kind": "code",
                         "entry_point": entry_point, "tests": row["metadata"].get("tests", "")}}


def inspect_row(row: dict[str, Any]) -> dict[str, Any]:
    """One row as an Inspect sample; the question's passage, when there is one, comes before it."""
    question = f"{row['context']}\n\n{row['question']}" if row.get("context") else row["question"]
    text: str | list[dict[str, Any]] = question
    if row.get("image"):
        text = [{"role": "user", "content": [{"type": "text", "text": question},
                                             {"type": "image", "image": row["image"]}]}]
    metadata: dict[str, Any] = {"subtask": row["subtask"], "answer_format": row["answer_format"]}
    if row.get("evidence"):
        metadata["evidence"] = row["evidence"]
    sample = {"id": row["id"], "input": text,
              "target": row["answer_letter"] if row["answer_format"] == "multiple_choice" else row["answer"],
              "metadata": metadata}
    if row["choices"]:
        sample["choices"] = row["choices"]
    return sample


def inspect_files(rows: list[dict[str, Any]], name: str) -> dict[str, str]:
    """File path (under inspect/) -> text."""
    files: dict[str, str] = {}
    tasks = []
    scorable = [from_folder(r, FOLDER) for r in rows if not is_code(r)]
    for image in (False, True):
        for kind, (stem, suffix, solver, scorer) in _KINDS.items():
            chosen = [inspect_row(r) for r in scorable if r["answer_format"] == kind and bool(r.get("image")) is image]
            if not chosen:
                continue
            data_file = f"{stem}_image.jsonl" if image else f"{stem}.jsonl"
            files[data_file] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen)
            what = f"{len(chosen)} {kind.replace('_', ' ')} items" + (" that show an image (needs a vision model)"
                                                                      if image else "")
            tasks.append(f'''

@task
def {name}_{suffix}{"_image" if image else ""}() -> Task:
    """{what}."""
    return Task(dataset=json_dataset(str(HERE / "{data_file}")), solver={solver}, scorer={scorer})''')
    code = [code_row(r) for r in rows if is_code(r) and str(r["metadata"].get("tests", "")).strip()]
    if code:
        files["code.jsonl"] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in code)
        tasks.append(f'''

@task
def {name}_code() -> Task:
    """{len(code)} code items: the item's own tests run against the function in the reply (sandbox: local)."""
    return Task(dataset=json_dataset(str(HERE / "code.jsonl")), solver=generate(), scorer=passes_tests(),
                sandbox="local")''')
    if tasks:
        files[TASK_FILE] = (
            '"""Inspect AI tasks for this benchmark: `inspect eval benchmark_task.py --model PROVIDER/MODEL`."""\n\n'
            + ("import re\n" if code else "") + "from pathlib import Path\n\n"
            "from inspect_ai import Task, task\n"
            "from inspect_ai.dataset import json_dataset\n"
            + ("from inspect_ai.scorer import (\n    CORRECT,\n    INCORRECT,\n    Score,\n    Scorer,\n    Target,\n"
               "    accuracy,\n    choice,\n    match,\n    model_graded_fact,\n    scorer,\n    stderr,\n)\n"
               if code else "from inspect_ai.scorer import choice, match, model_graded_fact\n")
            + "from inspect_ai.solver import TaskState, generate, multiple_choice\n"
            + ("from inspect_ai.util import sandbox\n" if code else "") + "\n"
            "HERE = Path(__file__).resolve().parent\n" + (_CODE_SCORER if code else "") + "\n".join(tasks) + "\n")
    return files
