"""What a user changed in the chat's settings panel: the model per role, concurrency, the budget of a build and
the target difficulty band, kept per user and laid over the installation's settings from the next step on.

Values are checked before they are kept (a model name must resolve to a model, a number must be in range); a
value equal to the installation's is not kept, so a later change to the environment still reaches it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.model_registry import stage_models
from assistant.settings import Settings
from tools.errors import BenchmarkAgentError, ConfigurationError
from tools.llm.stage import StageModels

# The settings a user may change, with their label; the models are named per role.
MODEL_FIELDS = {"chat_model": "Chat model", "generator_model": "Generator model", "judge_model": "Judge model",
                "solver_model": "Solver model"}
OTHER_FIELDS = {"concurrency": "Model calls in flight at once", "max_tokens": "Token budget of one build",
                "max_cost": "Dollar budget of one build", "target_band": "Target panel accuracy band"}
FIELDS = {**MODEL_FIELDS, **OTHER_FIELDS}


def _path(data_dir: Path, user: str | None) -> Path:
    name = user or "anonymous"
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:40]
    return data_dir / "users" / f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:12]}" / "chat_settings.json"


def load(data_dir: Path, user: str | None) -> dict[str, Any]:
    """The user's kept changes (none when the file is missing or unreadable)."""
    try:
        kept = json.loads(_path(data_dir, user).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in kept.items() if k in FIELDS} if isinstance(kept, dict) else {}


def save(data_dir: Path, user: str | None, changes: dict[str, Any]) -> None:
    path = _path(data_dir, user)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8", suffix=".tmp") as out:
        json.dump(changes, out, indent=1, sort_keys=True)
    os.replace(out.name, path)


def _value(base: Settings, name: str, raw: Any) -> Any:
    """`raw` (what the panel sent) as the setting `name` holds it; raises `ConfigurationError` naming the field."""
    text = "" if raw is None else str(raw).strip()
    if name in MODEL_FIELDS:
        return text or None
    if text == "" and name != "concurrency":
        return None
    checked = base.model_copy()
    try:  # the field's type with its own limits (ge, le, gt)
        Settings.__pydantic_validator__.validate_assignment(checked, name, text)
        value = getattr(checked, name)
        if name == "target_band":
            checked.band()
    except (ValidationError, ValueError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ConfigurationError(f"{FIELDS[name]}: {text!r} is not accepted ({message}).") from exc
    return value


def changes_from(base: Settings, values: dict[str, Any]) -> dict[str, Any]:
    """The panel's values that differ from the installation's, checked; raises `ConfigurationError` (nothing kept)
    for the first one that is not accepted, a model name included."""
    changes: dict[str, Any] = {}
    for name in FIELDS:
        if name not in values:
            continue
        value = _value(base, name, values[name])
        if name in MODEL_FIELDS:
            differs = value is not None and value != base.model_for(name.removesuffix("_model"))  # type: ignore[arg-type]
        else:
            differs = value != getattr(base, name)
        if differs:
            changes[name] = value
    for name, setting in (("max_tokens", "BENCHMARK_AGENT_MAX_TOKENS"), ("max_cost", "BENCHMARK_AGENT_MAX_COST")):
        ceiling = getattr(base, name)
        if name in changes and ceiling is not None and (changes[name] is None or changes[name] > ceiling):
            raise ConfigurationError(f"{FIELDS[name]}: at most {ceiling:g}, this server's limit ({setting}); "
                                     "a budget of your own can only be smaller.")
    try:
        stage_models(applied(base, changes))
    except BenchmarkAgentError as exc:
        raise ConfigurationError(f"Those models cannot be used: {exc}") from exc
    return changes


def applied(base: Settings, changes: dict[str, Any]) -> Settings:
    return base.model_copy(update=changes) if changes else base


_MODELS: dict[tuple[tuple[str, str], ...], StageModels] = {}  # one per set of changes, shared by their users


def models_for(base: Settings, base_models: StageModels, changes: dict[str, Any]) -> StageModels:
    """The models of `base` with `changes`: the installation's own when nothing changes a model."""
    key = tuple(sorted((k, str(v)) for k, v in changes.items() if k in MODEL_FIELDS))
    if not key:
        return base_models
    if key not in _MODELS:
        _MODELS[key] = stage_models(applied(base, changes))
    return _MODELS[key]


def in_force(settings: Settings, models: StageModels) -> str:
    """One line naming what the next step uses, as the plan card shows it."""
    names = ", ".join(f"{role} `{name}`" for role, name in models.names.items())
    budget = " and ".join(b for b in (f"{settings.max_tokens:,} tokens" if settings.max_tokens else "",
                                       f"${settings.max_cost:g}" if settings.max_cost else "") if b) or "none"
    band = settings.target_band or "none"
    return (f"In force (settings panel): {names}; {settings.concurrency} calls in flight; budget {budget}; "
            f"target band {band}")
