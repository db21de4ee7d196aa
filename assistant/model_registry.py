"""Turn the model names in settings into pydantic-ai models, one per role."""

from __future__ import annotations

from typing import get_args
from urllib.parse import urlsplit

from pydantic_ai.exceptions import UserError
from pydantic_ai.models import Model, infer_model
from pydantic_ai.providers import infer_provider_class

from assistant.settings import EMBEDDED_MODEL, Settings
from tools.contracts import Role
from tools.errors import ConfigurationError
from tools.llm.endpoints import Endpoint, EndpointChatModel, ModeMemory, NegotiatedModel, OutputMode, endpoint_key
from tools.llm.lean_client import lean_client
from tools.llm.resilience import RateLimiter, ResilientModel, RetryPolicy
from tools.llm.stage import StageModels

PIPELINE_ROLES: tuple[Role, ...] = ("chat", "generator", "judge", "solver")

TOY_MODEL_WARNING = (
    "Running on the embedded SmolLM2-135M model: it works offline but its samples are toy-level and most "
    "fail verification; with it, quality control runs its deterministic checks and one judge verdict per sample "
    "(the model-run inspector and re-solve would be noise). For a real benchmark set BENCHMARK_AGENT_MODEL (e.g. openai:gpt-4o-mini with "
    "OPENAI_API_KEY, or openai:<name> with OPENAI_BASE_URL pointing at vLLM, Ollama or a llama.cpp server)."
)


def _checked_base_url(url: str) -> str:
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError(f"Base URL {url!r} is not an http(s) URL; e.g. http://127.0.0.1:8000/v1.")
    if parsed.path.strip("/") == "":
        raise ConfigurationError(
            f"Base URL {url!r} has no API path. OpenAI-compatible servers (vLLM, Ollama, llama.cpp, LM Studio) serve "
            f"under /v1: set it to {url.rstrip('/')}/v1."
        )
    return url.rstrip("/")


def _known_provider(prefix: str) -> bool:
    try:
        infer_provider_class(prefix)
    except ValueError:
        return False
    except ImportError:  # known, but its SDK is not installed: infer_model says which package to add
        return True
    return True


