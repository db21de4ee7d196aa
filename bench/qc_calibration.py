"""The calibration half of the text-check figures: planted defects and sound items the rules were tuned on.

    python bench/qc_calibration.py             # the calibration set (tuned on)
    python bench/qc_calibration.py --heldout   # the held-out sets (written before their results were seen; test)
    python bench/qc_calibration.py PATH.jsonl  # any set in this format

`tests/data/qc_calibration/items.jsonl` is written from the same defect descriptions as `bench/qc_planted.py`
(a hint in the author's own words; the answer restated in other words; a second option that is also correct,
written another way) on other topics. The rules in `tools/qc/leakage.py`, `tools/qc/restated.py` and
`tools/qc/options.py` were set on this file only; the planted set of `bench/qc_catch.py` and the held-out set
(`tests/data/qc_heldout/items.jsonl`, new topics) are test halves and were not tuned on. Each item goes through the format check
(`to_sample`, where two options saying the same answer are found) and then the leakage check. The last line is
one JSON object: {"leakage": {KIND: [caught, planted]}, "false_rejection": [rejected, sound], "rejected": [...]}.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.contracts import AnswerFormat, SampleDraft, Subtask  # noqa: E402
from tools.qc.leakage import find_leak  # noqa: E402
from tools.qc.schema import CheckFailed, make_provenance, to_sample  # noqa: E402

CALIBRATION = Path(__file__).resolve().parents[1] / "tests" / "data" / "qc_calibration" / "items.jsonl"
HELDOUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "qc_heldout" / "items.jsonl"
HELDOUT_SECOND = HELDOUT.with_name("second.jsonl")  # written after the last change to the rules
KINDS = ("hint_in_new_words", "answer_restated", "synonym_option")
PROVENANCE = make_provenance("qc-calibration", "bench", "bench", 1, datetime(2026, 1, 1, tzinfo=UTC))


def _subtask(answer_format: AnswerFormat) -> Subtask:
    return Subtask(id=answer_format.replace("_", "-"), name=answer_format, description="Calibration items.", answer_format=answer_format,
                   quota=1)


Item = tuple[str, SampleDraft, Subtask]


def read_items(path: Path = CALIBRATION) -> list[Item]:
    """(kind, draft, subtask) for every row of a JSONL set; kind is "clean" or the defect planted."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["kind"], SampleDraft(question=row["question"], answer=row["answer"], choices=row.get("choices"),
                                      solution_code=row.get("solution_code")), _subtask(row["answer_format"]))
            for row in rows]


def calibration_items(path: Path = CALIBRATION) -> list[Item]:
    return read_items(path)


def text_flag(draft: SampleDraft, subtask: Subtask) -> str | None:
    """Why the format check or the leakage check rejects `draft`, or None."""
    try:
        sample = to_sample(draft, subtask, PROVENANCE)
    except CheckFailed as exc:
        return f"schema: {exc}"
    leak = find_leak(sample)
    return f"leakage: {leak}" if leak else None


def leakage_figures(items: list[Item]) -> dict[str, object]:
    """What the format and leakage checks catch per kind, and which sound items they reject."""
    flagged = [(kind, draft, text_flag(draft, subtask)) for kind, draft, subtask in items]
    caught = Counter(kind for kind, _, leak in flagged if leak)
    planted = Counter(kind for kind, _, _ in items)
    rejected = [f"{s.question[:70]} ({leak})" for kind, s, leak in flagged if kind == "clean" and leak]
    return {"leakage": {k: [caught[k], planted[k]] for k in KINDS},
            "false_rejection": [len(rejected), planted["clean"]], "rejected": rejected}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [HELDOUT, HELDOUT_SECOND] if args == ["--heldout"] else [Path(a) for a in args] or [CALIBRATION]
    out: dict[str, object] = {}
    for path in paths:
        if not path.is_file():
            print(f"no such set: {path}", file=sys.stderr)
            return 2
        items = read_items(path)
        figures = leakage_figures(items)
        figures["missed"] = [f"{kind}: {d.question[:70]}" for kind, d, sub in items if kind != "clean" and not text_flag(d, sub)]
        out[path.name if len(paths) > 1 else "figures"] = figures
    print(json.dumps(out if len(paths) > 1 else out["figures"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
