"""Model wrappers that make a build survive its endpoint: retries with backoff, rate limits, a call cache.

    SlotModel(CachedModel(ResilientModel(endpoint model)))     (SlotModel: a build's own copy)

A build holds one of its `Slots` only while a request is out (a retry gives it back while it waits,
except after a 429), so it keeps `concurrency` requests in flight, earlier batches first. A cached response is returned without touching the endpoint, so a
resumed build repeats no call that was already answered. A live call waits for the rate limiter,
and on 429, 5xx, timeouts, connection errors and broken replies (a body that is not JSON, or not a chat
completion) backs off (honouring Retry-After) until the
endpoint has been failing for longer than `RetryPolicy.give_up_after_s`; then the last error is
raised and the build stops cleanly. Before the endpoint has ever answered, an error that repeats itself
(the same status and body twice) or says the request is unsupported or not found is raised at once: that
server is misconfigured or cannot serve this request, and minutes of retries would only hide its message.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import json
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_ai.exceptions import (
    ModelConnectionError,
    ModelTimeoutError,
)
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings

from memory.files import Journal
from tools.llm.faults import _rate_limited, _signature, broken_reply, is_retryable, says_unservable

_VOLATILE_KEYS = {"timestamp", "run_id", "conversation_id", "usage", "provider_details", "provider_response_id",
                  "provider_url", "metadata", "state", "retry", "outcome", "id", "provider_name", "model_name",
                  "finish_reason", "failed_attempts", "workspace_ref", "history_digest"}


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    give_up_after_s: float = 300.0
    # An endpoint that has never answered and refuses connections is most likely misconfigured:
    # say so after a few seconds instead of retrying for minutes.
    first_contact_give_up_s: float = 5.0


class RateLimiter:
    """Requests and tokens per minute for one endpoint, over a sliding 60-second window."""

    def __init__(self, rpm: int | None = None, tpm: int | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.rpm, self.tpm, self.clock, self.sleep = rpm, tpm, clock, sleep
        self._events: deque[tuple[float, int]] = deque()
        self._lock = asyncio.Lock()

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] >= 60.0:
            self._events.popleft()

    def _wait_needed(self, tokens: int, now: float) -> float:
        self._trim(now)
        if self.rpm is not None and len(self._events) >= self.rpm:
            return 60.0 - (now - self._events[0][0])
        if self.tpm is not None and self._events and sum(t for _, t in self._events) + tokens > self.tpm:
            return 60.0 - (now - self._events[0][0])
        return 0.0

    async def acquire(self, tokens: int) -> None:
        if self.rpm is None and self.tpm is None:
            return
        async with self._lock:
            while (delay := self._wait_needed(tokens, self.clock())) > 0:
                await self.sleep(delay)
            self._events.append((self.clock(), tokens))


def estimate_tokens(messages: list[ModelMessage]) -> int:
    return len(ModelMessagesTypeAdapter.dump_json(messages)) // 4


class ResilientModel(WrapperModel):
    """Retries what a retry can fix; gives up only when the endpoint stays down past the policy's limit."""

    def __init__(self, wrapped: Any, *, policy: RetryPolicy = RetryPolicy(), limiter: RateLimiter | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, seed: int | None = None) -> None:
        super().__init__(wrapped)
        self.policy, self.limiter, self.sleep = policy, limiter, sleep
        self.random = random.Random(seed)
        self.retries = 0
        self.answered = False

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        started = time.monotonic()
        attempt = 0
        previous: str | None = None
        while True:
            if self.limiter is not None and (self.limiter.rpm is not None or self.limiter.tpm is not None):
                # Counting tokens serialises every message: only when a token limit is set.
                await self.limiter.acquire(estimate_tokens(messages) if self.limiter.tpm is not None else 0)
            try:
                response = await self.wrapped.request(messages, model_settings, model_request_parameters)
            except Exception as exc:
                if not is_retryable(exc) or time.monotonic() - started > self._patience(exc):
                    raise
                if not self.worked and (says_unservable(exc) or (previous is not None and _signature(exc) == previous)):
                    raise
                previous = _signature(exc)
                attempt += 1
                self.retries += 1
                await self._back_off(self._delay(exc, attempt), keep_slot=_rate_limited(exc))
            else:
                self.answered = True
                return response

    @property
    def worked(self) -> bool:
        """The endpoint has answered before (here, or the probe of the model this wraps): faults now pass."""
        return self.answered or bool(getattr(self.wrapped, "answered", False))

    async def _back_off(self, seconds: float, *, keep_slot: bool) -> None:
        """Wait before a retry. A build's request gives its slot to another one meanwhile, unless the endpoint
        asked to slow down (then holding it is the point)."""
        hold = None if keep_slot else _slot_hold.get()
        if hold is not None:
            hold.give()
        await self.sleep(seconds)  # cancelled here, the slot is not held and nothing is owed
        if hold is not None:
            await hold.take()

    def _patience(self, exc: BaseException) -> float:
        refused = isinstance(exc, ModelConnectionError) and not isinstance(exc, ModelTimeoutError)
        if (refused or broken_reply(exc)) and not self.worked:
            return self.policy.first_contact_give_up_s
        return self.policy.give_up_after_s

    def _delay(self, exc: BaseException, attempt: int) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.policy.max_delay_s) + self.random.uniform(0, 0.25)
        ceiling = min(self.policy.max_delay_s, self.policy.base_delay_s * 2 ** (attempt - 1))
        return self.random.uniform(ceiling / 2, ceiling)


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def call_key(model_id: str, messages: list[ModelMessage], model_settings: ModelSettings | None,
             params: ModelRequestParameters) -> str:
    """A hash of what decides a response: model, messages (without timestamps or ids), settings and tools."""
    payload = {
        "model": model_id,
        "messages": _stable(ModelMessagesTypeAdapter.dump_python(messages, mode="json")),
        "settings": {k: v for k, v in (model_settings or {}).items() if isinstance(v, str | int | float | bool | list)},
        "tools": sorted((t.name, json.dumps(t.parameters_json_schema, sort_keys=True))
                        for t in [*params.function_tools, *params.output_tools]),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


CALLS_RANK = 0  # in a journal group, model answers reach the disk before the decisions taken on them


class CallCache:
    """Responses by call key, appended to a JSON-lines file as they arrive (fsync'd, in groups, by `journal`).

    A build's ledger appends through the same journal, so a decision never reaches the disk before the answer
    it was taken on. Memory stays flat however long the build: responses on disk are kept as their line's offset
    (read again on a hit), only the last `recent` responses of this run as text."""

    def __init__(self, path: Path, journal: Journal | None = None, *, recent: int = 1024) -> None:
        self.path = path
        self.hits = 0
        self.journal = journal or Journal()
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, str] = OrderedDict()  # this run's responses, newest last
        self._recent_size = recent
        self._unindexed: set[str] = set()  # this run's, out of `_recent`, whose offset is not read yet
        self._offsets: dict[str, int] = {}
        self._indexed_to = 0  # bytes of the file read into `_offsets`
        self._index()

    def _index(self) -> None:
        """Read the offsets of the file's complete lines from `_indexed_to` on (a torn last line is not one)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self._indexed_to)
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                if line.strip():
                    self._offsets[_key_of(line)] = self._indexed_to
                self._indexed_to += len(line)
        self._unindexed -= self._offsets.keys()

    def get(self, key: str) -> ModelResponse | None:
        with self._lock:
            raw = self._recent.get(key)
            if raw is None and key in self._unindexed:
                self.journal.flush()  # put earlier in this run: once on disk, its offset can be read
                self._index()
            offset = self._offsets.get(key) if raw is None else None
        if raw is None and offset is not None:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                raw = json.loads(handle.readline())["response"]
        if raw is None:
            return None
        self.hits += 1
        return ModelMessagesTypeAdapter.validate_json(raw)[0]  # type: ignore[return-value]

    def put(self, key: str, response: ModelResponse) -> int:
        """Keep `response`; returns the journal ticket that says when it is on disk."""
        raw = ModelMessagesTypeAdapter.dump_json([response]).decode()
        with self._lock:
            self._recent[key] = raw
            while len(self._recent) > self._recent_size:
                self._unindexed.add(self._recent.popitem(last=False)[0])
        return self.journal.append(self.path, [{"key": key, "response": raw}], rank=CALLS_RANK)

    def flush(self) -> None:
        """Block until every response kept so far is on disk."""
        self.journal.flush()

    def __len__(self) -> int:
        with self._lock:
            return len(self._offsets.keys() | self._recent.keys() | self._unindexed)


_KEY_PREFIX = b'{"key": "'


def _key_of(line: bytes) -> str:
    """A cache line's key, without parsing its (large) response: lines are written with the key first."""
    end = len(_KEY_PREFIX) + 64
    if line.startswith(_KEY_PREFIX) and line[end:end + 1] == b'"':
        return line[len(_KEY_PREFIX):end].decode()
    return str(json.loads(line)["key"])


