"""A large build against the fake endpoint: peak memory, memory against samples, and how fast `resume` gets going.

    python bench/build_scale.py [--samples 10000] [--latency-ms 50] [--concurrency 64] [--stop-at 0.99]

The build (full quality gate, the memory the product ships) is stopped once `--stop-at` of its samples are
accepted, as an interrupted build would be; then a fresh process resumes it (`tools.pipeline.resume_build`) and
finishes it, exports included. Printed, last line, one JSON object:

- `rss_mb_by_samples`: the build process's resident memory at every tenth of the samples accepted, and
  `rss_growth_mb_per_1000` (after the first fifth: what keeps growing with the build once it is warm);
- `peak_rss_mb` of the build and `resume_peak_rss_mb` of the process that resumed and finished it;
- `resume_first_call_s`: from the resume's start (`resume_build` called, libraries loaded) to its first request
  reaching the endpoint, and `resume_process_first_call_s` from the process's start (imports included);
- the build's accepted samples per minute and calls, and the resumed build's status and count.

Figures come from the fake endpoint (tests/fake_llm.py): they measure the client, not a model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pydantic_ai.models  # noqa: E402

from assistant.deps import build_options, finish_options, memory_embedder, open_store  # noqa: E402
from assistant.model_registry import stage_models  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.throughput import _plan, _ServerProcess  # noqa: E402
from tools.contracts import BuildEvent  # noqa: E402
from tools.pipeline import build_and_export, resume_build  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _settings(args: argparse.Namespace, base_url: str, work: Path) -> Settings:
    return Settings(model="openai:fake-model", openai_base_url=base_url, openai_api_key="bench", data_dir=work,
                    concurrency=args.concurrency, batch_size=args.batch_size,
                    request_timeout_s=max(5.0, 8 * args.latency_ms / 1000),
                    max_tokens=None)  # no token budget: a 10,000-sample build spends ~19M tokens, past the default


class _Interrupt(Exception):
    """Raised from the progress callback to stop the build as an interruption would."""


async def _build(args: argparse.Namespace, base_url: str, work: Path) -> dict[str, object]:
    spec, plan = _plan(args.samples)
    settings = _settings(args, base_url, work)
    stop_at = int(args.samples * args.stop_at)
    memory: list[list[float]] = []
    accepted = [0]

    def watch(event: BuildEvent) -> None:
        if event.kind != "accepted":
            return
        accepted[0] += 1
        if accepted[0] % max(1, args.samples // 10) == 0:
            memory.append([accepted[0], round(_rss_mb(), 1)])
            print(f"  {accepted[0]} accepted, rss {memory[-1][1]} MB", file=sys.stderr, flush=True)
        if accepted[0] >= stop_at:
            raise _Interrupt

    embedder = memory_embedder()
    embedder.embed(["warm up"])
    started = time.perf_counter()
    with open_store(settings, embedder) as store, contextlib.suppress(_Interrupt):
        await build_and_export(spec, plan, models=stage_models(settings), store=store, directory=work / "out",
                               options=build_options(settings), on_event=watch, finishing=finish_options(settings))
    seconds = time.perf_counter() - started
    warm = [m for m in memory if m[0] >= args.samples // 5]
    growth = ((warm[-1][1] - warm[0][1]) / (warm[-1][0] - warm[0][0]) * 1000) if len(warm) >= 2 else None
    return {"accepted_before_stop": accepted[0], "build_s": round(seconds, 1),
            "accepted_per_min": round(accepted[0] / seconds * 60, 1), "rss_mb_by_samples": memory,
            "rss_growth_mb_per_1000": round(growth, 1) if growth is not None else None,
            "peak_rss_mb": round(_peak_mb(), 1)}


async def _resume(args: argparse.Namespace) -> dict[str, object]:
    """In a process of its own: resume the build in `args.resume` and finish it."""
    work = Path(args.resume)
    settings = _settings(args, args.base_url, work)
    embedder = memory_embedder()
    embedder.embed(["warm up"])  # a resumed build loads its embedder like any other: not counted as the resume
    with open_store(settings, embedder) as store:
        print(json.dumps({"resume_started": time.time()}), flush=True)
        result = await resume_build(work / "out", models=stage_models(settings), store=store,
                                    options=build_options(settings), finishing=finish_options(settings))
    return {"resumed_status": result.report.status, "resumed_accepted": result.report.accepted,
            "resume_peak_rss_mb": round(_peak_mb(), 1)}


def _completions(server: _ServerProcess) -> int:
    return int(server.stats()["completions"])  # type: ignore[call-overload]


def _first_call_after(server: _ServerProcess, before: int, found: list[float], stop: threading.Event) -> None:
    while not stop.is_set() and not found:
        if _completions(server) > before:
            found.append(time.time())
        stop.wait(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--stop-at", type=float, default=0.99, help="share of the samples accepted before the stop")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--resume", help=argparse.SUPPRESS)  # the resuming process: the build's work directory
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = True
    if args.resume:
        print(json.dumps(asyncio.run(_resume(args))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, _ServerProcess(args) as server:
        work = Path(tmp)
        figures = asyncio.run(_build(args, server.base_url, work))
        before, found, stop = _completions(server), [], threading.Event()
        spawned = time.time()
        poller = threading.Thread(target=_first_call_after, args=(server, before, found, stop), daemon=True)
        poller.start()
        command = [sys.executable, __file__, "--resume", str(work), "--base-url", server.base_url,
                   "--samples", str(args.samples), "--latency-ms", str(args.latency_ms),
                   "--concurrency", str(args.concurrency), "--batch-size", str(args.batch_size)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        stop.set()
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        resume_started = float(lines[0]["resume_started"])
        figures.update(lines[-1])
        if found:
            figures["resume_first_call_s"] = round(found[0] - resume_started, 2)
            figures["resume_process_first_call_s"] = round(found[0] - spawned, 2)
    print(json.dumps({"samples": args.samples, "latency_ms": args.latency_ms, "concurrency": args.concurrency,
                      **figures}))


if __name__ == "__main__":
    main()
