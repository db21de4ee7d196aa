"""In a real browser: refine a plan with words and buttons, then reload the page and restart the server.

The thread comes back each time with its spec card, its current plan version and working buttons.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assistant.render import CONFIRM_LABELS
from tests.e2e.conftest import AppServer

pytestmark = pytest.mark.slow

REQUEST = "8 multiple-choice arithmetic word problems"
SCREENSHOT_COPY = Path("/tmp/e2e-persistence.png")  # the conftest page fixture copies its last screenshot here


def _card_shows(page: Page, version: int) -> None:
    expect(page.get_by_text("Spec", exact=True).last).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^Plan v{version}\b")).last).to_be_visible()
    expect(page.get_by_role("button", name=CONFIRM_LABELS["planned"])).to_be_visible()


def test_a_refined_plan_survives_a_reload_and_a_server_restart(page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=30_000)  # signed in and connected
    page.locator("#chat-input").fill(REQUEST)
    page.keyboard.press("Enter")
    page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click()
    _card_shows(page, 1)

    page.locator("#chat-input").fill("drop 2")  # in words
    page.keyboard.press("Enter")
    _card_shows(page, 2)
    page.get_by_role("button", name="Edit the plan").click()  # and with buttons
    page.get_by_role("button", name="Change total size").click()
    page.get_by_role("button", name="20", exact=True).click()
    _card_shows(page, 3)
    expect(page.get_by_text(re.compile(r"total: 8 → 20 samples")).last).to_be_visible()
    thread_url = page.url
    assert "/thread/" in thread_url

    page.reload()
    _card_shows(page, 3)
    expect(page.get_by_role("cell", name="20").last).to_be_visible()

    app_server.restart()
    page.goto(thread_url)
    _card_shows(page, 3)
    page.get_by_role("button", name=re.compile(r"Undo \(back to v2\)")).click()  # buttons work after the restart
    _card_shows(page, 4)
    expect(page.get_by_role("cell", name="20")).to_have_count(0)
