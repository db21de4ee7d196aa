"""Turn the model names in settings into pydantic-ai models, one per role."""

from __future__ import annotations

from typing import get_args

from openai import AsyncOpenAI
from pydantic_ai.exceptions import UserError
from pydantic_ai.models import Model, infer_model
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from assistant.settings import EMBEDDED_MODEL, Settings
from tools.contracts import Role
from tools.errors import ConfigurationError
from tools.llm.resilience import RateLimiter, ResilientModel, RetryPolicy
from tools.llm.stage import StageModels

PIPELINE_ROLES: tuple[Role, ...] = ("chat", "generator", "judge", "solver")

TOY_MODEL_WARNING = (
    "Running on the embedded SmolLM2-135M model: it works offline but its samples are toy-level and most "
    "fail verification; with it, quality control runs its deterministic checks and one judge verdict per sample "
    "(the model-run inspector and re-solve would be noise). For a real benchmark set BENCHMARK_AGENT_MODEL (e.g. openai:gpt-4o-mini with "
    "OPENAI_API_KEY, or openai:<name> with OPENAI_BASE_URL pointing at vLLM, Ollama or a llama.cpp server)."
)


def _openai_model(name: str, settings: Settings) -> Model:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if key is None and settings.openai_base_url is None:
        raise ConfigurationError(
            f"Model 'openai:{name}' needs OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server "
            "(vLLM, Ollama, llama.cpp). Unset BENCHMARK_AGENT_MODEL to use the embedded offline model."
        )
    # Retries are ours (tools/resilience.py): they honour Retry-After and know when to give up.
    client = AsyncOpenAI(base_url=settings.openai_base_url, api_key=key or "not-needed",
                         timeout=settings.request_timeout_s, max_retries=0)
    return OpenAIChatModel(name, provider=OpenAIProvider(openai_client=client))


def _resilient(model: Model, settings: Settings, limiters: dict[str, RateLimiter]) -> Model:
    """Retries and a rate limiter shared by every model on the same endpoint."""
    endpoint = settings.openai_base_url or "default"
    limiter = limiters.setdefault(endpoint, RateLimiter(settings.rate_limit_rpm, settings.rate_limit_tpm))
    return ResilientModel(model, policy=RetryPolicy(give_up_after_s=settings.endpoint_down_timeout_s), limiter=limiter)


def resolve_model(name: str, settings: Settings, cache: dict[str, Model] | None = None,
                  limiters: dict[str, RateLimiter] | None = None) -> Model:
    """The model for a `provider:name` string; `embedded:...` is the packaged offline model."""
    cache = {} if cache is None else cache
    limiters = {} if limiters is None else limiters
    if name in cache:
        return cache[name]
    if name == EMBEDDED_MODEL or name.startswith("embedded"):
        from assistant.embedded_model import EmbeddedModel  # imported only when used: it loads llama.cpp

        model: Model = EmbeddedModel(settings.embedded_model_path, n_threads=settings.embedded_threads)
    elif name.startswith("openai:"):
        model = _resilient(_openai_model(name.removeprefix("openai:"), settings), settings, limiters)
    else:
        try:
            model = _resilient(infer_model(name), settings, limiters)
        except (UserError, ValueError) as exc:
            raise ConfigurationError(f"Unknown or unusable model '{name}': {exc}") from exc
    cache[name] = model
    return model


def stage_models(settings: Settings, roles: tuple[Role, ...] = PIPELINE_ROLES) -> StageModels:
    """One model per role, sharing instances when roles name the same model."""
    assert set(roles) <= set(get_args(Role))
    cache: dict[str, Model] = {}
    limiters: dict[str, RateLimiter] = {}
    names = {role: settings.model_for(role) for role in roles}
    return StageModels(models={role: resolve_model(names[role], settings, cache, limiters) for role in roles}, names=names)


def model_warnings(models: StageModels) -> list[str]:
    return [TOY_MODEL_WARNING] if EMBEDDED_MODEL in models.names.values() else []
