"""The chat's upload settings in .chainlit/config.toml are the ones the product reads: every supported type, no other."""

from __future__ import annotations

import tomllib
from pathlib import Path

from assistant.material import upload_accept
from assistant.settings import Settings
from tools.sources import SUPPORTED

CONFIG = Path(__file__).parents[2] / ".chainlit" / "config.toml"


def _spontaneous_file_upload() -> dict[str, object]:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))["features"]["spontaneous_file_upload"]


def test_the_accepted_upload_types_are_exactly_the_supported_ones() -> None:
    accept = _spontaneous_file_upload()["accept"]
    assert accept == upload_accept()
    assert {suffix for suffixes in accept.values() for suffix in suffixes} == set(SUPPORTED)  # type: ignore[union-attr]


def test_the_upload_limits_in_the_config_match_the_default_settings() -> None:
    upload = _spontaneous_file_upload()
    defaults = Settings.model_fields
    assert upload["max_files"] == defaults["max_uploads"].default
    assert upload["max_size_mb"] == defaults["max_upload_mb"].default
