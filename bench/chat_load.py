"""Many people on one lab server at once: chat sessions through Chainlit's own socket protocol, each running a build.

    python bench/chat_load.py [--sessions 20] [--size 4] [--latency-ms 50] [--max-builds 8]

Starts the fake endpoint (`tests/fake_llm.py`, a process of its own) and `chainlit run assistant/app.py` with one
password user per session, as a lab would run it. Each session signs in over HTTP, opens a socket.io session as
the page does, asks for a `--size`-item benchmark, confirms the spec and the plan by typing "go", and waits for its
build to complete (like the page, it types a message only once the server has finished with the last one); a build refused because the server already runs `--max-builds` (BENCHMARK_AGENT_MAX_BUILDS) is
asked for again a few seconds later, as a person would. First one session alone, then all of them together.

It checks what each person sees: every build of theirs completes, the card names only their own build, their
thread has their build on the server and another person's thread is refused to them, and each build's files are
in their own thread's folder. It reports the time to the first reply (request sent to the assistant's first
message) p50/p95 alone and under load, each session's build time, the refusals, and the server's resident memory
(sampled every 0.2 s; the peak, and at the end). The last line printed is one JSON object. The figures are from
the fake endpoint and whatever else the machine runs: they say how the server behaves under load, not how fast
a real model is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import socketio

ROOT = Path(__file__).resolve().parents[1]
BUILT = re.compile(r"\*\*Build ([\w-]+)\*\*: (\d+)/(\d+) samples, (complete|fell short|failed|stopped early)")
BUSY = "BENCHMARK_AGENT_MAX_BUILDS"  # the server's own limit on builds at once (per user, or in all)
HISTORY_LAG_S = 5.0
# Sent beside the chat after the welcome (the output-mode probe's result): not a reply to the user's request.
ASIDES = ("Structured output for", "**Note:** the model endpoint")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """The fake endpoint and the chat server, each a process of its own, stopped on the way out."""

    def __init__(self, work: Path, users: dict[str, str], args: argparse.Namespace) -> None:
        self.work, self.data = work, work / "data"
        fake_port, port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = work / "chainlit.log"
        fake = [sys.executable, "-m", "tests.fake_llm", "--port", str(fake_port), "--latency-ms", str(args.latency_ms),
                "--seed", "3"]
        self.fake = subprocess.Popen(fake, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.fake.stdout is not None and "listening" in self.fake.stdout.readline()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_", "CHAINLIT_"))}
        env.update(CHAINLIT_APP_ROOT=str(ROOT), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
                   BENCHMARK_AGENT_DATA_DIR=str(self.data), BENCHMARK_AGENT_MODEL="openai:fake-model",
                   OPENAI_BASE_URL=f"http://127.0.0.1:{fake_port}/v1", OPENAI_API_KEY="test",
                   BENCHMARK_AGENT_BATCH_SIZE="4", BENCHMARK_AGENT_MAX_BUILDS=str(args.max_builds),
                   BENCHMARK_AGENT_AUTH_USERS=",".join(f"{u}:{p}" for u, p in users.items()))
        chainlit = Path(sys.executable).with_name("chainlit")
        self._command = [str(chainlit), "run", "assistant/app.py", "--host", "127.0.0.1", "--port", str(port), "--headless"]
        self._env = env
        self._start()

    def _start(self) -> None:
        with self.log.open("ab") as out:
            self.server = subprocess.Popen(self._command, cwd=ROOT, env=self._env, stdout=out, stderr=subprocess.STDOUT)
        self._wait_until_serving()
        self.rss = RssSampler(self.server.pid)

    def kill_and_restart(self) -> None:
        """SIGKILL the chat server (no shutdown of any kind) and start it again on the same port and data."""
        self.rss.stop()
        self.server.kill()
        self.server.wait(timeout=10)
        self._start()

    def _wait_until_serving(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"chainlit exited with {self.server.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"chainlit did not serve within {timeout_s:.0f} s:\n{self.log.read_text()[-3000:]}")

    def close(self) -> None:
        self.rss.stop()
        for process in (self.server, self.fake):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


class RssSampler:
    """The resident memory of one process, read from /proc every `every_s` seconds, in a thread."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.pid, self.every_s, self.peak_mb, self.last_mb = pid, every_s, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def read(self) -> float:
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.last_mb = self.read() or self.last_mb
            self.peak_mb = max(self.peak_mb, self.last_mb)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


