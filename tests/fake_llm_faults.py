"""The faults the fake endpoint can inject, and how it sends those that break the reply itself.

The first four are its default mix (`FAULT_KINDS` in `tests/fake_llm.py`); the others are asked for by name
(`fault_kinds=...`, `--fault-kind`, `FakeLLMServer.set_faults` or `POST /faults` while it runs). A body fault is
drawn after the real answer is written, so a truncated or stalled body is the start of a real completion.
"""

from __future__ import annotations

import json
import socket
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

FAULTS: dict[str, str] = {
    "rate_limit": "HTTP 429 with Retry-After: 1",
    "server_error": "HTTP 500",
    "unauthorized": "HTTP 401, as for a wrong API key (not retried: a build stops at once with the server's words)",
    "hang": "no answer for hang_s (longer than the client's timeout), then the real answer",
    "truncated": "a whole reply whose tool-call arguments (or text) are cut in half: JSON the model never finished",
    "dropped": "the connection is closed without a byte of response",
    "stall": "headers and half the body, then nothing for hang_s, then the connection is closed",
    "garbage": "HTTP 200, Content-Type application/json, a body that is not JSON (a proxy's HTML page)",
    "truncated_body": "HTTP 200 announcing the whole body's length, half of it sent, then the connection closed",
    "wrong_schema": "HTTP 200 with valid JSON that is not a chat completion (no choices, or an error-shaped object)",
}
# What a build rides out with its retries (a 401 is not passing: it stops the build with the server's words).
PASSING = tuple(kind for kind in FAULTS if kind != "unauthorized")
BODY_FAULTS = frozenset({"dropped", "stall", "garbage", "truncated_body", "wrong_schema"})

GARBAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center>502 Bad Gateway</center></body></html>"
_WRONG_SCHEMAS: tuple[dict[str, object], ...] = (
    {"id": "chatcmpl-empty", "object": "chat.completion", "created": 0, "model": "fake-model", "choices": []},
    {"result": "ok", "output": "the answer is 42"},
    {"id": "chatcmpl-nomessage", "object": "chat.completion", "created": 0, "model": "fake-model",
     "choices": [{"index": 0, "finish_reason": "stop"}]},
)


def send_body_fault(handler: BaseHTTPRequestHandler, fault: str, whole: bytes, pause: Callable[[float], bool],
                    hang_s: float) -> None:
    """Answer `handler`'s request with `fault` instead of `whole`, the completion it would have sent."""
    handler.close_connection = True
    if fault == "dropped":
        _drop(handler)
    elif fault == "garbage":
        _head(handler, len(GARBAGE))
        handler.wfile.write(GARBAGE)
    elif fault == "wrong_schema":
        data = json.dumps(_WRONG_SCHEMAS[zlib.crc32(whole) % len(_WRONG_SCHEMAS)]).encode()
        _head(handler, len(data))
        handler.wfile.write(data)
    else:  # "truncated_body" and "stall": the announced length, half the bytes
        _head(handler, len(whole))
        handler.wfile.write(whole[: len(whole) // 2])
        handler.wfile.flush()
        if fault == "stall":
            pause(hang_s)
        _drop(handler)


def _head(handler: BaseHTTPRequestHandler, length: int) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(length))
    handler.send_header("Connection", "close")
    handler.end_headers()


def _drop(handler: BaseHTTPRequestHandler) -> None:
    try:
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client went first
