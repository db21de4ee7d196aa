"""Material in a real browser: a file attached with the message is read, named, feeds the plan and every item."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assistant.render import CONFIRM_LABELS  # not assistant.app: importing chainlit here writes .files/
from tests.e2e.conftest import AppServer
from tests.tools.sources.fixtures import prose, write_csv, write_image, write_text_pdf

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
    expect(page.locator("#chat-submit")).to_be_enabled()  # the upload finished: Enter sends nothing before that
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


def test_a_pdf_a_csv_and_three_images_attached_together_each_feed_the_build_and_the_zip(
        page: Page, app_server: AppServer, tmp_path: Path) -> None:
    files = [write_text_pdf(tmp_path / "survey.pdf", [prose(31, 8), prose(32, 8)]),
             write_csv(tmp_path / "counts.csv", 12),
             *(write_image(tmp_path / f"chart{n}.png", "PNG", text=f"Chart {n}: {n * 40} units") for n in range(1, 4))]
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible()
    page.locator('input[type="file"]').first.set_input_files([str(f) for f in files])
    for path in files[:2]:  # the documents' chips under the input (images show as thumbnails) before it goes
        expect(page.get_by_text(path.name).first).to_be_visible()
    page.locator("#chat-input").fill("10 short-answer questions about this survey, its counts and the charts")
    expect(page.locator("#chat-submit")).to_be_enabled()  # uploads finished
    page.keyboard.press("Enter")

    expect(page.get_by_text(re.compile(r"survey\.pdf.*2 pages")).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"counts\.csv.*12 records")).first).to_be_visible()
    for n in range(1, 4):
        expect(page.get_by_text(f"chart{n}.png").first).to_be_visible()
    page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click()
    expect(page.get_by_text("Plan", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"Material:.*survey\.pdf")).first).to_be_visible()
    page.get_by_role("button", name=CONFIRM_LABELS["planned"]).click()

    zipped = page.locator('a.inline-file[download="benchmark.zip"]')
    failure = page.get_by_text(re.compile(r"The step failed unexpectedly|The build failed"))
    expect(zipped.or_(failure).first).to_be_visible(timeout=240_000)
    if failure.count():
        pytest.fail(f"the build failed in the browser: {failure.first.inner_text()}")
    with page.expect_download() as download_info:
        zipped.click()
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(download_info.value.path()) as archive:
        archive.extractall(unpacked)
    rows = [json.loads(line) for line in (unpacked / "benchmark.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["evidence"] for r in rows), "every item cites its material or carries its image"
    for row in rows:
        if row.get("image"):
            assert (unpacked / row["image"]).is_file(), "an image item's image is in the zip"
        else:
            assert all(e["quote"] for e in row["evidence"])
    assert {e["source"] for r in rows for e in r["evidence"]} >= {"survey.pdf"}