# The order in which waiting requests get a slot: lower first (a build sets its batch's position in the plan).
call_priority: ContextVar[int] = ContextVar("call_priority", default=0)


class Slots:
    """At most `size` holders at once; waiters are served lowest `call_priority` first, then in arrival order.

    A build decides its batches in plan order, so a request of an early batch that waits behind those
    of later ones would hold every decision up; served first, it never does."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (call_priority.get(), next(self._arrivals), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class _SlotHold:
    """One request's slot, which its retries give back while they wait (ResilientModel._back_off)."""

    def __init__(self, slots: Slots) -> None:
        self.slots, self.held = slots, False

    async def take(self) -> None:
        await self.slots.acquire()
        self.held = True

    def give(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()


_slot_hold: ContextVar[_SlotHold | None] = ContextVar("slot_hold", default=None)


class SlotModel(WrapperModel):
    """Holds one of a build's slots while a request is out, so that the build keeps at most that many in flight."""

    def __init__(self, wrapped: Any, slots: Slots, before: Callable[[], None] | None = None,
                 after: Callable[[ModelResponse], None] | None = None) -> None:
        super().__init__(wrapped)
        self.slots, self.before, self.after = slots, before, after

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        hold = _SlotHold(self.slots)
        await hold.take()
        token = _slot_hold.set(hold)
        try:
            if self.before is not None:
                self.before()  # may refuse the request (a spent budget) by raising
            response = await self.wrapped.request(messages, model_settings, model_request_parameters)
            if self.after is not None:
                self.after(response)  # counted at once, before the run it belongs to has ended
            return response
        finally:
            _slot_hold.reset(token)
            hold.give()


class CachedModel(WrapperModel):
    def __init__(self, wrapped: Any, cache: CallCache, model_id: str) -> None:
        super().__init__(wrapped)
        self.cache, self.cache_namespace = cache, model_id

    async def request(self, messages: list[ModelMessage], model_settings: ModelSettings | None,
                      model_request_parameters: ModelRequestParameters) -> ModelResponse:
        key = call_key(self.cache_namespace, messages, model_settings, model_request_parameters)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        response = await self.wrapped.request(messages, model_settings, model_request_parameters)
        # Answered means kept: the response is used once it is on disk (a group fsync, off the event loop).
        await self.cache.journal.durable(self.cache.put(key, response))
        return response
