"""A fake OpenAI-compatible chat-completions server, for tests and offline load runs.

As a program:  python -m tests.fake_llm --port 8011 [--latency-ms 300] [--fault-rate 0.1]
As a helper:   with FakeLLMServer(port=0) as server: ... server.base_url ...

It answers the pipeline's stage tools (submit_spec, submit_subtasks, submit_samples, submit_edit,
submit_verdict) with plausible, varied, correct content (see `tests/fake_llm_content.py`),
calls any other offered tool with arguments filled from its schema, and can inject faults:
429 / 500 errors, hangs, and truncated tool-call arguments by default, and on request (`fault_kinds`, `--fault-kind`,
or changed while it runs with `set_faults` or `POST /faults`) the faults of `tests/fake_llm_faults.py`: dropped
connections, stalls mid-body, garbage and truncated bodies, replies of the wrong schema. Each request runs in its
own thread, so latency and hangs never hold up other requests.

`errors` make its roles err at set rates (see `tests/fake_llm_errors.py`): wrong gold answers, wrong
solution programs and second correct options from the generator, flags and misses from the inspector,
wrong answers from the solver, wrong rulings from the judge. With every rate 0 its answers are correct.

`quirks` make it behave like servers that are not OpenAI (see `QUIRKS`): no tool calling, no
`tool_choice="required"`, no `json_schema` response format, no `content: null`, reasoning text in
`<think>` tags or a separate field. With none set it behaves as before.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_llm_content import STAGES, ContentState, Reply, fill_schema, key_values, respond
from tests.fake_llm_errors import INSPECTOR_MISTAKES, JUDGE_MISTAKES, ErrorRates
from tests.fake_llm_faults import BODY_FAULTS, FAULTS, send_body_fault

MODEL_NAME = "fake-model"
FAULT_KINDS: tuple[str, ...] = ("rate_limit", "server_error", "hang", "truncated")  # the default mix
QUIRKS: dict[str, str] = {
    "no_tools": "ignores `tools` and answers in text (a server or model without tool calling)",
    "no_tool_choice_required": "answers tool_choice='required' with HTTP 500 (llama-cpp-python's server)",
    "no_json_schema": "answers response_format json_schema with HTTP 500 (llama-cpp-python's server)",
    "no_null_content": "answers an assistant turn with content null with HTTP 422 (llama-cpp-python's server)",
    "think_tags": "puts <think>...</think> reasoning before the answer text",
    "reasoning_field": "sends reasoning in a separate `reasoning_content` field",
}
_PROMPTED_SCHEMA_MARK = "compatible with this schema:"


@dataclass
class FakeLLMStats:
    """Counters since start. `by_tool` counts answers by the tool called ("text" for text replies)."""

    requests: int = 0
    completions: int = 0
    streamed: int = 0
    by_tool: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    busy_s: float = 0.0  # summed wall time of the completion requests, from body read to reply sent

    def copy(self) -> FakeLLMStats:
        return FakeLLMStats(self.requests, self.completions, self.streamed, Counter(self.by_tool), Counter(self.faults),
                            self.busy_s)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    fake: FakeLLMServer


class FakeLLMServer:
    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        judge_reject_rate: float = 0.0,
        seed: int = 0,
        hang_s: float = 30.0,
        fault_kinds: tuple[str, ...] = FAULT_KINDS,
        deterministic: bool = False,
        quirks: frozenset[str] | set[str] = frozenset(),
        errors: ErrorRates | None = None,
        choice_programs: bool = False,
    ) -> None:
        unknown = set(quirks) - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}; known: {sorted(QUIRKS)}")
        self.quirks = frozenset(quirks)
        self.host, self.latency_s, self.hang_s = host, latency_ms / 1000, hang_s
        self.fault_rate, self.fault_kinds = _checked_faults(fault_rate, fault_kinds)
        self.content = ContentState(seed=seed, judge_reject_rate=judge_reject_rate, deterministic=deterministic,
                                    errors=errors or ErrorRates(), choice_programs=choice_programs)
        self.recent_requests: deque[dict[str, Any]] = deque(maxlen=100)  # request bodies, newest last
        self._stats = FakeLLMStats()
        # (start, end) wall-clock times of every completion answered, for benchmarks that chart the
        # requests in flight over time (GET /spans)
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._fault_rng = random.Random(seed)
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.05)  # so stop() returns quickly

    def stop(self) -> None:
        self._stopping.set()  # cuts latency sleeps and hangs short
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- bookkeeping ----------------------------------------------------------------------

    @property
    def stats(self) -> FakeLLMStats:
        with self._lock:
            return self._stats.copy()

    def count(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                if name in ("tool", "fault"):
                    getattr(self._stats, "by_tool" if name == "tool" else "faults")[value] += 1
                else:
                    setattr(self._stats, name, getattr(self._stats, name) + value)

    @property
    def mistakes(self) -> dict[str, int]:
        """The mistakes its roles made so far, by "role:kind" (`errors`)."""
        with self.content.lock:
            return dict(self.content.made)

    def set_faults(self, rate: float, kinds: tuple[str, ...] | None = None) -> None:
        """Change the fault rate (and kinds) of the requests from now on, while the server runs."""
        checked = _checked_faults(rate, self.fault_kinds if kinds is None else tuple(kinds))
        with self._lock:
            self.fault_rate, self.fault_kinds = checked

    def draw_fault(self) -> str | None:
        with self._lock:
            if self.fault_rate <= 0 or self._fault_rng.random() >= self.fault_rate:
                return None
            return self._fault_rng.choice(self.fault_kinds)

    def pause(self, seconds: float) -> bool:
        """Sleep without holding anyone else up; False when the server stopped meanwhile."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()


