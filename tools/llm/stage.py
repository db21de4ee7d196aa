"""What every stage needs to call its model: the injected models, usage accounting, error mapping."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from pydantic_ai import Agent
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelNotFoundError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import ModelResponse, UserContent
from pydantic_ai.models import Model
from pydantic_ai.models.wrapper import WrapperModel

from tools.contracts import Role, TokenUsage
from tools.errors import BudgetReached, ModelUnavailable, StageFailed
from tools.llm.call import call_agent
from tools.llm.endpoints import OUTPUT_MODE_SETTING, negotiate, negotiated_parts, output_for, server_message
from tools.llm.resilience import CachedModel, CallCache, ResilientModel, SlotModel, Slots

OutputT = TypeVar("OutputT")
# The responses of the run_stage call under way in this task: booked with its run, then taken out of `in_flight`.
_run_spend: ContextVar[list[tuple[Role, TokenUsage]] | None] = ContextVar("run_spend", default=None)


@dataclass
class StageModels:
    """The model injected for each role, the names recorded in reports, and the tokens spent through them."""

    models: dict[Role, Model]
    names: dict[Role, str]
    usage: dict[str, TokenUsage] = field(default_factory=dict)
    cache: CallCache | None = None
    retry_baseline: int = 0
    # Says why no more calls may be made (a spent budget), or None; checked before every stage call.
    guard: Callable[[], str | None] | None = None
    # What the requests of runs still under way have spent: a run's usage is booked when it ends, and a budget
    # must also see the retries of the runs still going (shared by the copies `limited` makes).
    in_flight: dict[str, TokenUsage] = field(default_factory=dict)

    def model(self, role: Role) -> Model:
        """The model for `role`; image items ('vision') fall back to the generator's when no vision model is set."""
        if role == "vision" and role not in self.models:
            return self.models["generator"]
        return self.models[role]

    def name(self, role: Role) -> str:
        if role == "vision" and role not in self.names:
            return self.names.get("generator", "?")
        return self.names.get(role, "?")

    def with_cache(self, cache: CallCache) -> StageModels:
        """The same models answering from `cache` first, with their own usage meter (one build's)."""
        cached: dict[Role, Model] = {role: CachedModel(model, cache, self.names[role]) for role, model in self.models.items()}
        return StageModels(models=cached, names=dict(self.names), cache=cache, retry_baseline=self._retries_total())

    def limited(self, concurrency: int) -> StageModels:
        """The same models (same usage meter, cache and guard) with at most `concurrency` requests in flight
        across all roles. Only the request holds a slot: preparing it and checking its answer do not, so the
        endpoint gets its next request while the last answer is still being checked."""
        slots = Slots(concurrency)
        limited = replace(self, models={})
        # The guard is checked again once a slot is free: a request that waited for one may no longer be affordable.
        limited.models = {role: SlotModel(model, slots, before=limited.check_guard, after=partial(limited.note, role))
                          for role, model in self.models.items()}
        return limited

    def note(self, role: Role, response: ModelResponse) -> None:
        """Count a response of a run that has not ended yet (run_stage books the run, and takes this back)."""
        spent = TokenUsage(requests=1, input_tokens=response.usage.input_tokens,
                           output_tokens=response.usage.output_tokens)
        self.in_flight.setdefault(role, TokenUsage()).add(spent)
        if (run := _run_spend.get()) is not None:
            run.append((role, spent))

    def spent(self) -> dict[str, TokenUsage]:
        """What has been spent so far: the booked usage and the requests of runs still under way."""
        total = {role: usage.model_copy() for role, usage in self.usage.items()}
        for role, usage in self.in_flight.items():
            total.setdefault(role, TokenUsage()).add(usage)
        return total

    def check_guard(self) -> None:
        """Raise `BudgetReached` when the guard says no more calls may be made."""
        if self.guard is not None and (reason := self.guard()) is not None:
            raise BudgetReached(reason)

    def cache_hits(self) -> int:
        return self.cache.hits if self.cache else 0

    def retries(self) -> int:
        return self._retries_total() - self.retry_baseline

    def _retries_total(self) -> int:
        seen: dict[int, int] = {}
        for model in self.models.values():
            while isinstance(model, WrapperModel):
                if isinstance(model, ResilientModel):
                    seen[id(model)] = model.retries
                model = model.wrapped
        return sum(seen.values())

    async def negotiate(self) -> list[str]:
        """Find the structured-output mode of every endpoint in use (a probe at first contact, once per
        endpoint and model); returns one note per endpoint, for the chat's first message and the report."""
        notes: list[str] = []
        for role, model in self.models.items():
            notes += [note for note in await negotiate(model) if note not in notes]
            self.book_probes(role)
        return notes

    def book_probes(self, role: Role) -> None:
        """Book what a probe of `role`'s endpoint spent, under `role`: a probe's tokens are real spend."""
        for part in negotiated_parts(self.models[role]) if role in self.models else []:
            spent = part.endpoint.take_spend()
            if any(spent):
                self.record(role, *spent)

    def endpoint_notes(self) -> list[str]:
        """The output mode of each endpoint whose mode is known by now."""
        notes: list[str] = []
        for model in self.models.values():
            for part in negotiated_parts(model):
                if part.endpoint.mode is not None and (note := part.endpoint.note()) not in notes:
                    notes.append(note)
        return notes

    def record(self, role: Role, requests: int, input_tokens: int, output_tokens: int) -> None:
        meter = self.usage.setdefault(role, TokenUsage())
        meter.add(TokenUsage(requests=requests, input_tokens=input_tokens, output_tokens=output_tokens))


