"""What a researcher sees, in a real browser: the starters (with their icons) and a document starter that asks for
its file and goes on once it is attached; previews shown as questions with their verdicts; the charts under a
finished build. The second test also takes the README's two screenshots (docs/plan-card.png,
docs/finished-build.png): written to docs/ only with UPDATE_SCREENSHOTS=1, elsewhere to the test's own folder, and
never compared pixel by pixel (fonts and timing differ between machines)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from assistant.render import CONFIRM_LABELS  # not assistant.app: importing chainlit here writes .files/
from tests.e2e.conftest import REPO, AppServer
from tests.tools.sources.fixtures import write_image

pytestmark = pytest.mark.slow

WAIT = 60_000  # ms for what the server does (a model call, a step): the machine may be busy
DOCS = REPO / "docs"
SHOTS = ("plan-card.png", "finished-build.png")
# The starters as app.STARTERS has them (label -> icon); importing assistant.app here would write .files/.
STARTER_LABELS = ("Harder than GSM8K", "Geography quiz", "Logic with yes/no", "Python functions",
                  "Questions on a document", "Questions about images", "Something vague")


def _starter(page: Page, label: str) -> Locator:
    return page.locator(f"[id='starter-{label.lower().replace(' ', '-')}']")  # Chainlit's id; "/" is no CSS id


def test_a_document_starter_asks_for_the_document_and_goes_on_once_it_is_attached(
        page: Page, app_server: AppServer, tmp_path: Path) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=WAIT)  # the welcome, beside the starters
    for label in STARTER_LABELS:  # each label shows, with its icon loaded
        starter = _starter(page, label)
        expect(starter).to_contain_text(label)
        icon = starter.locator("img")
        expect(icon).to_have_attribute("src", re.compile(r"/public/starters/\w+\.svg$"))
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=icon.element_handle())

    _starter(page, "Questions on a document").click()
    expect(page.get_by_text(re.compile(r"Attach the document .*kept your request")).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(re.compile(r"\.pdf .*\.docx")).first).to_be_visible()
    expect(page.get_by_text("Spec", exact=True)).to_have_count(0)  # nothing planned before the file is read

    notes = tmp_path / "harbour-notes.md"
    notes.write_text("# Harbours\n\nThe old harbour of Tarn was dredged in 1871 to take steamers. Its lighthouse, "
                     "built in 1880, stands on the north mole and was lit by paraffin until 1931.\n", encoding="utf-8")
    page.locator('input[type="file"]').first.set_input_files(str(notes))
    expect(page.get_by_text("harbour-notes.md").first).to_be_visible()
    expect(page.locator("#chat-submit")).to_be_enabled(timeout=WAIT)  # the upload finished
    page.locator("#chat-submit").click()  # the file alone, no words

    expect(page.get_by_text(re.compile(r"Going on with your request")).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Spec", exact=True).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("cell", name="Needs the material", exact=True)).to_be_visible()


def test_an_images_starter_asks_for_the_images_and_goes_on_with_them_and_the_words_sent_with_them(
        page: Page, app_server: AppServer, tmp_path: Path) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=WAIT)
    _starter(page, "Questions about images").click()
    expect(page.get_by_text(re.compile(r"Attach the images .*images \.png \.jpg \.jpeg \.webp")).first).to_be_visible(
        timeout=WAIT)
    charts = [write_image(tmp_path / f"chart{n}.png", "PNG", text=f"Chart {n}: {n * 40} units") for n in (1, 2)]
    page.locator('input[type="file"]').first.set_input_files([str(c) for c in charts])
    page.locator("#chat-input").fill("make them hard")
    expect(page.locator("#chat-submit")).to_be_enabled(timeout=WAIT)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"Going on with your request: 8 multiple-choice questions about the attached "
                                       r"images .* make them hard")).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(re.compile(r"chart1\.png.*chart2\.png|chart2\.png.*chart1\.png")).first).to_be_visible()
    expect(page.get_by_role("cell", name="Needs the material", exact=True)).to_be_visible(timeout=WAIT)


def _screenshot(page: Page, target: Locator, name: str, tmp_path: Path, start: Locator | None = None) -> None:
    """One README screenshot of `target` (from `start` down, when given), on a page large enough to show all of it
    above the message box; docs/ is written only when asked, so a test run never changes the checkout."""
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    width, height = 1600, 6000
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(1000)  # the chat lays itself out again at the new size
    page.locator("#chat-input").focus()  # the chat scrolls to its end: the card is the last message
    page.keyboard.press("End")
    box, first = target.bounding_box(), (start or target).bounding_box()
    assert box is not None and first is not None
    top = max(first["y"] - 12, 0)
    bottom = min(box["y"] + box["height"] + 12, height)
    clip = {"x": max(box["x"] - 12, 0), "y": top, "width": box["width"] + 24, "height": bottom - top}
    path = folder / name
    page.screenshot(path=str(path), clip=clip, animations="disabled", caret="hide")  # type: ignore[arg-type]
    page.set_viewport_size({"width": 1100, "height": 1400})
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000


def _card(page: Page, text: str | re.Pattern[str]) -> Locator:
    """The message that holds `text` (the card), as Chainlit lays it out: one `.step` per message."""
    return page.locator("div.step").filter(has=page.get_by_text(text, exact=isinstance(text, str))).last


def test_previews_show_as_questions_and_a_finished_build_shows_its_charts(
        page: Page, app_server: AppServer, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1100, "height": 1400})
    page.goto(app_server.url + "/")
    expect(page.get_by_text("openai:fake-model").first).to_be_visible(timeout=WAIT)
    page.locator("#chat-input").fill("8 multiple-choice arithmetic word problems")
    page.keyboard.press("Enter")
    page.get_by_role("button", name=CONFIRM_LABELS["spec_ready"]).click(timeout=WAIT)
    expect(page.get_by_role("cell", name="total")).to_be_visible(timeout=WAIT)
    _screenshot(page, _card(page, "Plan"), SHOTS[0], tmp_path)

    page.get_by_role("button", name="Preview samples").click()
    first = _card(page, re.compile(r"^Preview 1 · "))
    expect(first).to_be_visible(timeout=WAIT)
    expect(first.locator("span.font-bold", has_text="Q1.")).to_be_visible()  # Chainlit renders bold as a span
    expect(first.locator("li")).to_have_count(4 + 3)  # four lettered options, one a line, then three check verdicts
    for letter in "ABCD":
        expect(first.locator("li span.font-bold", has_text=f"{letter}.")).to_have_count(1)
    expect(first.get_by_text(re.compile(r"^Answer: [A-D]\. "))).to_be_visible()
    expect(first.get_by_text(re.compile(r"^Why: "))).to_be_visible()
    expect(first.locator("li", has_text=re.compile(r"^✅ (leakage|inspector|solver): passed"))).to_have_count(3)
    expect(first.get_by_role("button", name="Accept")).to_be_visible()

    page.get_by_role("button", name=CONFIRM_LABELS["planned"]).click()
    jsonl = page.locator('a.inline-file[download="benchmark.jsonl"]')
    failure = page.get_by_text(re.compile(r"The step failed unexpectedly|The build failed"))
    expect(jsonl.or_(failure).first).to_be_visible(timeout=180_000)
    if failure.count():
        pytest.fail(f"the build failed in the browser: {failure.first.inner_text()}")
    card = _card(page, re.compile(r"8/8 samples, complete"))
    charts = card.locator(".js-plotly-plot")
    expect(charts).to_have_count(2, timeout=WAIT)  # in either order: Chainlit sends a message's elements concurrently
    expect(charts.filter(has_text=re.compile(r"\d+ candidates: 8 accepted, \d+ dropped"))).to_have_count(1)
    positions = charts.filter(has_text="Answer positions over 8 multiple-choice items")
    expect(positions).to_have_count(1)
    expect(positions).to_contain_text("uniform share")
    expect(card.get_by_role("columnheader", name="top drop reasons")).to_be_visible()  # the checks table beside them
    _screenshot(page, card, SHOTS[1], tmp_path, start=card.get_by_text(re.compile(r"^Build \S+: 8/8 samples")))


def test_the_readme_screenshots_are_committed() -> None:
    for name in SHOTS:
        path = DOCS / name
        assert path.read_bytes().startswith(b"\x89PNG"), f"{path} is missing: UPDATE_SCREENSHOTS=1 makes it"
        assert f"docs/{name}" in (REPO / "README.md").read_text(encoding="utf-8")
