"""Build throughput against the fake OpenAI-compatible server, compared with what the endpoint allows.

    python bench/throughput.py [--samples 200] [--latency-ms 300] [--concurrency 8] [--fault-rate 0]
                               [--profile build.prof] [--spans spans.json]

The bound is what a perfect client would reach: `concurrency / latency` calls per second, divided
by the calls one accepted sample takes. An 8-sample build runs first, untimed, so that models and
libraries are loaded as in a running server, and, as the server does once loaded, what is loaded is kept out of
the garbage collector's full passes (assistant.deps.settle_heap). The last line printed is one JSON object; besides the
figures above it says where the time went: `build_s` (the generation loop; the rest is finishing and
export), `server_busy_share` (the share of the slots the server spent answering: close to `ratio`
means the client kept the endpoint busy), `client_cpu_s` and `client_cpu_ms_per_sample` (this process, all its
threads, embedding included; `loop_cpu_s` is the event loop's thread alone), `max_loop_stall_ms` (the longest the event loop was held up: what a request or a
chat message waited for the loop at worst), and the calls by tool and the counts per stage. The fake endpoint's
own figures say whether it was the limit: `server_latency_ms` (mean time per completion, against `--latency-ms`)
and `server_cpu_share` (its CPU time over the wall time; 1.0 is one core busy). The memory is the one the product
ships (the int8 ONNX MiniLM, assistant.deps.open_store). `--profile` writes a cProfile of the timed build (the
event loop's thread only) and prints its top entries to stderr. `idle` says where the endpoint's idle
slot-seconds were (idle_breakdown: ramp-up, steady, tail, finishing) from the endpoint's own spans of requests in
flight, with the client's slots held and requests waiting beside them (SlotWatch); `--spans` writes those spans.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pstats  # noqa: E402

import pydantic_ai.models  # noqa: E402

from assistant.deps import build_options, finish_options, memory_embedder, open_store, settle_heap  # noqa: E402
from assistant.model_registry import stage_models  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from tools.contracts import BenchmarkSpec, BuildEvent, Subtask, SubtaskPlan  # noqa: E402
from tools.llm.resilience import Slots  # noqa: E402
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


class LoopWatch:
    """The event loop's stalls: a timer callback due every `tick_s` notes how late it runs (a callback, not a task
    that sleeps, so that the watch itself costs the loop little), and a watchdog
    thread notes where the loop's thread was while a stall lasted (the innermost frames of this project and
    the frame it was in), so that a stall is named, not just measured."""

    def __init__(self, phase: Callable[[], str], tick_s: float = 0.005, report_from_s: float = 0.05) -> None:
        self.phase, self.tick_s, self.report_from_s = phase, tick_s, report_from_s
        self.longest: dict[str, float] = {}  # by phase
        self.busiest: dict[str, float] = {}  # the most CPU the loop's thread spent between two ticks, by phase
        self.stalls: list[tuple[float, float, str, str]] = []  # (seconds, its CPU seconds, phase, where), from report_from_s
        self._last_tick = time.perf_counter()
        self._seen: str | None = None
        self._stop = threading.Event()
        self._last_cpu = time.thread_time()
        self._handle: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(target=self._watchdog, name="loop-watchdog", daemon=True)
        self._loop_thread = threading.get_ident()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        stall, phase = now - self._last_tick - self.tick_s, self.phase()
        busy = cpu - self._last_cpu  # the loop thread's own CPU: the rest is waiting for a core or the GIL
        self.longest[phase] = max(self.longest.get(phase, 0.0), stall)
        self.busiest[phase] = max(self.busiest.get(phase, 0.0), busy)
        if stall >= self.report_from_s:
            self.stalls.append((stall, busy, phase, self._seen or "?"))
        self._seen = None
        self._last_tick, self._last_cpu = now, cpu
        self._handle = asyncio.get_running_loop().call_later(self.tick_s, self._tick)

    def _watchdog(self) -> None:
        while not self._stop.wait(0.01):
            if self._seen is None and time.perf_counter() - self._last_tick > self.tick_s + 0.02:
                frame = sys._current_frames().get(self._loop_thread)
                self._seen = _where(frame) if frame is not None else None

    def top(self, n: int = 5) -> list[dict[str, object]]:
        return [{"ms": round(s * 1000, 1), "cpu_ms": round(c * 1000, 1), "phase": p, "where": w}
                for s, c, p, w in sorted(self.stalls, reverse=True)[:n]]

    def __enter__(self) -> LoopWatch:
        self._last_tick, self._last_cpu = time.perf_counter(), time.thread_time()
        self._handle = asyncio.get_running_loop().call_later(self.tick_s, self._tick)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._stop.set()


def _where(frame: types.FrameType) -> str:
    """The innermost three frames of this project's own code and the frame running, e.g. 'a.py:f <- b.py:g | json'."""
    ours, leaf = [], f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(str(ROOT)) and "site-packages" not in name:
            ours.append(f"{Path(name).relative_to(ROOT)}:{frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return " <- ".join(ours[:3]) + f" | {leaf}"


def _print_profile(profile: cProfile.Profile, path: str) -> None:
    profile.dump_stats(path)
    for order in ("tottime", "cumulative"):
        print(f"--- profile of the timed build, by {order} (event-loop thread; {path}) ---", file=sys.stderr)
        pstats.Stats(path, stream=sys.stderr).strip_dirs().sort_stats(order).print_stats(30)


class SlotWatch:
    """Samples, from a thread, the build's request slots every `every_s`: how many are held (a request on
    the wire, or handed a slot and not yet woken to send it) and how many requests wait for one. Set against
    the endpoint's own count of requests in flight, it says whether idle slots had no work (scheduling) or
    had work the client had not sent yet."""

    def __init__(self, every_s: float = 0.05) -> None:
        self.every_s, self.samples = every_s, []  # (wall time, held, waiting)
        self.slots: list[tuple[Slots, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="slot-watch", daemon=True)
        original = Slots.__init__

        def init(slots: Slots, size: int) -> None:
            original(slots, size)
            self.slots.append((slots, size))

        self._original = original
        Slots.__init__ = init  # type: ignore[method-assign]

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            if self.slots:  # the timed build's own, the first made once the watch started
                slots, size = self.slots[0]
                self.samples.append((time.time(), size - slots.free, len(slots._waiters)))

    def __enter__(self) -> SlotWatch:
        self.samples.clear()
        self.slots.clear()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        Slots.__init__ = self._original  # type: ignore[method-assign]


def idle_breakdown(spans: list[tuple[float, float]], start: float, built: float, end: float, slots: int,
                   watch: list[tuple[float, int, int]], step_s: float = 0.05) -> dict[str, object]:
    """Where the endpoint's idle slot-seconds were, from its own spans of requests in flight: `ramp_up` (from
    the start until the first time all slots were busy), `steady` (from then to the last time they all were),
    `tail` (from then until the build loop ended) and `finishing` (the rest: quality scoring and export).
    For each: seconds, idle slot-seconds, and from the client's side the mean slots held and requests waiting."""
    n = int((end - start) / step_s) + 1
    delta = [0] * (n + 1)
    for a, b in spans:
        if b <= start:
            continue
        i, j = max(0, int((a - start) / step_s)), min(n, int((b - start) / step_s))
        delta[i] += 1
        delta[j] -= 1
    level, running = [], 0
    for i in range(n):
        running += delta[i]
        level.append(running)
    built_i = min(n, int((built - start) / step_s))
    full = [i for i, v in enumerate(level[:built_i]) if v >= slots]
    first, last = (full[0], full[-1] + 1) if full else (0, 0)
    phases = {"ramp_up": (0, first), "steady": (first, last), "tail": (last, built_i), "finishing": (built_i, n)}
    out: dict[str, object] = {}
    for name, (i, j) in phases.items():
        seconds = (j - i) * step_s
        busy = sum(min(v, slots) for v in level[i:j]) * step_s
        client = [(h, w) for t, h, w in watch if start + i * step_s <= t < start + j * step_s]
        out[name] = {"s": round(seconds, 1), "idle_slot_s": round(slots * seconds - busy, 1),
                     "server_in_flight": round(busy / seconds, 1) if seconds else None,
                     "client_held": round(sum(h for h, _ in client) / len(client), 1) if client else None,
                     "client_waiting": round(sum(w for _, w in client) / len(client), 1) if client else None}
    return out


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

    def stats(self, what: str = "stats") -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/{what}", timeout=10) as response:
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
                            request_timeout_s=max(2.0, 4 * args.latency_ms / 1000),
                            max_tokens=None)  # no token budget: a large --samples would stop at the default
        models = stage_models(settings)
        with open_store(settings, embedder) as store:
            settle_heap()  # as the chat server and the CLI do once loaded
            # A small build first, untimed: a running server has its models and libraries loaded.
            warm_spec, warm_plan = _plan(8)
            await build_and_export(warm_spec, warm_plan, models=models, store=store, directory=work / "warm",
                                   options=build_options(settings), finishing=finish_options(settings))
            before = server.stats()
            calls_before = int(before["completions"])  # type: ignore[call-overload]
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            loop_cpu_before = time.thread_time()
            profile = cProfile.Profile() if args.profile else None
            slot_watch = SlotWatch()
            started, started_wall = time.perf_counter(), time.time()
            with LoopWatch(phase=lambda: "finish" if "built" in _MARKS else "build") as watch, slot_watch:
                if profile is not None:
                    profile.enable()
                result = await build_and_export(spec, plan, models=models, store=store, directory=work / "out",
                                                options=build_options(settings), on_event=_progress,
                                                finishing=finish_options(settings))
                if profile is not None:
                    profile.disable()
            seconds = time.perf_counter() - started
            ended_wall = time.time()
            loop_cpu = time.thread_time() - loop_cpu_before
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        stats = server.stats()
        calls = int(stats["completions"]) - calls_before  # type: ignore[call-overload]
        spans = [(float(a), float(b)) for a, b in server.stats("spans")["spans"]]  # type: ignore[attr-defined]
    built_wall = started_wall + _MARKS.get("built", started) - started
    idle = idle_breakdown(spans, started_wall, built_wall, ended_wall, args.concurrency, slot_watch.samples)
    if args.spans:
        Path(args.spans).write_text(json.dumps({"start": started_wall, "built": built_wall, "end": ended_wall,
                                                "spans": spans, "slots": slot_watch.samples}))
    if profile is not None:
        _print_profile(profile, args.profile)
    report = result.report
    accepted = max(report.accepted, 1)
    tokens = sum(u.input_tokens + u.output_tokens for u in report.usage.values())
    calls_per_sample = calls / accepted
    bound = args.concurrency / (args.latency_ms / 1000) / calls_per_sample * 60
    per_min = report.accepted / seconds * 60
    cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    busy = float(stats["busy_s"]) - float(before["busy_s"])  # type: ignore[arg-type]
    return {
        "samples": report.accepted, "status": report.status, "seconds": round(seconds, 2),
        "accepted_per_min": round(per_min, 1), "bound_per_min": round(bound, 1), "ratio": round(per_min / bound, 3),
        "calls_per_sample": round(calls_per_sample, 3), "tokens_per_sample": round(tokens / accepted, 1),
        "retries": report.retries, "faults": stats["faults"],
        "stages": {c.stage: [c.attempted, c.dropped] for c in report.stages},
        "by_tool": {k: v - before["by_tool"].get(k, 0) for k, v in stats["by_tool"].items()},
        "client_cpu_s": round(cpu, 2), "client_cpu_ms_per_sample": round(cpu / accepted * 1000, 1),
        "loop_cpu_s": round(loop_cpu, 2),
        "max_loop_stall_ms": round(watch.longest.get("build", 0.0) * 1000, 1),
        "max_loop_busy_ms": round(watch.busiest.get("build", 0.0) * 1000, 1),
        "max_loop_stall_finish_ms": round(watch.longest.get("finish", 0.0) * 1000, 1),
        "loop_stalls": watch.top(),
        "build_s": round(_MARKS.get("built", started) - started, 2),
        "server_busy_share": round(busy / (seconds * args.concurrency), 3),
        "server_latency_ms": round(busy / max(calls, 1) * 1000, 1),
        "server_cpu_share": round((float(stats["cpu_s"]) - float(before["cpu_s"])) / seconds, 3),  # type: ignore[arg-type]
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "idle": idle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--profile", metavar="PATH", help="write a cProfile of the timed build here")
    parser.add_argument("--spans", metavar="PATH", help="write the endpoint's request spans and the build's marks here (JSON)")
    args = parser.parse_args()
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = True
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as work:
        print(json.dumps(asyncio.run(_run(args, Path(work)))))


if __name__ == "__main__":
    main()
