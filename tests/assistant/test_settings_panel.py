"""The settings panel: the model per role, concurrency, budget and target band, kept per user and used from the
next step on (handlers called directly, the fake endpoint as every model)."""

from __future__ import annotations

from typing import Any

import chainlit as cl
import pytest

from assistant import user_settings
from assistant.settings import Settings
from tests.assistant.test_app import (  # noqa: F401  (fixtures: the fake server, a fresh runtime per test)
    _runtime,
    app,
    confirm,
    llm,
    no_errors,
    open_session,
    use_endpoint,
)
from tests.fake_llm import FakeLLMServer
from tools.errors import ConfigurationError

BASE = Settings(model="openai:fake-model", openai_base_url="http://127.0.0.1:9/v1", openai_api_key="test")


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, llm: FakeLLMServer) -> FakeLLMServer:  # noqa: F811 (the imported fixture)
    return use_endpoint(monkeypatch, llm)


@pytest.mark.parametrize(("values", "message"), [
    ({"concurrency": "0"}, "Model calls in flight at once: '0' is not accepted"),
    ({"concurrency": "many"}, "Model calls in flight at once: 'many' is not accepted"),
    ({"max_tokens": "-5"}, "Token budget of one build: '-5' is not accepted"),
    ({"max_cost": "free"}, "Dollar budget of one build: 'free' is not accepted"),
    ({"target_band": "0.8-0.2"}, "must be two increasing numbers"),
    ({"judge_model": "nosuchprovider:model", "concurrency": "4"}, "Those models cannot be used"),
])
def test_a_value_the_panel_cannot_take_is_refused_with_its_field_named(values: dict[str, Any], message: str) -> None:
    base = BASE.model_copy(update={"openai_base_url": None})  # without a base URL a provider must be known
    with pytest.raises(ConfigurationError, match=message):
        user_settings.changes_from(base, values)


def test_a_budget_above_the_servers_own_limit_is_refused_naming_the_setting() -> None:
    assert BASE.max_tokens is not None
    for value in ("", str(BASE.max_tokens + 1)):
        with pytest.raises(ConfigurationError, match="this server's limit .BENCHMARK_AGENT_MAX_TOKENS."):
            user_settings.changes_from(BASE, {"max_tokens": value})
    assert user_settings.changes_from(BASE, {"max_tokens": "1000"}) == {"max_tokens": 1000}


def test_only_what_differs_from_the_installation_is_kept() -> None:
    values = {"chat_model": "openai:fake-model", "judge_model": "openai:other", "concurrency": "8",
              "max_tokens": str(BASE.max_tokens or ""), "max_cost": "2.5", "target_band": "20-60"}
    assert user_settings.changes_from(BASE, values) == {"judge_model": "openai:other", "max_cost": 2.5,
                                                        "target_band": "20-60"}


async def test_the_welcome_sends_the_panel_with_what_is_in_force(endpoint: FakeLLMServer) -> None:
    recorder = open_session(user="alice")
    await app.start()
    [widgets] = recorder.of("chat_settings")
    shown = {w["id"]: w["initial"] for w in widgets}
    assert shown == {"chat_model": "openai:fake-model", "generator_model": "openai:fake-model",
                     "judge_model": "openai:fake-model", "solver_model": "openai:fake-model", "concurrency": "8",
                     "max_tokens": "5000000", "max_cost": "", "target_band": ""}
    assert "settings panel" in recorder.messages()[0]["output"]


async def test_a_change_in_the_panel_is_used_from_the_next_step_and_shown_on_the_plan_card(endpoint: FakeLLMServer) -> None:
    recorder = open_session(user="alice")
    await app.on_settings({"judge_model": "openai:fake-judge", "concurrency": "3", "max_tokens": "50000"})
    said = recorder.last_message()["output"]
    assert said.startswith("Settings saved for your next step.") and "judge `openai\\:fake-judge`" not in said
    assert "judge `openai:fake-judge`" in said and "3 calls in flight" in said and "budget 50,000 tokens" in said
    deps = (await app._deps())
    assert (deps.settings.concurrency, deps.settings.max_tokens) == (3, 50_000)
    assert deps.models.names["judge"] == "openai:fake-judge" and deps.models.names["generator"] == "openai:fake-model"

    await app.on_message(cl.Message(content="8 multiple-choice arithmetic word problems", author="User",
                                    type="user_message"))
    await app.ON_BUTTON["confirm"](confirm("spec_ready"))
    no_errors(recorder)
    card = recorder.last_message()["output"]
    assert "_In force (settings panel): chat `openai:fake-model`, generator `openai:fake-model`, judge " \
           "`openai:fake-judge`, solver `openai:fake-model`; 3 calls in flight; budget 50,000 tokens" in card

    open_session(user="bob")  # another user keeps the installation's settings
    assert (await app._deps()).settings.concurrency == 8 and (await app._deps()).models.names["judge"] == "openai:fake-model"


async def test_a_refused_change_keeps_the_settings_as_they_were(endpoint: FakeLLMServer) -> None:
    recorder = open_session(user="alice")
    await app.on_settings({"concurrency": "2"})
    await app.on_settings({"concurrency": "0", "judge_model": "openai:other"})
    assert recorder.last_message()["output"].startswith("Nothing in the settings was changed: Model calls in flight")
    assert (await app._deps()).settings.concurrency == 2 and (await app._deps()).models.names["judge"] == "openai:fake-model"
