"""Chainlit's settings panel (the gear by the message box): the model per role, concurrency, budget and target
band, as `assistant.user_settings` keeps them per user. Renders for the shell, so it imports Chainlit."""

from __future__ import annotations

from typing import Any

from chainlit.chat_settings import ChatSettings
from chainlit.input_widget import InputWidget, TextInput

from assistant import user_settings
from assistant.settings import Settings
from tools.errors import ConfigurationError
from tools.llm.stage import StageModels

_HELP = {
    "chat_model": "Reads your messages and plans the benchmark (provider:name, e.g. openai:gpt-4o-mini).",
    "generator_model": "Writes the samples.",
    "judge_model": "Inspects and judges each sample; a model other than the generator's makes the review independent.",
    "solver_model": "Re-solves each sample without its gold answer.",
    "concurrency": "Model calls in flight at once during a build (1-256).",
    "max_tokens": "A build stops cleanly, keeping its samples, once it has spent this many tokens; empty: no limit.",
    "max_cost": "The same in dollars (needs the model's price); empty: no limit.",
    "target_band": "Panel accuracy the benchmark aims at, e.g. 0.2-0.6 (needs BENCHMARK_AGENT_PANEL_MODELS); empty: none.",
}


def effective(base: Settings, base_models: StageModels, user: str | None) -> tuple[Settings, StageModels]:
    """The settings and models the user's next step runs with: the installation's, with the user's changes."""
    changes = user_settings.load(base.data_dir, user)
    try:
        return user_settings.applied(base, changes), user_settings.models_for(base, base_models, changes)
    except ConfigurationError:  # kept before the installation changed under it: the installation's own, then
        return base, base_models


def widgets(settings: Settings) -> list[InputWidget]:
    def shown(name: str) -> str:
        if name in user_settings.MODEL_FIELDS:
            return settings.model_for(name.removesuffix("_model"))  # type: ignore[arg-type]
        value = getattr(settings, name)
        return "" if value is None else str(value)

    return [TextInput(id=name, label=label, initial=shown(name), description=_HELP[name])
            for name, label in user_settings.FIELDS.items()]


async def send(settings: Settings) -> None:
    await ChatSettings(widgets(settings)).send()


def update(base: Settings, base_models: StageModels, user: str | None, values: dict[str, Any]) -> str:
    """Keep what the user set in the panel (checked first); the reply says what the next step uses, or why
    nothing was kept."""
    try:
        changes = user_settings.changes_from(base, values)
    except ConfigurationError as exc:
        return f"Nothing in the settings was changed: {exc}"
    user_settings.save(base.data_dir, user, changes)
    settings, models = effective(base, base_models, user)
    return f"Settings saved for your next step. {user_settings.in_force(settings, models)}."
