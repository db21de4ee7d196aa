"""De-duplication at scale: synthetic benchmark items, embedding included, on this machine's CPUs.

    python bench/dedup_scale.py [--sizes 10000,100000] [--seed 0]

Each size runs in a fresh process (so its peak RSS is its own) and starts with the ONNX model loaded
but nothing embedded: the clock covers exact-duplicate hashing, embedding every distinct question,
indexing and querying the neighbours in Chroma, and the textual second stage. The items are
templated word problems, percentages, Python questions and fact questions over generated names;
about 12% are planted duplicates (paraphrases or copies of an earlier item) and 8% near misses (one
number, or the entity and its answer, changed). Every item knows what it asks (template and slots),
so the run also reports the precision and recall of the pairs it found, and the CPU seconds it used
(on a shared machine the wall time depends on what else runs; `load_avg_1m` is printed too).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from memory.dedup import DedupItem, Deduplicator  # noqa: E402
from memory.minilm_onnx import OnnxMiniLMEmbedder  # noqa: E402

_SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "vo", "su", "ne", "pa", "di", "ba", "ro", "zu", "fe", "ti", "mo", "la", "ve", "qu", "sha", "nor", "el", "an", "is", "ur"]
_THINGS = ["apples", "marbles", "stamps", "books", "coins", "pencils", "stickers", "cards", "shells", "tickets", "bottles", "eggs"]
_VEHICLES = ["train", "bus", "truck", "cyclist", "ferry", "car", "tram"]
_FIELDS = ["chemistry", "finance", "networking", "medicine", "aviation", "law", "astronomy", "geology"]
# Slots that only dress a problem up: the same numbers with another name, object or vehicle ask the same thing
# (as in tests/data/dedup_pairs/, where a word problem with only the name changed is a duplicate).
_COSMETIC = {"n", "t", "v"}

# Each template: paraphrases of one question (same slots), and how the answer follows from the slots.
_TEMPLATES = [
    (["{n} has {a} {t} and buys {b} more. How many {t} does {n} have now?",
      "After buying {b} more {t}, how many {t} does {n} have if {n} started with {a}?",
      "{n} starts with {a} {t} and then gets {b} more. What is the total number of {t}?"],
     lambda s: str(s["a"] + s["b"])),
    (["A box holds {a} {t}. How many {t} are in {b} boxes?",
      "If each box contains {a} {t}, how many {t} do {b} boxes contain?",
      "How many {t} fit in {b} boxes when one box holds {a} {t}?"],
     lambda s: str(s["a"] * s["b"])),
    (["A {v} travels at {a} km/h for {b} hours. How far does it go?",
      "How many kilometres does a {v} cover in {b} hours at {a} km per hour?",
      "Moving at a steady {a} km/h, what distance does a {v} travel in {b} hours?"],
     lambda s: f"{s['a'] * s['b']} km"),
    (["What is {p}% of {a}?", "Compute {p} percent of {a}.", "How much is {p}% of the number {a}?"],
     lambda s: f"{s['p'] * s['a'] / 100:g}"),
    (["What is the capital of the fictional country {C}?", "In the fictional country {C}, which city is the capital?",
      "Name the capital city of the made-up nation {C}."],
     lambda s: s["city"]),
    (["In {f}, what does the acronym {A} stand for?", "What is the expansion of {A} as used in {f}?",
      "Expand the {f} abbreviation {A}."],
     lambda s: s["expansion"]),
    (["What does len({L}) return in Python?", "In Python, what is the value of len({L})?",
      "What is printed by print(len({L})) in Python?"],
     lambda s: str(s["size"])),
    (["Who founded the fictional company {C} Labs?", "The fictional company {C} Labs was founded by whom?",
      "Name the founder of the made-up firm {C} Labs."],
     lambda s: s["person"]),
]


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _slots(rng: random.Random) -> dict[str, Any]:
    size = rng.randint(1, 9)
    return {
        "n": _name(rng, 2), "a": rng.randint(2, 999), "b": rng.randint(2, 99), "p": rng.choice([5, 10, 15, 20, 25, 40, 75]),
        "t": rng.choice(_THINGS), "v": rng.choice(_VEHICLES), "f": rng.choice(_FIELDS), "C": _name(rng, 3),
        "city": _name(rng, 3) + " City", "A": "".join(rng.choice("ABCDEFGHKLMNPRSTVW") for _ in range(rng.randint(3, 4))),
        "expansion": " ".join(_name(rng, 2) for _ in range(3)), "L": str(list(range(size))), "size": size,
        "person": f"{_name(rng, 2)} {_name(rng, 3)}",
    }


def _item(template: int, variant: int, slots: dict[str, Any], n: int) -> dict[str, Any]:
    questions, answer = _TEMPLATES[template]
    used = sorted({field for _, field, _, _ in string.Formatter().parse(questions[0]) if field} - _COSMETIC)
    meaning = json.dumps([template, [slots[key] for key in used], answer(slots)])  # same question, same answer
    return {"id": f"s{n}", "question": questions[variant].format(**slots), "answer": answer(slots),
            "template": template, "slots": slots, "meaning": meaning}


def synthetic(size: int, seed: int) -> list[dict[str, Any]]:
    """`size` items; items with the same "meaning" ask the same thing (planted, or drawn twice by chance)."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for n in range(size):
        roll = rng.random()
        if items and roll < 0.08:  # paraphrase of an earlier item: same slots, another wording
            source = rng.choice(items)
            wordings = _TEMPLATES[source["template"]][0]
            variant = rng.choice([v for v in range(3) if wordings[v].format(**source["slots"]) != source["question"]])
            items.append(_item(source["template"], variant, dict(source["slots"]), n))
        elif items and roll < 0.12:  # copy with other case and spacing
            source = rng.choice(items)
            items.append({**source, "id": f"s{n}", "question": "  " + str(source["question"]).lower() + " "})
        elif items and roll < 0.20:  # near miss: the same wording with one slot changed
            source = rng.choice(items)
            slots = dict(source["slots"])
            fresh = _slots(rng)  # a different entity comes with a different answer
            slots.update(a=int(slots["a"]) + 1, size=int(slots["size"]) + 1, L=str(list(range(int(slots["size"]) + 1))),
                         **{key: fresh[key] for key in ("C", "A", "city", "expansion", "person")})
            items.append(_item(int(source["template"]), 0, slots, n))
        else:
            items.append(_item(rng.randrange(len(_TEMPLATES)), rng.randrange(3), _slots(rng), n))
    return items


