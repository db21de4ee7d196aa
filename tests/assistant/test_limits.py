"""The limits of a shared server: each refusal names the limit and the setting that sets it."""

from __future__ import annotations

from assistant.build_slots import BuildSlots
from assistant.conversation import check_message
from assistant.settings import Settings
from assistant.steps import _budget_setting
from tools.contracts import TokenUsage
from tools.engine.budget import Budget


def test_build_slots_count_per_user_and_in_all() -> None:
    slots = BuildSlots(per_user=1, total=2)
    assert slots.refusal("alice") is None
    slots.add("a1", "alice")
    assert "BENCHMARK_AGENT_MAX_BUILDS_PER_USER=1" in (slots.refusal("alice") or "")
    assert slots.refusal("bob") is None
    slots.add("b1", "bob")
    assert "BENCHMARK_AGENT_MAX_BUILDS=2" in (slots.refusal("carol") or "")
    slots.discard("a1")
    assert slots.refusal("alice") is None and "a1" not in slots and "b1" in slots and len(slots) == 1
    assert BuildSlots().refusal("anyone") is None, "without limits (the CLI), nothing is refused"


def test_the_defaults_are_limits_a_lab_server_can_live_with() -> None:
    settings = Settings()
    assert settings.max_message_chars == 20_000 and settings.max_builds_per_user == 2 and settings.max_builds == 8
    assert settings.max_tokens == 5_000_000 and settings.max_uploads == 5 and settings.max_upload_mb == 20
    assert settings.origins() == []


def test_a_long_message_is_refused_with_its_setting_before_anything_reads_it() -> None:
    assert check_message("x" * 101, 100) is not None and "BENCHMARK_AGENT_MAX_MESSAGE_CHARS" in check_message("x" * 101, 100)  # type: ignore[operator]
    assert check_message("x" * 100, 100) is None


def test_a_budget_stop_names_the_setting_to_raise() -> None:
    spent = {"generator": TokenUsage(requests=1, input_tokens=900, output_tokens=200)}
    tokens = Budget(max_tokens=1000).exceeded(spent, None)
    cost = Budget(max_cost=0.01).exceeded(spent, 0.5)
    assert "BENCHMARK_AGENT_MAX_TOKENS" in _budget_setting(tokens)
    assert "BENCHMARK_AGENT_MAX_COST" in _budget_setting(cost)
    assert _budget_setting("the endpoint stayed down") == "" and _budget_setting(None) == ""
