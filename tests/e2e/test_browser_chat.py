"""What the researcher said, in a real browser: a size written as "60-item", a compound plan edit carried out in
full, and text between colons shown as written (the fake endpoint is every model: it turns the edit into typed
edits as a capable chat model would)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from assistant.render import CONFIRM_LABELS  # not assistant.app: importing chainlit here writes .files/
from tests.e2e.conftest import AppServer

pytestmark = pytest.mark.slow

REQUEST = "A 60-item benchmark of grade-school arithmetic word problems, to compare openai:gpt-4o-mini with others"
WAIT = 30_000  # ms for what the server does (a model call, a step): the machine may be busy
EDIT = "Drop the second subtask, split the first into easy and hard, and double the size of the last one."


def test_a_60_item_request_and_a_compound_edit_are_carried_out_as_said(page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=WAIT)  # the first runtime loads models

    page.locator("#chat-input").fill(REQUEST)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Spec", exact=True).first).to_be_visible(timeout=WAIT)
    expect(page.locator("pre").filter(has_text="60-item")).to_have_text(REQUEST)  # as typed, model name and all
    size = page.get_by_role("row").filter(has=page.get_by_role("cell", name="Size", exact=True))
    expect(size.get_by_role("cell", name="60", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"Size: \d+ \(not specified\)"))).to_have_count(0)
    page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click()
    expect(page.get_by_role("cell", name="total")).to_be_visible(timeout=WAIT)

    page.locator("#chat-input").fill(EDIT)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"Plan v2, 3 of the 3 instructions in your message carried out"))).to_be_visible(
        timeout=WAIT)
    for said in (r": dropped '", r": split '.+' into '.+ \(easy\)' \(\d+\) and '.+ \(hard\)'", r"scale .+: \d+ → \d+ samples"):
        expect(page.get_by_text(re.compile(said)).first).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"\(easy\)$"))).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"\(hard\)$"))).to_be_visible()


def test_a_model_changed_in_the_settings_panel_is_used_from_the_next_step(page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=WAIT)
    page.locator("#chat-settings-open-modal").click()
    judge = page.locator("#judge_model")
    expect(judge).to_have_value("openai:fake-model")
    judge.fill("openai:fake-judge")
    page.locator("#concurrency").fill("3")
    page.locator("#confirm").click()
    expect(page.get_by_text(re.compile(r"Settings saved for your next step\..*judge openai:fake-judge.*3 calls in flight"))
           ).to_be_visible(timeout=WAIT)

    page.locator("#chat-input").fill("8 multiple-choice arithmetic word problems")
    page.keyboard.press("Enter")
    page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click(timeout=WAIT)
    # On the plan card (the last of them: the "Settings saved" note says the same once the card is out)
    expect(page.get_by_text(re.compile(r"In force \(settings panel\):.*judge openai:fake-judge.*3 calls in flight"))
           .last).to_be_visible(timeout=WAIT)
    page.reload()  # kept for the user: a new page shows the panel with the change
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=WAIT)
    page.locator("#chat-settings-open-modal").click()
    expect(page.locator("#judge_model")).to_have_value("openai:fake-judge")
