"""Build throughput against the fake OpenAI-compatible server, compared with what the endpoint allows.

    python bench/throughput.py [--samples 200] [--latency-ms 300] [--concurrency 8] [--fault-rate 0]

The bound is what a perfect client would reach: `concurrency / latency` calls per second, divided
by the calls one accepted sample takes. An 8-sample build runs first, untimed, so that models and
libraries are loaded as in a running server. The last line printed is one JSON object; besides the
figures above it says where the time went: `build_s` (the generation loop; the rest is finishing and
export), `server_busy_share` (the share of the slots the server spent answering: close to `ratio`
means the client kept the endpoint busy), `client_cpu_s`, and the calls by tool and the counts per stage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pydantic_ai.models  # noqa: E402

from assistant.deps import build_options, finish_options, memory_embedder  # noqa: E402
from assistant.model_registry import stage_models  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from memory.store import SampleStore  # noqa: E402
from tools.contracts import BenchmarkSpec, BuildEvent, Subtask, SubtaskPlan  # noqa: E402
from tools.pipeline import build_and_export  # noqa: E402
from tools.stages.design import allocate  # noqa: E402

SUBTASKS = [("add-sub", "Multi-step addition and subtraction"), ("mul-div", "Multiplication and division word problems"),
            ("fractions", "Fractions and percentages")]


def _plan(samples: int) -> tuple[BenchmarkSpec, SubtaskPlan]:
    spec = BenchmarkSpec(goal="arithmetic word problems", capability="multi-step arithmetic",
                         domain="arithmetic word problems", answer_format="multiple_choice", size=samples)
    quotas = allocate(samples, [1] * len(SUBTASKS))
    plan = SubtaskPlan(subtasks=[Subtask(id=i, name=n, description=n, answer_format="multiple_choice", quota=q)
                                 for (i, n), q in zip(SUBTASKS, quotas, strict=True) if q])
    return spec, plan


_MARKS: dict[str, float] = {}


def _progress(event: BuildEvent) -> None:
    if event.stage == "build" and event.kind == "finished":
        _MARKS["built"] = time.perf_counter()
    if event.stage in ("build", "generate") or (event.kind == "accepted" and (event.done or 0) % 20 == 0):
        print(f"  {event.stage} {event.kind}: {event.message}", file=sys.stderr, flush=True)


class _ServerProcess:
    """The fake endpoint in a process of its own, as a real endpoint would be (its CPU is not ours)."""

    def __init__(self, args: argparse.Namespace) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        command = [sys.executable, "-m", "tests.fake_llm", "--port", str(self.port), "--latency-ms", str(args.latency_ms),
                   "--fault-rate", str(args.fault_rate), "--hang-s", "3", "--seed", "1"]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None and "listening" in self.process.stdout.readline()

    def stats(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as response:
            return dict(json.load(response))

    def __enter__(self) -> _ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def _run(args: argparse.Namespace, work: Path) -> dict[str, object]:
    spec, plan = _plan(args.samples)
    embedder = memory_embedder()  # the product's own: the packaged all-MiniLM-L6-v2 as int8 ONNX
    embedder.embed(["warm up"])
    with _ServerProcess(args) as server:
        settings = Settings(model="openai:fake-model", openai_base_url=server.base_url, openai_api_key="bench",
                            data_dir=work, concurrency=args.concurrency, batch_size=args.batch_size,
                            request_timeout_s=max(2.0, 4 * args.latency_ms / 1000))
        models = stage_models(settings)
        with SampleStore(work / "chroma", embedder=embedder) as store:
            # A small build first, untimed: a running server has its models and libraries loaded.
            warm_spec, warm_plan = _plan(8)
            await build_and_export(warm_spec, warm_plan, models=models, store=store, directory=work / "warm",
                                   options=build_options(settings), finishing=finish_options(settings))
            before = server.stats()
            calls_before = int(before["completions"])  # type: ignore[call-overload]
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            result = await build_and_export(spec, plan, models=models, store=store, directory=work / "out",
                                            options=build_options(settings), on_event=_progress,
                                            finishing=finish_options(settings))
            seconds = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        stats = server.stats()
        calls = int(stats["completions"]) - calls_before  # type: ignore[call-overload]
    report = result.report
    accepted = max(report.accepted, 1)
    tokens = sum(u.input_tokens + u.output_tokens for u in report.usage.values())
    calls_per_sample = calls / accepted
    bound = args.concurrency / (args.latency_ms / 1000) / calls_per_sample * 60
    per_min = report.accepted / seconds * 60
    return {
        "samples": report.accepted, "status": report.status, "seconds": round(seconds, 2),
        "accepted_per_min": round(per_min, 1), "bound_per_min": round(bound, 1), "ratio": round(per_min / bound, 3),
        "calls_per_sample": round(calls_per_sample, 3), "tokens_per_sample": round(tokens / accepted, 1),
        "retries": report.retries, "faults": stats["faults"],
        "stages": {c.stage: [c.attempted, c.dropped] for c in report.stages},
        "by_tool": {k: v - before["by_tool"].get(k, 0) for k, v in stats["by_tool"].items()},
        "client_cpu_s": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 2),
        "build_s": round(_MARKS.get("built", started) - started, 2),
        "server_busy_share": round((float(stats["busy_s"]) - float(before["busy_s"]))  # type: ignore[arg-type]
                                   / (seconds * args.concurrency), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = True
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as work:
        print(json.dumps(asyncio.run(_run(args, Path(work)))))


if __name__ == "__main__":
    main()