async def run_stage(
    agent: Agent[Any, OutputT],
    prompt: str | Sequence[UserContent],
    *,
    models: StageModels,
    role: Role,
    stage: str,
    output_type: Any = None,
) -> OutputT:
    """Run a stage agent with the model chosen for `role`; map failures to errors a user can act on.

    `output_type` replaces the agent's own for this run (a stage whose output depends on its input). `prompt` may be
    a list of content parts (text and `BinaryContent` images) for a model that reads images."""
    name = models.name(role)
    models.check_guard()
    noted = _run_spend.set([])
    try:
        await negotiate(models.model(role))  # the output mode decides how pydantic-ai builds the request
        models.book_probes(role)
        wanted = agent.output_type if output_type is None else output_type
        served = output_for(wanted, models.model(role))  # a tool output becomes native or prompted where needed
        output, spent = await call_agent(agent, prompt, model=models.model(role), output_type=served)
    except (ModelConnectionError, ModelAuthenticationError, ModelNotFoundError) as exc:
        raise ModelUnavailable(_unreachable_message(name, role, exc)) from exc
    except ModelAPIError as exc:
        raise ModelUnavailable(
            f"The {role} model '{name}' failed during {stage}; the server said: {server_message(exc)}. "
            f"If the server cannot serve this request shape, {OUTPUT_MODE_SETTING} (tool, native, json_object, "
            "prompted) chooses another way to ask for structured output."
        ) from exc
    except UnexpectedModelBehavior as exc:
        raise StageFailed(
            f"The {role} model '{name}' gave no valid output for {stage} after retries ({exc.message}). "
            "A stronger model usually fixes this: set BENCHMARK_AGENT_MODEL."
        ) from exc
    finally:
        settle_in_flight(models, failed=sys.exc_info()[0] is not None)
        _run_spend.reset(noted)
    models.record(role, spent.requests, spent.input_tokens, spent.output_tokens)
    return output  # type: ignore[no-any-return]


def settle_in_flight(models: StageModels, *, failed: bool) -> None:
    """Take this run's responses out of `in_flight`; a run that failed books them, since they were spent."""
    for role, spent in _run_spend.get() or []:
        meter = models.in_flight[role]
        meter.requests -= spent.requests
        meter.input_tokens -= spent.input_tokens
        meter.output_tokens -= spent.output_tokens
        if failed:
            models.record(role, spent.requests, spent.input_tokens, spent.output_tokens)


def _unreachable_message(name: str, role: str, exc: Exception) -> str:
    said = server_message(exc)
    if isinstance(exc, ModelNotFoundError) or getattr(exc, "status_code", None) == 404:
        return (
            f"Cannot use the {role} model '{name}': the server said {said}. Check the model name against the "
            "server's own list (GET <base URL>/models) and that the base URL ends with its API prefix, usually /v1 "
            f"(OPENAI_BASE_URL, or BENCHMARK_AGENT_{role.upper()}_BASE_URL for this role)."
        )
    return (
        f"Cannot use the {role} model '{name}': {said}. Check that the endpoint is running and that "
        f"OPENAI_BASE_URL / OPENAI_API_KEY (or BENCHMARK_AGENT_{role.upper()}_BASE_URL / _API_KEY for this role) "
        "are right, or unset BENCHMARK_AGENT_MODEL to use the embedded offline model."
    )