class _Endpoints:
    """What the models of one set of settings share: one endpoint (client, output mode) per base URL and model,
    one rate limiter per base URL, and the remembered output modes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiters: dict[str, RateLimiter] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.memory = ModeMemory(settings.data_dir / "endpoints.json")

    def limiter(self, base_url: str | None) -> RateLimiter:
        settings = self.settings
        return self.limiters.setdefault(base_url or "default", RateLimiter(settings.rate_limit_rpm, settings.rate_limit_tpm))

    def resilient(self, model: Model, base_url: str | None) -> ResilientModel:
        policy = RetryPolicy(give_up_after_s=self.settings.endpoint_down_timeout_s)
        return ResilientModel(model, policy=policy, limiter=self.limiter(base_url))

    def openai_model(self, name: str, role: Role | None) -> Model:
        settings = self.settings
        base_url = settings.base_url_for(role)
        key = settings.api_key_for(role)
        if key is None and base_url is None:
            raise ConfigurationError(
                f"Model 'openai:{name}' needs OPENAI_API_KEY, or OPENAI_BASE_URL (or BENCHMARK_AGENT_{(role or 'x').upper()}"
                "_BASE_URL) for a local OpenAI-compatible server (vLLM, Ollama, llama.cpp). Unset BENCHMARK_AGENT_MODEL "
                "to use the embedded offline model."
            )
        base_url = _checked_base_url(base_url) if base_url else None
        endpoint = self.endpoints.get(endpoint_key(base_url, name))
        if endpoint is None:
            endpoint = self._endpoint(name, base_url, key)
            self.endpoints[endpoint.key] = endpoint
        return self.resilient(NegotiatedModel(endpoint), base_url)

    def _endpoint(self, name: str, base_url: str | None, key: str | None) -> Endpoint:
        # Retries are ours (tools/llm/resilience.py): they honour Retry-After and know when to give up.
        client = lean_client(base_url=base_url, api_key=key or "not-needed", timeout=self.settings.request_timeout_s)

        def client_model(mode: OutputMode) -> EndpointChatModel:
            return EndpointChatModel(name, client=client, mode=mode)

        def probe_model(mode: OutputMode) -> Model:
            return self.resilient(client_model(mode), base_url)

        endpoint = Endpoint(base_url=base_url, model_name=name, make=probe_model, client_model=client_model,
                            memory=self.memory)
        if self.settings.output_mode != "auto":
            endpoint.mode, endpoint.how = self.settings.output_mode, "set"
        return endpoint


def resolve_model(name: str, settings: Settings, cache: dict[str, Model] | None = None,
                  endpoints: _Endpoints | None = None, role: Role | None = None) -> Model:
    """The model for a `provider:name` string; `embedded:...` is the packaged offline model.

    `openai:NAME` is NAME on an OpenAI-compatible endpoint (the role's base URL, else OPENAI_BASE_URL), spelled
    as the server spells it (`llama3.1:8b`, `org/model`); with a base URL set, the `openai:` may be left out."""
    cache = {} if cache is None else cache
    endpoints = _Endpoints(settings) if endpoints is None else endpoints
    cache_key = f"{name}@{settings.base_url_for(role) or ''}"
    if cache_key in cache:
        return cache[cache_key]
    prefix, sep, _ = name.partition(":")
    if name == EMBEDDED_MODEL or name.startswith("embedded"):
        from assistant.embedded_model import EmbeddedModel  # imported only when used: it loads llama.cpp

        model: Model = EmbeddedModel(settings.embedded_model_path, n_threads=settings.embedded_threads)
    elif name.startswith("openai:"):
        model = endpoints.openai_model(name.removeprefix("openai:"), role)
    elif (not sep or not _known_provider(prefix)) and settings.base_url_for(role):
        model = endpoints.openai_model(name, role)
    elif not sep:
        raise ConfigurationError(
            f"Model '{name}' names no provider: write openai:{name} for an OpenAI-compatible server (with "
            "OPENAI_BASE_URL) or provider:name for a hosted one (e.g. anthropic:claude-sonnet-4-5)."
        )
    else:
        try:
            model = endpoints.resilient(infer_model(name), None)
        except (UserError, ValueError) as exc:
            raise ConfigurationError(
                f"Unknown or unusable model '{name}': {exc}. For a model on an OpenAI-compatible server write "
                f"openai:{name} and set OPENAI_BASE_URL."
            ) from exc
    cache[cache_key] = model
    return model


def stage_models(settings: Settings, roles: tuple[Role, ...] | None = None) -> StageModels:
    """One model per role, sharing instances (and the endpoint's output mode) when roles name the same model
    on the same endpoint. The vision role is there only when BENCHMARK_AGENT_VISION_MODEL is set: without it,
    images go to the generator's model (StageModels falls back to it)."""
    if roles is None:
        roles = (*PIPELINE_ROLES, "vision") if settings.vision_model else PIPELINE_ROLES
    assert set(roles) <= set(get_args(Role))
    cache: dict[str, Model] = {}
    endpoints = _Endpoints(settings)
    names = {role: settings.model_for(role) for role in roles}
    models = {role: resolve_model(names[role], settings, cache, endpoints, role) for role in roles}
    return StageModels(models=models, names=names)


def uses_toy_model(models: StageModels) -> bool:
    """Whether any role runs on the embedded toy model (its replies are rarely about the benchmark)."""
    return EMBEDDED_MODEL in models.names.values()


def model_warnings(models: StageModels) -> list[str]:
    """What a user should know about the models in use: the toy model, and each endpoint's output mode once known."""
    return ([TOY_MODEL_WARNING] if uses_toy_model(models) else []) + models.endpoint_notes()
