"""Material in a real browser: a file attached with the message is read, named, feeds the plan and every item."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assistant.render import CONFIRM_LABELS  # not assistant.app: importing chainlit here writes .files/
from tests.e2e.conftest import AppServer
from tests.tools.sources.fixtures import prose

pytestmark = pytest.mark.slow


def _notes(path: Path) -> Path:
    chapters = [("Chapter 1 Harbours", 21), ("Chapter 2 Railways", 22), ("Chapter 3 Bridges", 23)]
    path.write_text("\n\n".join(f"# {title}\n\n{prose(seed, 6)}" for title, seed in chapters) + "\n", encoding="utf-8")
    return path


def test_an_attached_file_is_named_used_by_the_plan_and_cited_by_every_item(
        page: Page, app_server: AppServer, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "harbour-notes.md")
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible()

    page.locator('input[type="file"]').first.set_input_files(str(notes))
    expect(page.get_by_text("harbour-notes.md").first).to_be_visible()  # the attachment chip under the input
    page.locator("#chat-input").fill("6 short-answer questions on these notes")
    page.keyboard.press("Enter")

    # The reply names the file with what was read of it, then the spec follows.
    expect(page.get_by_text(re.compile(r"harbour-notes\.md.*3 sections")).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Spec", exact=True).first).to_be_visible(timeout=60_000)
    page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click()

    expect(page.get_by_text("Plan", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"Material:\s*harbour-notes\.md")).first).to_be_visible()
    page.get_by_role("button", name=CONFIRM_LABELS["planned"]).click()

    jsonl = page.locator('a.inline-file[download="benchmark.jsonl"]')
    failure = page.get_by_text(re.compile(r"The step failed unexpectedly|The build failed"))
    expect(jsonl.or_(failure).first).to_be_visible(timeout=180_000)
    if failure.count():
        pytest.fail(f"the build failed in the browser: {failure.first.inner_text()}")
    with page.expect_download() as download_info:
        jsonl.click()
    downloaded = tmp_path / "benchmark.jsonl"
    download_info.value.save_as(downloaded)
    rows = [json.loads(line) for line in downloaded.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6
    text = notes.read_text(encoding="utf-8")
    for row in rows:
        assert row["evidence"] and all(e["source"] == "harbour-notes.md" for e in row["evidence"])
        assert all(" ".join(e["quote"].split()) in " ".join(text.split()) for e in row["evidence"])