@dataclass
class Session:
    """One person's chat: what they received, and when."""

    user: str
    password: str
    thread_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    messages: dict[str, str] = field(default_factory=dict)  # message id -> its latest text, new or updated
    elements: list[dict[str, Any]] = field(default_factory=list)
    welcome_s: float | None = None
    first_reply_s: float | None = None
    build_s: float | None = None
    build_id: str | None = None
    accepted: int = 0
    requested: int = 0
    status: str = "not started"
    refused: int = 0
    error: str | None = None
    cookie: str = ""
    ended: int = 0  # task_end events: the server finished handling a message (the page then lets one be typed)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def task_ended(self, *_: Any) -> None:
        self.ended += 1
        self._changed.set()

    def receive(self, step: dict[str, Any]) -> None:
        if step.get("type") in ("assistant_message", "system_message"):  # the welcome notes are system messages
            self.messages[str(step.get("id"))] = str(step.get("output") or "")
            self._changed.set()

    async def until(self, check: Any, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            found = check()
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.user}: timed out; last message: {list(self.messages.values())[-1:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 1.0))

    def replies_after(self, count: int) -> list[str]:
        return [m for m in list(self.messages.values())[count:] if not m.startswith(ASIDES)]

    def seen(self, text: str, after: int = 0) -> bool:
        return any(text in m for m in list(self.messages.values())[after:])

    def built(self) -> re.Match[str] | None:
        for text in self.messages.values():
            if (match := BUILT.search(text)) is not None:
                return match
        return None


async def _say(sio: socketio.AsyncClient, session: Session, text: str) -> None:
    await sio.emit("client_message", {"message": {
        "id": str(uuid.uuid4()), "threadId": session.thread_id, "type": "user_message", "name": "User", "output": text,
        "createdAt": datetime.now(UTC).isoformat()}, "fileReferences": []})


async def connect(url: str, session: Session, timeout_s: float = 60.0) -> socketio.AsyncClient:
    """Sign in and open the session's chat on its thread, as the page does (a thread the server has reopens)."""
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("new_message", session.receive)
    sio.on("update_message", session.receive)
    sio.on("element", session.elements.append)
    sio.on("task_end", session.task_ended)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as client:
        signed = await client.post("/login", data={"username": session.user, "password": session.password})
        signed.raise_for_status()
        session.cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    await sio.connect(url, socketio_path="/ws/socket.io", transports=["websocket"],
                      headers={"Cookie": session.cookie, "Origin": url},
                      auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": session.thread_id,
                            "userEnv": "{}", "chatProfile": None},
                      wait_timeout=20)  # as the page's socket.io client (python-socketio's default is 1 s)
    await sio.emit("connection_successful")
    return sio


async def ask_for_a_plan(sio: socketio.AsyncClient, session: Session, size: int, timeout_s: float) -> None:
    """Ask for a `size`-item benchmark and confirm its spec: the plan is on screen when this returns."""
    # As on the page, the next message is typed once the server has finished with the last one (task_end).
    before, ended, asked = len(session.messages), session.ended, time.monotonic()
    await _say(sio, session, f"{size} multiple-choice arithmetic word problems")
    await session.until(lambda: session.replies_after(before), timeout_s)
    session.first_reply_s = time.monotonic() - asked
    await session.until(lambda: session.ended > ended and session.seen("**Spec**"), timeout_s)
    ended = session.ended
    await _say(sio, session, "go")
    await session.until(lambda: session.ended > ended and session.seen("**Plan**"), timeout_s)


async def run_session(url: str, session: Session, size: int, timeout_s: float) -> None:
    """Sign in, open the chat, ask for a benchmark, confirm twice, and wait for the build; errors are kept."""
    sio: socketio.AsyncClient | None = None
    started = time.monotonic()
    try:
        sio = await connect(url, session)
        await session.until(lambda: session.seen("I build evaluation benchmarks") and session.ended, timeout_s)
        session.welcome_s = time.monotonic() - started
        await ask_for_a_plan(sio, session, size, timeout_s)
        build_started = time.monotonic()
        await build(sio, session, build_started + timeout_s)
        session.build_s = time.monotonic() - build_started
    except Exception as exc:  # kept and reported: one session's failure is a finding, not the end of the run
        session.error = f"{type(exc).__name__}: {exc}"
    finally:
        if sio is not None and sio.connected:
            await sio.disconnect()


async def build(sio: socketio.AsyncClient, session: Session, deadline: float) -> None:
    """Say "go" until the build is not refused for the server's limit, then wait for it to end."""
    while True:
        before, ended = len(session.messages), session.ended
        await _say(sio, session, "go")
        outcome = await session.until(
            lambda before=before, ended=ended: session.built() or (
                session.ended > ended and session.seen(BUSY, before) and "busy"),
            max(deadline - time.monotonic(), 1.0))
        if outcome != "busy":
            break
        session.refused += 1
        await asyncio.sleep(3.0)  # the server is running its most builds at once: ask again, as a person would
    match = session.built()
    assert match is not None
    session.build_id, session.accepted, session.requested = match.group(1), int(match.group(2)), int(match.group(3))
    session.status = match.group(4)


