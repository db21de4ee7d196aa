"""The dataset card (README.md) written next to an exported benchmark, in the Hugging Face format."""

from __future__ import annotations

from collections import Counter

from huggingface_hub import DatasetCard, DatasetCardData

from tools.contracts import DIMENSION_LABELS, BuildReport, QualityReport, Sample
from tools.export.hf import PARQUET_PATH, features
from tools.export.material_card import material_section
from tools.export.rows import sample_row

_LANGUAGE_CODES = {"english": "en", "french": "fr", "german": "de", "spanish": "es", "chinese": "zh",
                   "japanese": "ja", "italian": "it", "portuguese": "pt", "russian": "ru", "arabic": "ar"}


def _size_category(n: int) -> str:
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K"


def card_data(report: BuildReport, samples: list[Sample]) -> DatasetCardData:
    """The card's YAML header: what the Hub and `datasets.load_dataset` read (the test split is the parquet file)."""
    spec = report.spec
    language = _LANGUAGE_CODES.get(spec.language.casefold(), spec.language)
    formats = {s.answer_format for s in samples}
    categories = (["multiple-choice"] if "multiple_choice" in formats else []) + (
        ["question-answering"] if formats - {"multiple_choice"} else [])
    return DatasetCardData(
        license="other", language=[language], task_categories=categories,
        size_categories=[_size_category(len(samples))], tags=["benchmark", "synthetic", "benchmark-agent"],
        pretty_name=f"{spec.capability} ({spec.domain})"[:120],
        configs=[{"config_name": "default", "data_files": [{"split": "test", "path": PARQUET_PATH}]}],
        dataset_info={"features": features([sample_row(s) for s in samples]), "splits": [{"name": "test", "num_examples": len(samples)}]},
    )


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def quality_section(quality: QualityReport) -> str:
    """The quality report in markdown (tables and a text bar chart): for the dataset card and the chat."""
    parts = ["## Quality"]
    if quality.dimensions:
        scores: list[tuple[str, ...]] = [(DIMENSION_LABELS[d][0], DIMENSION_LABELS[d][1], f"{v:.1f}",
                 "`" + "█" * round(v / 10) + "░" * (10 - round(v / 10)) + "`") for d, v in quality.dimensions.items()]
        parts.append(f"LLM-judge scores, 0-100, on {quality.scored} of {quality.items} items "
                     f"(judge `{quality.judge_model}`, generator `{quality.generator_model}`):\n\n"
                     + _table(scores, ("", "dimension", "score", "")))
    figures = [f"- Re-solve agreement (solver without the gold answer): {_percent(quality.agreement_rate)} of {quality.resolved} items",
               f"- Executed answers confirmed: {_percent(quality.executed_pass_rate)} of {quality.executed} items",
               f"- Wrong-answer verdicts set aside as self-contradicting: {quality.voided_verdicts} "
               f"({_percent(quality.voided_rate)} of such verdicts)"]
    if quality.options_computed or quality.options_judged:
        figures.append(f"- Exactly one correct option: computed by the item's solution program for "
                       f"{quality.options_computed} multiple-choice items; left to the judge model's review (no program) for "
                       f"{quality.options_judged}")
    if quality.constraint_misses:
        figures.append("- Candidates dropped for missing a constraint: " + "; ".join(
            f"{text!r} ({n})" for text, n in sorted(quality.constraint_misses.items(), key=lambda kv: -kv[1])))
    if quality.answer_positions:
        balance = {True: "balanced", False: "not balanced", None: ""}[quality.positions_balanced]
        figures.append("- Answer positions: " + ", ".join(f"{k}: {v}" for k, v in quality.answer_positions.items())
                       + f" ({balance})")
    parts.append("\n".join(figures))
    if quality.checks:
        parts.append("### Checks\n\n" + _table(
            [(c.check, str(c.attempted), str(c.passed), str(c.repaired), str(c.dropped),
              "; ".join(f"{r} ({n})" for r, n in sorted(c.drop_reasons.items(), key=lambda kv: -kv[1])[:3]))
             for c in quality.checks], ("check", "attempted", "passed", "repaired", "dropped", "top drop reasons")))
    if quality.panel is not None:
        panel = quality.panel
        band = f", target accuracy band {panel.band[0]:.0%}-{panel.band[1]:.0%}" if panel.band else ""
        rows: list[tuple[str, ...]] = [(s.subtask_id, str(s.items), f"{s.difficulty:.2f}", f"{s.separability:.2f}", str(s.saturated),
                 ", ".join(f"{m}: {a:.0%}" for m, a in s.accuracy.items())) for s in [*panel.subtasks, panel.overall]]
        parts.append(f"### Difficulty (panel of {len(panel.models)}{band}; mean accuracy {panel.accuracy:.0%}, "
                     f"{panel.hardened} items hardened)\n\n"
                     + _table(rows, ("subtask", "items", "difficulty", "separability", "saturated", "panel accuracy")))
    if quality.warnings:
        parts.append("\n".join(f"- {w}" for w in quality.warnings))
    return "\n\n".join(parts)


