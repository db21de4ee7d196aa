"""What every stage needs to call its model: the injected models, usage accounting, error mapping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic_ai import Agent
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelNotFoundError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import UserContent
from pydantic_ai.models import Model
from pydantic_ai.models.wrapper import WrapperModel

from tools.contracts import Role, TokenUsage
from tools.errors import BudgetReached, ModelUnavailable, StageFailed
from tools.llm.endpoints import OUTPUT_MODE_SETTING, negotiate, negotiated_parts, output_for, server_message
from tools.llm.resilience import CachedModel, CallCache, ResilientModel, SlotModel, Slots

OutputT = TypeVar("OutputT")


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
        limited.models = {role: SlotModel(model, slots, before=limited.check_guard) for role, model in self.models.items()}
        return limited

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
    try:
        await negotiate(models.model(role))  # the output mode decides how pydantic-ai builds the request
        models.book_probes(role)
        wanted = agent.output_type if output_type is None else output_type
        served = output_for(wanted, models.model(role))  # a tool output becomes native or prompted where needed
        if served is agent.output_type:
            result = await agent.run(prompt, model=models.model(role))
        else:
            result = await agent.run(prompt, model=models.model(role), output_type=served)
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
    usage = result.usage
    models.record(role, usage.requests, usage.input_tokens, usage.output_tokens)
    return result.output


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