def isolation_problems(url: str, sessions: list[Session], data: Path) -> list[str]:
    """What one person could see of another's: build ids on their screen, threads on the server, folders on disk."""
    problems: list[str] = []
    ids = {s.user: s.build_id for s in sessions if s.build_id}
    if len(set(ids.values())) != len(ids):
        problems.append(f"two sessions show the same build id: {ids}")
    for session in sessions:
        others = {b for u, b in ids.items() if u != session.user}
        for text in session.messages.values():
            shown = set(re.findall(r"\*\*Build ([\w-]+)\*\*", text))
            if shown & others:
                problems.append(f"{session.user} was shown another session's build {sorted(shown & others)}")
        for element in session.elements:
            if element.get("threadId") not in (None, session.thread_id):
                problems.append(f"{session.user} received a file of thread {element.get('threadId')}")
    with httpx.Client(base_url=url, timeout=30) as client:
        for n, session in enumerate(sessions):
            # Chainlit stores a message's last update in a background task, just after sending it: allow a moment.
            deadline = time.monotonic() + HISTORY_LAG_S
            while True:
                own = client.get(f"/project/thread/{session.thread_id}", headers={"Cookie": session.cookie})
                if own.status_code == 200 and (not session.build_id or session.build_id in own.text):
                    break
                if time.monotonic() > deadline:
                    problems.append(f"{session.user}'s own thread is not theirs on the server ({own.status_code}), "
                                    f"or its build is not in it {HISTORY_LAG_S:.0f} s after it was shown")
                    break
                time.sleep(0.1)
            other = sessions[(n + 1) % len(sessions)]
            if other is not session:
                taken = client.get(f"/project/thread/{other.thread_id}", headers={"Cookie": session.cookie})
                if taken.status_code == 200:
                    problems.append(f"{session.user} could read {other.user}'s thread")
    folders = sorted(p.parent.parent for p in (data / "threads").rglob("builds/*/benchmark.jsonl"))
    done = [s for s in sessions if s.status == "complete"]
    if len(set(folders)) < len(done):
        problems.append(f"{len(done)} builds completed but {len(set(folders))} thread folders hold a benchmark")
    return problems


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))], 3)


def _figures(sessions: list[Session]) -> dict[str, Any]:
    first = [s.first_reply_s for s in sessions if s.first_reply_s is not None]
    builds = [s.build_s for s in sessions if s.build_s is not None]
    return {"sessions": len(sessions), "complete": sum(s.status == "complete" and s.accepted == s.requested
                                                       for s in sessions),
            "first_reply_p50_s": _percentile(first, 0.5), "first_reply_p95_s": _percentile(first, 0.95),
            "build_p50_s": _percentile(builds, 0.5), "build_max_s": round(max(builds), 3) if builds else None,
            "refused_at_limit": sum(s.refused for s in sessions),
            "errors": [f"{s.user}: {s.error}" for s in sessions if s.error]}


async def _round(url: str, sessions: list[Session], size: int, timeout_s: float) -> float:
    started = time.monotonic()
    await asyncio.gather(*(run_session(url, s, size, timeout_s) for s in sessions))
    return time.monotonic() - started


def run_load(sessions: int, size: int = 4, latency_ms: float = 50.0, max_builds: int = 8, timeout_s: float = 300.0,
             alone_first: bool = True, work: Path | None = None) -> dict[str, Any]:
    """Run the load (one session alone first, when asked) and return the figures and the isolation problems."""
    args = argparse.Namespace(latency_ms=latency_ms, max_builds=max_builds)
    users = {f"user{n:02d}": f"password-{n:02d}-{uuid.uuid4().hex[:8]}" for n in range(sessions + 1)}
    names = sorted(users)
    work = work or Path(tempfile.mkdtemp(prefix="chat-load-"))
    processes = Processes(work, users, args)
    result: dict[str, Any] = {"size": size, "latency_ms": latency_ms, "max_builds": max_builds}
    try:
        result["rss_start_mb"] = round(processes.rss.read(), 1)
        if alone_first:
            alone = [Session(names[-1], users[names[-1]])]
            result["alone_wall_s"] = round(asyncio.run(_round(processes.url, alone, size, timeout_s)), 3)
            result["alone"] = _figures(alone)
            result["rss_after_alone_mb"] = round(processes.rss.read(), 1)
        together = [Session(name, users[name]) for name in names[:sessions]]
        result["load_wall_s"] = round(asyncio.run(_round(processes.url, together, size, timeout_s)), 3)
        result["load"] = _figures(together)
        result["isolation_problems"] = isolation_problems(processes.url, together, processes.data)
        result["rss_peak_mb"] = round(processes.rss.peak_mb, 1)
        result["rss_end_mb"] = round(processes.rss.read(), 1)
        result["server_log_errors"] = [line for line in processes.log.read_text(errors="replace").splitlines()
                                       if "Traceback" in line or " ERROR " in line][:10]
    finally:
        processes.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/chat_load.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=4, help="Samples per session's build.")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="The fake endpoint's latency per call.")
    parser.add_argument("--max-builds", type=int, default=8, help="BENCHMARK_AGENT_MAX_BUILDS of the server.")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="How long one session may wait for a step.")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.size < 1:
        parser.error("--sessions and --size must be at least 1")
    result = run_load(args.sessions, args.size, args.latency_ms, args.max_builds, args.timeout_s)
    print(json.dumps(result))
    ok = not result["isolation_problems"] and result["load"]["complete"] == args.sessions
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
