"""The dataset card (README.md) written next to an exported benchmark, in the Hugging Face format."""

from __future__ import annotations

from collections import Counter

from tools.models import BuildReport, Sample

_LANGUAGE_CODES = {"english": "en", "french": "fr", "german": "de", "spanish": "es", "chinese": "zh",
                   "japanese": "ja", "italian": "it", "portuguese": "pt", "russian": "ru", "arabic": "ar"}


def _size_category(n: int) -> str:
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K"


def _header(report: BuildReport, n: int) -> str:
    spec = report.spec
    language = _LANGUAGE_CODES.get(spec.language.casefold(), spec.language)
    category = "multiple-choice" if spec.answer_format == "multiple_choice" else "question-answering"
    return "\n".join([
        "---",
        "license: other",
        f"language:\n- {language}",
        f"task_categories:\n- {category}",
        f"size_categories:\n- {_size_category(n)}",
        "tags:\n- benchmark\n- synthetic\n- benchmark-agent",
        "configs:\n- config_name: default\n  data_files:\n  - split: test\n    path: benchmark.jsonl",
        "---",
    ])


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def dataset_card(report: BuildReport, samples: list[Sample]) -> str:
    spec = report.spec
    per_subtask = Counter(s.subtask_id for s in samples)
    parts = [
        _header(report, len(samples)),
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
    parts.append("Every sample passed deterministic format checks (one correct option for multiple choice, "
                 "options shuffled with a stable seed), semantic de-duplication against the samples accepted "
                 "before it, and an independent review by the judge model.\n\n" + _table(
                     [(c.stage, str(c.attempted), str(c.passed), str(c.dropped)) for c in report.stages],
                     ("check", "attempted", "passed", "dropped")))
    if report.drop_reasons:
        parts.append("## Drop reasons\n\n" + _table(
            [(reason, str(n)) for reason, n in list(report.drop_reasons.items())[:15]], ("reason", "count")))
    if report.answer_positions:
        parts.append("Answer positions: " + ", ".join(f"{k}: {v}" for k, v in report.answer_positions.items()))
    parts.append("## Files\n\n- `benchmark.jsonl` / `benchmark.csv`: one sample per row (`id`, `subtask`, "
                 "`question`, `context`, `choices`, `answer`, `answer_index`, `rationale`)\n"
                 "- `report.json`: the spec, the plan, counts per check and every dropped candidate with its reason")
    return "\n\n".join(parts) + "\n"
