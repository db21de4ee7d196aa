"""The whole chat in a real browser: request, spec card, confirm, plan, build, download."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import datasets
import pytest
from playwright.sync_api import Page, expect
from pydantic_evals import Dataset

from assistant.render import CONFIRM_LABELS, DOWNLOADS  # not assistant.app: importing chainlit here writes .files/
from tests.e2e.conftest import AppServer

pytestmark = pytest.mark.slow

REQUEST = "8 multiple-choice arithmetic word problems"
SCREENSHOT_COPY = Path("/tmp/e2e-final.png")  # the conftest page fixture copies its last screenshot here


def test_a_request_becomes_a_downloadable_benchmark(page: Page, app_server: AppServer, tmp_path: Path) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=30_000)  # the first runtime loads models

    page.locator("#chat-input").fill(REQUEST)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Spec", exact=True).first).to_be_visible()
    expect(page.get_by_role("cell", name="multiple choice").first).to_be_visible()
    confirm_spec = page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"])
    confirm_spec.click()

    expect(page.get_by_text("Plan", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="total")).to_be_visible()
    expect(confirm_spec).to_have_count(0)  # the clicked button is removed
    page.get_by_role("button", name=CONFIRM_LABELS["planned"]).click()

    jsonl = page.locator('a.inline-file[download="benchmark.jsonl"]')
    failure = page.get_by_text(re.compile(r"The step failed unexpectedly|The build failed"))
    expect(jsonl.or_(failure).first).to_be_visible(timeout=120_000)  # stop waiting as soon as it failed
    if failure.count():
        pytest.fail(f"the build failed in the browser: {failure.first.inner_text()}")
    expect(page.get_by_text(re.compile(r"8/8 samples, complete"))).to_be_visible()
    for name in DOWNLOADS:
        expect(page.locator(f'a.inline-file[download="{name}"]')).to_be_visible()
    expect(page.get_by_text("Used generate", exact=True)).to_be_visible()  # the build's progress steps
    expect(page.get_by_role("button", name=CONFIRM_LABELS["planned"])).to_have_count(0)

    with page.expect_download() as download_info:
        jsonl.click()
    downloaded = tmp_path / "benchmark.jsonl"
    download_info.value.save_as(downloaded)
    rows = [json.loads(line) for line in downloaded.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 8
    assert all(isinstance(row, dict) for row in rows)

    # The one download with every format: each loads with its harness's own reader.
    with page.expect_download() as zip_info:
        page.locator('a.inline-file[download="benchmark.zip"]').click()
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(zip_info.value.path()) as archive:
        archive.extractall(unpacked)
    assert len(Dataset[dict, str, dict].from_file(unpacked / "pydantic_evals" / "dataset.yaml").cases) == 8
    assert datasets.load_dataset(str(unpacked), split="test").num_rows == 8
    assert (unpacked / "inspect" / "benchmark_task.py").is_file() and list((unpacked / "lm_eval").glob("*_mc.yaml"))

    jsonl.scroll_into_view_if_needed()
