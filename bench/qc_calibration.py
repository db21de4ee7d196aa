"""The calibration half of the leakage figures: planted leaks and sound items that the leakage rules were tuned on.

    python bench/qc_calibration.py

`tests/data/qc_calibration/items.jsonl` is written from the same defect descriptions as `bench/qc_planted.py`
(a hint in the author's own words; the answer restated in other words) on other topics. The rules in
`tools/qc/leakage.py` and `tools/qc/restated.py` were set on this file only; the planted set of
`bench/qc_catch.py` is the test half and was not tuned on. The last line is one JSON object:
{"leakage": {KIND: [caught, planted]}, "false_rejection": [rejected, sound], "rejected": [...]}.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.contracts import AnswerFormat, Sample, SampleDraft, Subtask  # noqa: E402
from tools.qc.leakage import find_leak  # noqa: E402
from tools.qc.schema import make_provenance, to_sample  # noqa: E402

CALIBRATION = Path(__file__).resolve().parents[1] / "tests" / "data" / "qc_calibration" / "items.jsonl"
KINDS = ("hint_in_new_words", "answer_restated")
PROVENANCE = make_provenance("qc-calibration", "bench", "bench", 1, datetime(2026, 1, 1, tzinfo=UTC))


def _subtask(answer_format: AnswerFormat) -> Subtask:
    return Subtask(id=answer_format.replace("_", "-"), name=answer_format, description="Calibration items.", answer_format=answer_format,
                   quota=1)


def calibration_items(path: Path = CALIBRATION) -> list[tuple[str, Sample]]:
    """(kind, sample) for every row of the calibration file; kind is "clean" or the defect planted."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["kind"], to_sample(SampleDraft(question=row["question"], answer=row["answer"], choices=row.get("choices")),
                                    _subtask(row["answer_format"]), PROVENANCE)) for row in rows]


def leakage_figures(items: list[tuple[str, Sample]]) -> dict[str, object]:
    """What the leakage check catches per kind, and which sound items it rejects."""
    flagged = [(kind, sample, find_leak(sample)) for kind, sample in items]
    caught = Counter(kind for kind, _, leak in flagged if leak)
    planted = Counter(kind for kind, _ in items)
    rejected = [f"{s.question[:70]} ({leak})" for kind, s, leak in flagged if kind == "clean" and leak]
    return {"leakage": {k: [caught[k], planted[k]] for k in KINDS},
            "false_rejection": [len(rejected), planted["clean"]], "rejected": rejected}


def main() -> int:
    figures = leakage_figures(calibration_items())
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
