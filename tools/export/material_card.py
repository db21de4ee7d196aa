"""The dataset card's "Source material" section: the user's files a grounded build drew on, and what was measured.

Every figure comes from the build report (`BuildReport.material`, `BuildReport.stages`) and the items
themselves; a check that did not run is said not to have run, never given a rate.
"""

from __future__ import annotations

from tools.contracts import BuildReport, MaterialUsage, Sample


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.0%})"


def _used_table(usage: MaterialUsage) -> str:
    rows = [(what, used, total) for what, used, total in (
        ("document passages", usage.chunks_used, usage.chunks_total),
        ("data records", usage.records_used, usage.records_total),
        ("images", usage.images_used, usage.images_total)) if total]
    if not rows:
        return "No passage, record or image of these files was read."
    lines = ["| material | used by an item | read from the files |", "|---|---|---|"]
    lines += [f"| {what} | {used} | {total} |" for what, used, total in rows]
    return "\n".join(lines)


def _evidence_sentence(report: BuildReport, samples: list[Sample]) -> str:
    """What the items cite, and whether the deterministic evidence check vouches for it on this build."""
    cited = sum(1 for s in samples if s.evidence)
    checked = any(stage.stage == "evidence" and stage.attempted for stage in report.stages)
    if cited == len(samples):
        sentence = ("Every item cites the evidence it rests on: the file and its page, section or row, with the "
                    "verbatim span for text, or the image.")
    else:
        sentence = f"{cited} of {len(samples)} items cite the evidence they rest on."
    if not checked:
        return sentence + " The evidence check did not run on this build, so the spans were not checked against the sources."
    return sentence + (" Every quoted span was checked against its source before the item was accepted: a "
                       "deterministic check found it again in the cited passage or record, allowing differences of "
                       "whitespace, letter case and Unicode form only.")


def _measured(usage: MaterialUsage) -> list[str]:
    lines = []
    unused = usage.records_total - usage.records_used
    if usage.records_total:
        listed = min(len(usage.unused_records), unused)
        lines.append(f"- Records no item used: {unused}" + (
            f" (the first {listed} ids are in `report.json`, `material.unused_records`)" if listed else ""))
    lines.append("- Candidates dropped by the evidence check (evidence missing, or not found in the cited source): "
                 f"{usage.evidence_dropped}")
    if usage.closed_book_checked:
        lines.append("- Closed-book rate (the solver asked the question without the material): answered correctly "
                     f"{_share(usage.answerable_without_source, usage.closed_book_checked)} checked items of this benchmark")
    else:
        lines.append("- Closed-book check (the solver asked without the material): not run on this build's items")
    if usage.blind_checked:
        lines.append("- Blind rate (the solver asked an image item's question without the image): answered correctly "
                     f"{_share(usage.answerable_blind, usage.blind_checked)} checked image items of this benchmark")
    elif usage.images_used:
        lines.append("- Blind check (the solver asked without the image): not run on this build's image items")
    return lines


def material_section(usage: MaterialUsage, report: BuildReport, samples: list[Sample]) -> str:
    """The section for a grounded build: `usage` is its report's `material`."""
    files = ", ".join(f"`{name}`" for name in usage.sources) or "none recorded"
    parts = ["## Source material", f"Items are written from the user's files: {files}.", _used_table(usage),
             _evidence_sentence(report, samples), "\n".join(_measured(usage))]
    return "\n\n".join(parts)
