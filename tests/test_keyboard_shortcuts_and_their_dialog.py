"""In real headless Chromium against a real `balise serve`: the queue's and the report page's
keyboard shortcuts do what the `?` dialog says, the dialog is a modal dialog that Esc closes and a
visible button also opens, and no shortcut fires while the analyst types in a text field."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.assessment_support import (
    MainFrameLoads,
    file_report,
    sign_in,
    stored,
    workbench,
)
from tests.servers import CHROMIUM, CHROMIUM_ARGS, wait_for


def active(page) -> str:
    return page.eval_on_selector("body", "b => { const e = document.activeElement; "
                                         "return (e.closest('article.item') || {}).id + '|' + e.tagName + '|' + "
                                         "(e.getAttribute('value') || '') }")


def dialog_open(page) -> bool:
    return page.eval_on_selector("dialog#shortcuts", "d => d.open")


@pytest.mark.e2e
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_shortcuts_on_the_queue_and_the_report_page(tmp_path, db_url):
    from playwright.sync_api import sync_playwright

    with workbench(tmp_path, db_url) as (base, key, env):
        rid = file_report(base, key, pictures=2, seed=7100, urgent=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, base, env)
            page.goto(f"{base}/ui/queue")

            # ? opens the list, as a modal dialog; Esc closes it; the button opens it too.
            page.keyboard.press("?")
            assert dialog_open(page)
            assert page.get_by_role("dialog").is_visible()
            assert "claim the report and open it" in page.inner_text("dialog#shortcuts")
            page.keyboard.press("Escape")
            assert not dialog_open(page)
            page.click("button.help-open")
            assert dialog_open(page)
            page.click("dialog#shortcuts button")
            assert not dialog_open(page)

            # Typing in the search field is typing, not shortcuts.
            page.click("input[name=q]")
            page.keyboard.type("jc?")
            assert page.input_value("input[name=q]") == "jc?" and not dialog_open(page)
            assert page.query_selector("tr.current") is None
            page.fill("input[name=q]", "")

            page.click("h1")
            page.keyboard.press("j")
            assert page.get_attribute("tr.current", "data-report") == rid
            with page.expect_navigation():
                page.keyboard.press("c")
            assert re.search(rf"/ui/reports/{rid}", page.url)
            assert stored(db_url, rid)[2] is not None  # c claimed it
            loads = MainFrameLoads(page)

            page.keyboard.press("?")
            assert "choose the outcome" in page.inner_text("dialog#shortcuts")
            if os.environ.get("BALISE_SCREENSHOTS_DIR"):
                page.screenshot(path=str(Path(os.environ["BALISE_SCREENSHOTS_DIR"]) / "17-shortcuts.png"))
            page.keyboard.press("Escape")
            assert not dialog_open(page)

            page.keyboard.press("j")
            assert active(page).startswith("item-1|ARTICLE")
            page.keyboard.press("j")
            assert active(page).startswith("item-2|ARTICLE")
            page.keyboard.press("k")
            assert active(page).startswith("item-1|ARTICLE")

            # In the note, keys are letters.
            page.click("article#item-1 textarea[name=note]")
            page.keyboard.type("js1?")
            assert page.input_value("article#item-1 textarea[name=note]") == "js1?"
            assert not dialog_open(page) and stored(db_url, rid)[1][0].outcome is None

            page.click("article#item-1 h3")
            page.keyboard.press("1")
            assert active(page) == "item-1|BUTTON|illegal"
            assert page.get_attribute("article#item-1 button[value=illegal]", "aria-pressed") == "true"
            page.keyboard.press("s")
            page.wait_for_selector("article#item-1 .item-assess p.ok")
            assert wait_for(lambda: active(page).startswith("item-2|"), seconds=5), active(page)
            item = stored(db_url, rid)[1][0]
            assert item.outcome == "illegal" and item.assessment_source == "analyst"

            page.keyboard.press("3")
            assert active(page) == "item-2|BUTTON|cannot_assess"
            page.keyboard.press("s")
            page.wait_for_selector("article#item-2 .item-assess p.ok")
            assert stored(db_url, rid)[1][1].outcome == "cannot_assess"

            page.keyboard.press("d")
            assert active(page) == "undefined|BUTTON|forward"
            assert loads.count == 0
            browser.close()
