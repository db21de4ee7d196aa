from __future__ import annotations

import pytest

from assistant.deps import qc_options
from assistant.settings import Settings


def test_numeric_items_need_a_solution_program_unless_the_user_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    options = qc_options(Settings(model="openai:m"))
    assert options is not None and options.require_solution_code is True
    monkeypatch.setenv("BENCHMARK_AGENT_REQUIRE_SOLUTIONS", "false")
    relaxed = qc_options(Settings(model="openai:m"))
    assert relaxed is not None and relaxed.require_solution_code is False
    toy = qc_options(Settings())  # the embedded model's reduced gate keeps the same setting
    assert toy is not None and toy.require_solution_code is False


def test_the_setting_is_read_only_under_the_products_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_SOLUTIONS", "false")
    monkeypatch.setenv("REQUIRE_SOLUTION_CODE", "false")
    options = qc_options(Settings(model="openai:m"))
    assert options is not None and options.require_solution_code is True