def _checks_sentence(report: BuildReport) -> str:
    """What every sample passed, in words that hold for this build (its models and its checks)."""
    judge, generator = report.models.get("judge"), report.models.get("generator")
    review = ("a review by the judge model, which is the generator's own model and so not independent"
              if judge == generator else "a review by the judge model, a different model from the generator")
    return ("Every sample passed deterministic format checks (the gold answer is one of the options for multiple "
            "choice and no other option says the same value or name in another form, options shuffled with a stable "
            "seed), semantic de-duplication against the samples accepted "
            f"before it, and {review}. Whether exactly one option is correct is computed for multiple-choice items "
            "with a solution program; for the others the judge decides it.")


def dataset_card(report: BuildReport, samples: list[Sample], quality: QualityReport | None = None) -> str:
    spec = report.spec
    per_subtask = Counter(s.subtask_id for s in samples)
    parts = [
        f"# {spec.capability.capitalize()} benchmark ({spec.domain})",
        f"{len(samples)} {spec.answer_format.replace('_', ' ')} samples in {spec.language}, difficulty {spec.difficulty}, "
        f"generated and verified by Benchmark Agent (build `{report.build_id}`, status **{report.status}**).",
        f"**Request:** {spec.goal}",
    ]
    if report.warnings:
        parts.append("## Warnings\n\n" + "\n".join(f"- {w}" for w in report.warnings))
    parts.append("## Subtasks\n\n" + _table(
        [(s.id, s.name, s.description, str(s.quota), str(per_subtask[s.id])) for s in report.plan.subtasks],
        ("id", "name", "what it tests", "quota", "accepted")))
    if spec.assumptions or spec.unsupported_requests:
        parts.append("## Assumptions and limits\n\n" + "\n".join(
            [f"- {a}" for a in spec.assumptions] + [f"- Not done: {u}" for u in spec.unsupported_requests]))
    parts.append("## How it was made\n\n" + _table(
        [(role, name) for role, name in report.models.items()], ("role", "model")))
    parts.append(_checks_sentence(report) + "\n\n" + _table(
                     [(c.stage, str(c.attempted), str(c.passed), str(c.dropped)) for c in report.stages],
                     ("check", "attempted", "passed", "dropped")))
    if report.drop_reasons:
        parts.append("## Drop reasons\n\n" + _table(
            [(reason, str(n)) for reason, n in list(report.drop_reasons.items())[:15]], ("reason", "count")))
    if report.answer_positions:
        parts.append("Answer positions: " + ", ".join(f"{k}: {v}" for k, v in report.answer_positions.items()))
    if report.material is not None:
        parts.append(material_section(report.material, report, samples))
    if quality is not None:
        parts.append(quality_section(quality))
    files = ["- `benchmark.jsonl` / `benchmark.csv`: one sample per row (`id`, `subtask`, `question`, `context`, "
             "`choices`, `answer`, `answer_index`, `rationale`); `data/test-00000-of-00001.parquet`: the same rows "
             "as the Hugging Face test split",
             "- `lm_eval/`: an lm-evaluation-harness task per answer format; `inspect/`: an Inspect AI task file and "
             "its dataset; `pydantic_evals/`: a pydantic_evals dataset with its JSON schema; `benchmark.zip`: all of it",
             "- `report.json`: the spec, the plan, counts per check and every dropped candidate with its reason"]
    if quality is not None:
        files.append("- `quality.json`: judge scores per dimension and item, counts and drop reasons per check, "
                     "agreement and executed-answer rates, answer positions, panel difficulty")
    if any(s.evidence for s in samples):
        files.append("- Grounded items: `evidence` lists what each item rests on (`unit`, `source` file, `anchor` "
                     "page/section/row, verbatim `quote`); the CSV also has `sources` (\"file: anchor; ...\")")
    if any(s.image for s in samples):
        files.append("- Image items: `images/<sha256>.<ext>` holds each image; `image` is its path relative to the file "
                     "that names it (`images/...` in benchmark.jsonl and benchmark.csv, `../images/...` in `lm_eval/`, "
                     "`inspect/` and `pydantic_evals/`); the parquet embeds the image itself (a `datasets` Image)")
    if any(s.metadata.get("kind") == "code" for s in samples):
        files.append("- Code items (`metadata.kind` = `code`): `answer` is a reference solution; grade a model's "
                     "function `metadata.entry_point` by running `metadata.tests` against it. The Inspect task "
                     "`..._code` does that in Inspect's `local` sandbox, a subprocess on your machine with no "
                     "isolation: add `--sandbox docker` to `inspect eval` to run the model's code in a container")
    parts.append("## Files\n\n" + "\n".join(files))
    parts.append(LOADING + (IMAGE_LOADING if any(s.image for s in samples) else ""))
    body = "\n\n".join(parts) + "\n"
    return str(DatasetCard(f"---\n{card_data(report, samples).to_yaml()}\n---\n\n{body}"))


LOADING = """## How to load and run it

```python
from datasets import load_dataset
benchmark = load_dataset("path/to/this/folder", split="test")
```

- lm-evaluation-harness: `lm_eval --include_path lm_eval --tasks <task> --model ...` (task names are in `lm_eval/*.yaml`)
- Inspect AI: `inspect eval inspect/benchmark_task.py --model ...`
- pydantic_evals: `Dataset[dict, str, dict].from_file("pydantic_evals/dataset.yaml")`"""
IMAGE_LOADING = """
- Image items are tasks of their own, named `..._image`: in `lm_eval/` they need a multimodal lm-eval model type
  (e.g. `hf-multimodal`), and so does the group over all tasks; in `inspect/`, a model that reads images. In the
  loaded dataset, an image item's `image` is a PIL image (None for the others)"""