def run_one(size: int, seed: int) -> dict[str, float]:
    rows = synthetic(size, seed)
    seen: set[object] = set()
    repeats = set()  # items asking what an earlier item asked: the duplicates to find
    for row in rows:
        (repeats.add(row["id"]) if row["meaning"] in seen else seen.add(row["meaning"]))
    meaning = {row["id"]: row["meaning"] for row in rows}
    embedder = OnnxMiniLMEmbedder(cache_size=size + 1000)
    embedder.embed(["warm up"])  # the model is loaded before the clock starts, as in a running service
    dedup = Deduplicator(embedder)
    items = [DedupItem.from_row(row, default_id=str(row["id"])) for row in rows]
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    found = asyncio.run(dedup.within(items))
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    right = sum(1 for d in found if meaning[d.a] == meaning[d.b])
    return {
        "seconds": round(seconds, 2), "samples_per_sec": round(size / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(cpu, 1),  # all threads; with other jobs on the machine, wall time exceeds cpu / cores
        "duplicates": len(repeats), "reported": len(found), "precision": round(right / max(1, len(found)), 4),
        "recall": round(len({d.b for d in found} & repeats) / max(1, len(repeats)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # internal: one size, this process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.seed)))
        return
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    results: dict[str, dict[str, float]] = {}
    for size in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True).stdout
        results[str(size)] = json.loads(out.strip().splitlines()[-1])
        print(f"{size}: {results[str(size)]}", file=sys.stderr, flush=True)
    growth = results[str(sizes[-1])]["seconds"] / max(results[str(sizes[0])]["seconds"], 1e-9)
    print(json.dumps({"sizes": results, "growth": round(growth, 2), "cpus": os.cpu_count(),
                      "load_avg_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