def _checked_faults(rate: float, kinds: tuple[str, ...]) -> tuple[float, tuple[str, ...]]:
    unknown = set(kinds) - set(FAULTS)
    if unknown or not kinds:
        raise ValueError(f"fault kinds must be some of {sorted(FAULTS)}, got {sorted(kinds)}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"the fault rate must be between 0 and 1, got {rate}")
    return rate, tuple(kinds)


# --- HTTP -----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (~40 ms on Linux), which no real inference server adds.
    disable_nagle_algorithm = True
    server: _Server
    timeout = 120  # idle keep-alive connections give their thread back

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.fake.count(requests=1)
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            model = {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "fake-llm"}
            self._send_json(200, {"object": "list", "data": [model]})
        elif self.path.rstrip("/") == "/stats":  # for benchmarks that run the server in its own process
            stats = self.server.fake.stats
            self._send_json(200, {"requests": stats.requests, "completions": stats.completions,
                                  "by_tool": dict(stats.by_tool), "faults": dict(stats.faults),
                                  "busy_s": stats.busy_s, "mistakes": self.server.fake.mistakes,
                                  "cpu_s": time.process_time()})
        elif self.path.rstrip("/") == "/spans":
            with self.server.fake._lock:
                spans = list(self.server.fake.spans)
            self._send_json(200, {"spans": spans})
        else:
            self._send_error(404, f"no route for GET {self.path}", "not_found")

    def do_POST(self) -> None:
        fake = self.server.fake
        fake.count(requests=1)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") == "/faults":  # {"rate": 0.3, "kinds": ["dropped", ...]}: for a server in its own process
            self._set_faults(raw)
            return
        if self.path.split("?")[0].rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_error(404, f"no route for POST {self.path}", "not_found")
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_error(400, "request body is not a JSON object", "invalid_request_error")
            return
        fake.recent_requests.append(body)
        fake.count(completions=1, streamed=1 if body.get("stream") else 0)
        started, wall = time.perf_counter(), time.time()
        try:
            self._complete(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout) while we worked
        fake.count(busy_s=time.perf_counter() - started)
        with fake._lock:
            fake.spans.append((wall, time.time()))

    def _set_faults(self, raw: bytes) -> None:
        fake = self.server.fake
        try:
            asked = json.loads(raw or b"{}")
            fake.set_faults(float(asked.get("rate", fake.fault_rate)), tuple(asked.get("kinds") or fake.fault_kinds))
        except (ValueError, TypeError, AttributeError) as exc:
            self._send_error(400, f"bad fault settings: {exc}", "invalid_request_error")
            return
        self._send_json(200, {"rate": fake.fault_rate, "kinds": list(fake.fault_kinds)})

    def _complete(self, body: dict[str, Any]) -> None:
        fake = self.server.fake
        if not fake.pause(fake.latency_s):
            self.close_connection = True
            return
        fault = fake.draw_fault()
        if fault:
            fake.count(fault=fault)
        if fault == "rate_limit":
            self._send_error(
                429,
                "Rate limit reached (injected).",
                "rate_limit_exceeded",
                {"Retry-After": "1", "retry-after-ms": "1000"},
            )
            return
        if fault == "server_error":
            self._send_error(500, "The server had an error while processing your request (injected).", "server_error")
            return
        if fault == "unauthorized":
            self._send_error(401, "Incorrect API key provided (injected).", "invalid_api_key")
            return
        if fault == "hang" and not fake.pause(fake.hang_s):
            self.close_connection = True
            return
        refusal = _refusal(body, fake.quirks)
        if refusal is not None:
            self._send_error(*refusal)
            return
        try:
            structured = _structured_text(body, fake.content)
            reply = structured or respond(_as_served(body, fake.quirks), fake.content)
        except Exception as error:  # a bug in the fake, or a request shape it does not know
            traceback.print_exc()
            self._send_error(500, f"fake LLM could not answer: {error!r}", "fake_llm_bug")
            return
        fake.count(tool=reply.label if structured is None else f"{structured.label} (as JSON)")
        completion = _Completion(body, reply, truncate=fault == "truncated", quirks=fake.quirks)
        if fault in BODY_FAULTS:
            send_body_fault(self, fault, json.dumps(completion.whole()).encode(), fake.pause, fake.hang_s)
        elif body.get("stream"):
            self._send_stream(completion, bool((body.get("stream_options") or {}).get("include_usage")))
        else:
            self._send_json(200, completion.whole())

    # --- writing ------------------------------------------------------------------------------

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        error = {"message": message, "type": kind, "param": None, "code": kind}
        self._send_json(status, {"error": error}, headers)

    def _send_stream(self, completion: _Completion, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in completion.chunks(include_usage):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _refusal(body: dict[str, Any], quirks: frozenset[str]) -> tuple[int, str, str] | None:
    """The error a quirky server answers this request with, or None."""
    if "no_tool_choice_required" in quirks and body.get("tools") and body.get("tool_choice") == "required":
        return 500, "tool_choice='required' is not handled: only 'auto' or a named function", "internal_server_error"
    if "no_json_schema" in quirks and (body.get("response_format") or {}).get("type") == "json_schema":
        return (500, "1 validation error: ('body', 'response_format', 'type'): Input should be 'text' or 'json_object'",
                "internal_server_error")
    if "no_null_content" in quirks:
        for index, message in enumerate(body.get("messages") or []):
            if message.get("role") == "assistant" and message.get("content") is None:
                return 422, f"messages.{index}.content: Input should be a valid string", "invalid_request_error"
    return None


def _as_served(body: dict[str, Any], quirks: frozenset[str]) -> dict[str, Any]:
    """The request as a server with these quirks sees it (one without tool calling never sees the tools)."""
    if "no_tools" in quirks:
        return {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
    return body


def _structured_text(body: dict[str, Any], content: ContentState) -> Reply | None:
    """A JSON answer for requests asking for one without tools: a `json_schema` format, a `json_object` format
    with its schema (as llama.cpp's servers take it), or a schema quoted in the instructions (pydantic-ai's
    prompted output). A stage's output is known by its name (the json_schema name or the schema's title) and
    answered as that stage's tool call would be, so a whole build runs in every output mode."""
    if body.get("tools"):
        return None
    response_format = body.get("response_format") or {}
    messages: list[dict[str, Any]] = body.get("messages") or []
    name = None
    schema = response_format.get("schema") if response_format.get("type") == "json_object" else None
    if response_format.get("type") == "json_schema":
        name = response_format.get("json_schema", {}).get("name")
        schema = response_format.get("json_schema", {}).get("schema")
    else:
        for message in messages:
            text = message.get("content") if isinstance(message.get("content"), str) else ""
            if _PROMPTED_SCHEMA_MARK in text:
                start = text.index("{", text.index(_PROMPTED_SCHEMA_MARK))
                quoted, _ = json.JSONDecoder().raw_decode(text[start:])
                schema = schema or quoted
                name = quoted.get("title") if isinstance(quoted, dict) else None
    if not isinstance(schema, dict):
        return None
    name = name or schema.get("title")
    if name in STAGES:
        return Reply(text=json.dumps(STAGES[name](key_values(messages), content)), tool_name=None, arguments=None,
                     stage=name)
    return Reply(text=json.dumps(fill_schema(schema)))


class _Completion:
    """One reply rendered as a `chat.completion` or as `chat.completion.chunk`s."""

    def __init__(self, body: dict[str, Any], reply: Reply, truncate: bool,
                 quirks: frozenset[str] = frozenset()) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = str(body.get("model") or MODEL_NAME)
        self.reply = reply
        self.text = reply.text
        self.arguments = json.dumps(reply.arguments) if reply.tool_name else None
        if truncate and self.arguments is not None:
            self.arguments = self.arguments[: len(self.arguments) // 2]
        elif truncate and self.text is not None:
            self.text = self.text[: len(self.text) // 2]
        prompt = len(json.dumps(body.get("messages") or [])) + len(json.dumps(body.get("tools") or []))
        output = len(self.arguments or self.text or "")
        self.usage = {"prompt_tokens": prompt // 4 + 1, "completion_tokens": output // 4 + 1}
        self.usage["total_tokens"] = self.usage["prompt_tokens"] + self.usage["completion_tokens"]
        self.call_id = f"call_{uuid.uuid4().hex[:24]}"
        self.finish_reason = "tool_calls" if reply.tool_name else "stop"
        self.reasoning: str | None = None
        if "think_tags" in quirks and self.text is not None:
            self.text = f"<think>The user wants an answer; {{\"not\": \"this\"}} is only a thought.</think>\n{self.text}"
        if "reasoning_field" in quirks:
            self.reasoning = "Thinking it over before answering: {\"not\": \"this\"}."

    def _envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model, "choices": choices}

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text, "refusal": None}
        if self.reasoning is not None:
            message["reasoning_content"] = self.reasoning
        if self.reply.tool_name:
            function = {"name": self.reply.tool_name, "arguments": self.arguments}
            message["tool_calls"] = [{"id": self.call_id, "type": "function", "function": function}]
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason, "logprobs": None}
        return {**self._envelope("chat.completion", [choice]), "usage": self.usage}

    def chunks(self, include_usage: bool) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if self.reasoning is not None:
            deltas.append({"reasoning_content": self.reasoning})
        if self.reply.tool_name:
            head = {
                "index": 0,
                "id": self.call_id,
                "type": "function",
                "function": {"name": self.reply.tool_name, "arguments": ""},
            }
            deltas.append({"tool_calls": [head]})
            deltas += [
                {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                for piece in _pieces(self.arguments or "")
            ]
        else:
            deltas += [{"content": piece} for piece in _pieces(self.text or "")]
        extra = {"usage": None} if include_usage else {}
        chunks = [
            {**self._envelope("chat.completion.chunk", [{"index": 0, "delta": d, "finish_reason": None}]), **extra}
            for d in deltas
        ]
        final = [{"index": 0, "delta": {}, "finish_reason": self.finish_reason}]
        chunks.append({**self._envelope("chat.completion.chunk", final), **extra})
        if include_usage:
            chunks.append({**self._envelope("chat.completion.chunk", []), "usage": self.usage})
        return chunks


def _pieces(text: str, size: int = 48) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- command line ---------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_llm", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--judge-reject-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang-s", type=float, default=30.0, help="How long a 'hang' or 'stall' fault lasts.")
    parser.add_argument("--fault-kind", action="append", choices=sorted(FAULTS),
                        help=f"A kind of fault to inject (repeatable; default {', '.join(FAULT_KINDS)}).")
    parser.add_argument("--deterministic", action="store_true", help="Answer the same request the same way every time.")
    parser.add_argument("--quirk", action="append", default=[], choices=sorted(QUIRKS),
                        help="Behave like a server that is not OpenAI (repeatable).")
    errs = parser.add_argument_group("mistakes", "how often each role errs, drawn independently (0-1)")
    errs.add_argument("--wrong-key-rate", type=float, default=0.0, help="Generator: a wrong gold answer.")
    errs.add_argument("--wrong-program-rate", type=float, default=0.0, help="Generator: a solution program that "
                      "prints another value than the (right) gold answer.")
    errs.add_argument("--missing-program-rate", type=float, default=0.0,
                      help="Generator: a computed answer without its solution program.")
    errs.add_argument("--second-correct-rate", type=float, default=0.0,
                      help="Generator: a multiple-choice distractor equal in value to the answer.")
    errs.add_argument("--inspector-error-rate", type=float, default=0.0,
                      help="Inspector: a sound item flagged, a flawed one passed.")
    errs.add_argument("--inspector-mistake", action="append", choices=INSPECTOR_MISTAKES,
                      help="What the inspector flags a sound item with (repeatable; default all).")
    errs.add_argument("--solver-error-rate", type=float, default=0.0, help="Solver: a wrong answer.")
    errs.add_argument("--judge-error-rate", type=float, default=0.0,
                      help="Judge: an adjudication or a verdict the wrong way round.")
    errs.add_argument("--judge-mistake", action="append", choices=JUDGE_MISTAKES,
                      help="How a ruling against a right gold answer names its own answer (repeatable; default all).")
    errs.add_argument("--choice-programs", action="store_true",
                      help="Multiple-choice items with a computed answer carry a solution program.")
    args = parser.parse_args(argv)
    try:
        errors = ErrorRates(wrong_key=args.wrong_key_rate, wrong_program=args.wrong_program_rate,
                            missing_program=args.missing_program_rate,
                            second_correct=args.second_correct_rate, inspector=args.inspector_error_rate,
                            inspector_kinds=tuple(args.inspector_mistake or INSPECTOR_MISTAKES),
                            solver=args.solver_error_rate, judge=args.judge_error_rate,
                            judge_kinds=tuple(args.judge_mistake or JUDGE_MISTAKES))
    except ValueError as exc:
        parser.error(str(exc))
    server = FakeLLMServer(
        port=args.port,
        host=args.host,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        judge_reject_rate=args.judge_reject_rate,
        seed=args.seed,
        hang_s=args.hang_s,
        fault_kinds=tuple(args.fault_kind or FAULT_KINDS),
        deterministic=args.deterministic,
        quirks=frozenset(args.quirk),
        errors=errors,
        choice_programs=args.choice_programs,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"fake LLM listening on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(f"fake LLM stopped: {server.stats}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
