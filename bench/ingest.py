"""Reading, chunking and embedding the user's material at size, on this machine's CPUs.

    python bench/ingest.py [--pages 300] [--rows 100000] [--max-records 100000]

Generates a text PDF of `--pages` pages (about 550 words each) and a CSV of `--rows` rows in a
temporary folder, then, each in a fresh process (so its peak RSS is its own), times `ingest` (read and
chunk, or read and stream the records) and what the product embeds next: every passage of a document
(`material_index`, the shipped int8 MiniLM, loaded before the clock starts); records are not embedded. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _case(kind: str, path: Path, max_records: int) -> dict[str, object]:
    from memory.minilm_onnx import OnnxMiniLMEmbedder
    from memory.store import SampleStore
    from tools.sources import MaterialView, SourceLimits, ingest
    from tools.stages.material_index import material_index

    embedder = OnnxMiniLMEmbedder()
    embedder.embed(["warm up"])
    work = Path(tempfile.mkdtemp(prefix=f"ingest-{kind}-"))
    start = time.perf_counter()
    ingest([(path.name, path)], work / "material", SourceLimits(max_records=max_records))
    read_s = time.perf_counter() - start
    view = MaterialView(work / "material")
    # What the product embeds: the documents' passages (tools.stages.ground.material_index); records are read
    # and distributed to subtasks, never embedded.
    units = view.units("document")
    start = time.perf_counter()
    with SampleStore(work / "chroma", embedder=embedder) as store:
        index = material_index(view, store)
        embed_s = time.perf_counter() - start
        if index is not None:
            index.drop()
    source = view.material.sources[0]
    return {"case": kind, "file_mb": round(path.stat().st_size / 1e6, 1), "pages": source.pages,
            "records": source.records, "units": len(view.units()), "embedded": len(units), "read_and_chunk_s": round(read_s, 1),
            "embed_s": round(embed_s, 1), "total_s": round(read_s + embed_s, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--max-records", type=int, default=100_000)
    parser.add_argument("--case", choices=["pdf", "csv"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(_case(args.case, args.path, args.max_records)))
        return
    from tests.tools.sources.fixtures import prose, write_csv, write_text_pdf

    with tempfile.TemporaryDirectory() as tmp:
        pdf = write_text_pdf(Path(tmp) / "report.pdf", [prose(n, 22) for n in range(args.pages)])
        csv = write_csv(Path(tmp) / "data.csv", args.rows)
        results = []
        for kind, path in (("pdf", pdf), ("csv", csv)):
            out = subprocess.run([sys.executable, __file__, "--case", kind, "--path", str(path),
                                  "--max-records", str(args.max_records)], capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]))
    print(json.dumps({"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1), "results": results}))


if __name__ == "__main__":
    main()
