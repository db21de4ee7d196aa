"""Build throughput against the fake OpenAI-compatible server, compared with what the endpoint allows.

    python bench/throughput.py [--samples 200] [--latency-ms 300] [--concurrency 8] [--fault-rate 0]

The bound is what a perfect client would reach: `concurrency / latency` calls per second, divided
by the calls one accepted sample takes. The embedding model is loaded before the clock starts (a
running server has it loaded). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pydantic_ai.models  # noqa: E402

from assistant.deps import build_options, finish_options  # noqa: E402
from assistant.model_registry import stage_models  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from memory.embeddings import MiniLMEmbedder  # noqa: E402
from memory.store import SampleStore  # noqa: E402
from tests.fake_llm import FakeLLMServer  # noqa: E402
from tools.design import allocate  # noqa: E402
from tools.models import BenchmarkSpec, BuildEvent, Subtask, SubtaskPlan  # noqa: E402
from tools.pipeline import build_and_export  # noqa: E402

SUBTASKS = [("add-sub", "Multi-step addition and subtraction"), ("mul-div", "Multiplication and division word problems"),
            ("fractions", "Fractions and percentages")]


def _plan(samples: int) -> tuple[BenchmarkSpec, SubtaskPlan]:
    spec = BenchmarkSpec(goal="arithmetic word problems", capability="multi-step arithmetic",
                         domain="arithmetic word problems", answer_format="multiple_choice", size=samples)
    quotas = allocate(samples, [1] * len(SUBTASKS))
    plan = SubtaskPlan(subtasks=[Subtask(id=i, name=n, description=n, answer_format="multiple_choice", quota=q)
                                 for (i, n), q in zip(SUBTASKS, quotas, strict=True) if q])
    return spec, plan


def _progress(event: BuildEvent) -> None:
    if event.stage in ("build", "generate") or (event.kind == "accepted" and (event.done or 0) % 20 == 0):
        print(f"  {event.stage} {event.kind}: {event.message}", file=sys.stderr, flush=True)


async def _run(args: argparse.Namespace, work: Path) -> dict[str, object]:
    spec, plan = _plan(args.samples)
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    with FakeLLMServer(port=0, latency_ms=args.latency_ms, fault_rate=args.fault_rate, hang_s=3.0, seed=1) as server:
        settings = Settings(model="openai:fake-model", openai_base_url=server.base_url, openai_api_key="bench",
                            data_dir=work, concurrency=args.concurrency, batch_size=args.batch_size,
                            request_timeout_s=max(2.0, 4 * args.latency_ms / 1000))
        models = stage_models(settings)
        with SampleStore(work / "chroma", embedder=embedder) as store:
            started = time.perf_counter()
            result = await build_and_export(spec, plan, models=models, store=store, directory=work / "out",
                                            options=build_options(settings), on_event=_progress,
                                            finishing=finish_options(settings))
            seconds = time.perf_counter() - started
        calls = server.stats.completions
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
        "retries": report.retries, "faults": dict(server.stats.faults),
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
