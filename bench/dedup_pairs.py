"""Precision and recall of the duplicate decision on the labelled pairs (tests/data/dedup_pairs.jsonl).

    python bench/dedup_pairs.py [--threshold T]

Compares the shipped two-stage decision (question embedding + text check, no tie-break) with the
embedding alone on the whole sample text (question, choices, answer, passage) at its best-F1
threshold and at 0.9. Uses the shipped embedder (int8 MiniLM). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from memory.dedup import SHIPPED_THRESHOLD, DedupItem, Deduplicator  # noqa: E402
from memory.minilm_onnx import OnnxMiniLMEmbedder  # noqa: E402

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dedup_pairs.jsonl"


def _scores(predicted: list[bool], truth: list[bool]) -> dict[str, float]:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    precision, recall = tp / max(1, sum(predicted)), tp / max(1, sum(truth))
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=SHIPPED_THRESHOLD)
    args = parser.parse_args()
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    truth = [bool(r["duplicate"]) for r in rows]
    a = [DedupItem.from_row(r["a"], default_id="a") for r in rows]
    b = [DedupItem.from_row(r["b"], default_id="b") for r in rows]
    embedder = OnnxMiniLMEmbedder()
    dedup = Deduplicator(embedder, threshold=args.threshold)
    question = np.sum(dedup.vectors(a) * dedup.vectors(b), axis=1)
    verdicts = [dedup.verdict(x, y, float(s)) for x, y, s in zip(a, b, question, strict=True)]
    errors = [{"id": r["id"], "labelled": r["duplicate"], "reason": v.reason, "score": round(v.score, 3)}
              for r, v in zip(rows, verdicts, strict=True) if bool(v.duplicate) != r["duplicate"]]
    whole = np.sum(embedder.embed_array([x.as_text() for x in a]) * embedder.embed_array([y.as_text() for y in b]),
                   axis=1)
    sweep = {round(float(t), 2): _scores([bool(s >= t) for s in whole], truth) for t in np.arange(0.5, 1.0, 0.01)}
    best = max(sweep, key=lambda t: sweep[t]["f1"])
    for error in errors:
        print(f"miss: {error}", file=sys.stderr)
    print(json.dumps({
        "pairs": len(rows), "duplicates": sum(truth), "kinds": dict(Counter(r["kind"] for r in rows)),
        "two_stage": {"threshold": args.threshold, **_scores([bool(v.duplicate) for v in verdicts], truth),
                      "uncertain_band": sum(v.duplicate is None for v in verdicts)},
        "embedding_only_whole_text": {"best_f1_threshold": best, **sweep[best], "at_0.90": sweep[0.9]},
    }))


if __name__ == "__main__":
    main()
