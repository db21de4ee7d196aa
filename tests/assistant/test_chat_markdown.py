"""What Chainlit's markdown renderer (remark-directive, no raw HTML) would swallow is escaped; the rest is untouched.

Each case was checked against the frontend's own parser (the remark plugins of Chainlit 2.12's bundle):
the escaped text renders as the original text reads.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from assistant.chat_markdown import keep_visible


@pytest.mark.parametrize(("text", "sent"), [
    ("(e.g. openai:gpt-4o-mini with OPENAI_API_KEY, or openai:<name> ...)",
     "(e.g. openai\\:gpt-4o-mini with OPENAI_API_KEY, or openai:\\<name> ...)"),
    ("chat model openai:fake", "chat model openai\\:fake"),
    ("::leaf\n\n:::container\nbody\n:::", ":\\:leaf\n\n::\\:container\nbody\n:::"),
    ("**bold:x** and | cell:z |", "**bold\\:x** and | cell\\:z |"),
    ("a </b> and <!-- c -->", "a \\</b> and \\<!-- c -->"),
])
def test_a_colon_before_a_letter_and_a_tag_like_bracket_are_escaped(text: str, sent: str) -> None:
    assert keep_visible(text) == sent


@pytest.mark.parametrize("text", [
    "Assumed: Capability: arithmetic (not specified); 3:4 at 10:30, a < b",
    "Models in use: chat: `openai:fake-model`, judge: ``a:b <c>``",
    "```\nopenai:x <b>\n```",
    "see <https://example.com/a:b>, https://example.com/path:abc and www.example.com/a:b",
    "already escaped openai\\:x and \\<name>",
])
def test_what_the_renderer_shows_as_written_is_left_as_it_is(text: str) -> None:
    assert keep_visible(text) == text


def test_only_the_text_outside_code_is_escaped() -> None:
    assert keep_visible("`openai:a` then openai:b then\n```\nopenai:c\n```\nopenai:d") == (
        "`openai:a` then openai\\:b then\n```\nopenai:c\n```\nopenai\\:d")


def test_escaping_twice_changes_nothing_more() -> None:
    once = keep_visible("openai:gpt-4o-mini or openai:<name>, `x:y`")
    assert keep_visible(once) == once


ROOT = Path(__file__).parents[2]


def test_the_readme_panel_shows_every_model_name_as_written() -> None:
    text = (ROOT / "chainlit.md").read_text(encoding="utf-8")
    assert keep_visible(text) == text, "chainlit.md is rendered by the same markdown renderer as the messages"
    assert "`openai:gpt-4o-mini`" in text


def test_a_typed_message_is_shown_as_typed() -> None:
    # The user's own message is rendered by the browser, not by us: with markdown off it shows as plain text,
    # so "evaluate openai:gpt-4o-mini" does not lose its model name.
    config = tomllib.loads((ROOT / ".chainlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["features"]["user_message_markdown"] is False
