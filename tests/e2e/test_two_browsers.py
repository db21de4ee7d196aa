"""Two people in two real browsers on one server: each signs in with a password and builds; neither can open the
other's thread or download the other's files, with the URLs the other one's page shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from assistant.render import CONFIRM_LABELS
from tests.e2e.conftest import AppServer, chainlit_env, chainlit_server
from tests.e2e.test_two_users import REQUEST, USERS
from tests.fake_llm import FakeLLMServer

pytestmark = pytest.mark.slow
SCREENSHOT_COPY = Path("/tmp/e2e-two-browsers.png")  # alice's page at the end; bob's beside it
BOB_SCREENSHOT = Path("/tmp/e2e-two-browsers-bob.png")


@pytest.fixture(scope="module")
def lab(llm: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    workdir = tmp_path_factory.mktemp("lab-browsers")
    env = chainlit_env(workdir / "data", BENCHMARK_AGENT_MODEL="openai:fake-model", OPENAI_BASE_URL=llm.base_url,
                       OPENAI_API_KEY="test", BENCHMARK_AGENT_AUTH_USERS=",".join(f"{u}:{p}" for u, p in USERS.items()))
    with chainlit_server(workdir, env) as server:
        yield server


def _signed_in(browser: Browser, lab: AppServer, user: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=lab.url, accept_downloads=True, viewport={"width": 1280, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(lab.url + "/")
    page.locator("#email").fill(user)
    page.locator("#password").fill(USERS[user])
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=60_000)
    return context, page


def _thread_of(page: Page) -> str:
    listed = page.request.post("/project/threads", data={"pagination": {"first": 5}, "filter": {}}).json()["data"]
    assert len(listed) == 1, listed
    return str(listed[0]["id"])


def test_two_signed_in_people_cannot_reach_each_others_thread_or_files(browser: Browser, lab: AppServer) -> None:
    alice_context, alice = _signed_in(browser, lab, "alice")
    bob_context, bob = _signed_in(browser, lab, "bob")
    try:
        alice.locator("#chat-input").fill(REQUEST)
        alice.keyboard.press("Enter")
        alice.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click()
        alice.get_by_role("button", name=CONFIRM_LABELS["planned"]).click()
        jsonl = alice.locator('a.inline-file[download="benchmark.jsonl"]')
        expect(jsonl).to_be_visible(timeout=180_000)
        download = str(jsonl.get_attribute("href"))
        assert "/project/file/" in download
        thread_id = _thread_of(alice)
        assert alice.request.get(download).status == 200

        assert bob.request.get(download).status == 401, "alice's download URL gives bob nothing"
        assert bob.request.get(f"/project/thread/{thread_id}").status == 401
        bob.goto(f"{lab.url}/thread/{thread_id}")  # alice's thread page, opened by bob
        expect(bob.get_by_text("Couldn't resume chat")).to_be_visible()  # the socket refused him
        expect(bob.get_by_text(re.compile(r"multiple-choice arithmetic"))).to_have_count(0)
        expect(bob.locator('a.inline-file[download="benchmark.jsonl"]')).to_have_count(0)
        assert bob.request.post("/project/threads", data={"pagination": {"first": 5}, "filter": {}}).json()["data"] == []
    finally:
        alice.screenshot(path=str(SCREENSHOT_COPY))
        bob.screenshot(path=str(BOB_SCREENSHOT))
        alice_context.close()
        bob_context.close()
