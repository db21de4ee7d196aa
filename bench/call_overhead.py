"""Client CPU of one model call, layer by layer, against the fake endpoint in its own process.

    python bench/call_overhead.py [--calls 200]

Calls are made one at a time (no latency), so each figure is the CPU the event loop's thread spends per call
in that layer and everything under it: a plain HTTP POST (httpx), the OpenAI SDK's `chat.completions.create`,
the same less the SDK's request-body transform (`openai_sdk_lean_ms`), the client the product calls endpoints
with (`product_client_ms`: that, over aiohttp; `tools.llm.lean_client`), a pydantic-ai `Agent.run` on the product's model for an endpoint, and `run_stage` through the build's own
wrappers (call cache with its fsync, concurrency slots, retries); and the memory's embedder, per question
(`embed_ms_per_question`: de-duplication embeds each candidate's question once). The last line is one JSON
object of milliseconds. A build makes about 2.6 calls per accepted sample (bench/throughput.py prints it).
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import httpx2  # noqa: E402
import pydantic_ai.models  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from assistant.deps import memory_embedder  # noqa: E402
from assistant.model_registry import stage_models  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.throughput import _ServerProcess  # noqa: E402
from tools.contracts.checks import SolverAnswer  # noqa: E402
from tools.llm.lean_client import LeanAsyncOpenAI, lean_client  # noqa: E402
from tools.llm.resilience import CallCache  # noqa: E402
from tools.llm.stage import run_stage  # noqa: E402
from tools.qc.solve import solver_agent  # noqa: E402

PROMPT = "Question: A train leaves at 9:40 and arrives at 11:05. How long is the journey, in minutes?"


async def _cpu_per_call(calls: int, call: Callable[[int], Awaitable[object]]) -> float:
    for n in range(10):  # warm: connections open, schemas built
        await call(-n - 1)
    before = time.thread_time()
    for n in range(calls):
        await call(n)
    return round((time.thread_time() - before) / calls * 1000, 2)


async def _run(calls: int) -> dict[str, float]:
    with _ServerProcess(SimpleNamespace(latency_ms=0, fault_rate=0)) as server, tempfile.TemporaryDirectory() as tmp:
        body = {"model": "fake-model", "messages": [{"role": "user", "content": PROMPT}],
                "tools": [{"type": "function", "function": {"name": "submit_answer", "parameters": SolverAnswer.model_json_schema()}}],
                "tool_choice": {"type": "function", "function": {"name": "submit_answer"}}}
        figures: dict[str, float] = {}
        async with httpx2.AsyncClient() as client:
            figures["httpx_post_ms"] = await _cpu_per_call(
                calls, lambda n: client.post(f"{server.base_url}/chat/completions", json=body))
        sdk = AsyncOpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
        figures["openai_sdk_ms"] = await _cpu_per_call(calls, lambda n: sdk.chat.completions.create(**body))  # type: ignore[call-overload]
        lean = LeanAsyncOpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
        figures["openai_sdk_lean_ms"] = await _cpu_per_call(calls, lambda n: lean.chat.completions.create(**body))
        product = lean_client(base_url=server.base_url, api_key="bench", timeout=60)
        figures["product_client_ms"] = await _cpu_per_call(calls, lambda n: product.chat.completions.create(**body))
        settings = Settings(model="openai:fake-model", openai_base_url=server.base_url, openai_api_key="bench",
                            data_dir=Path(tmp), output_mode="tool")
        models = stage_models(settings)
        agent = solver_agent  # the build's own re-solve stage agent
        figures["agent_run_ms"] = await _cpu_per_call(calls, lambda n: agent.run(PROMPT, model=models.model("judge")))
        build = models.with_cache(CallCache(Path(tmp) / "calls.jsonl")).limited(16)
        figures["run_stage_build_ms"] = await _cpu_per_call(  # each prompt new: the cache misses, as in a build
            calls, lambda n: run_stage(agent, f"{PROMPT} (item {n})", models=build, role="judge", stage="bench"))
    figures["embed_ms_per_question"] = _embed_cpu(calls)
    return figures


def _embed_cpu(calls: int) -> float:
    """The memory's embedder (assistant.deps.memory_embedder) on batches of 4 new questions, as de-duplication
    embeds a batch: the process's CPU (all threads: onnxruntime's included) per question."""
    embedder = memory_embedder()
    embedder.embed(["warm: the model is loaded and its first run is done"])
    texts = [f"{PROMPT} A second train leaves {n} minutes later and runs {n % 7 + 2} km/h faster." for n in range(calls)]
    before = resource.getrusage(resource.RUSAGE_SELF)
    for start in range(0, len(texts), 4):
        embedder.embed(texts[start:start + 4])
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return round(cpu / len(texts) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = True
    print(json.dumps(asyncio.run(_run(args.calls))))


if __name__ == "__main__":
    main()
