"""With JavaScript off in real headless Chromium, the report page is a set of plain forms posted
with their CSRF token: the outcome button saves the item (the page comes back with "Item
classified." and the item's assessment), the decision button records the decision and opens the
next report, and the shortcuts button (which needs the script) is not shown."""

from __future__ import annotations

import re

import pytest

from tests.assessment_support import (
    MainFrameLoads,
    file_report,
    sign_in,
    stored,
    workbench,
)
from tests.servers import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.e2e
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_outcome_and_decision_buttons_post_plain_forms_without_javascript(tmp_path, db_url):
    from playwright.sync_api import sync_playwright

    with workbench(tmp_path, db_url) as (base, key, env):
        first = file_report(base, key, pictures=1, seed=6100, urgent=True)
        second = file_report(base, key, pictures=1, seed=6200)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900}).new_page()
            sign_in(page, base, env)
            page.goto(f"{base}/ui/queue")
            page.click(f"tr[data-report='{first}'] button.claim")
            page.wait_for_url(re.compile(rf".*/ui/reports/{first}.*"))
            assert not page.is_visible("button.help-open")
            loads = MainFrameLoads(page)

            page.select_option("article#item-1 select[name=uk_category]", "B")
            page.click("article#item-1 button[name=outcome][value=illegal]")
            page.wait_for_selector("p.ok")
            assert loads.count == 1  # the plain post and its redirect: one page
            assert "Item classified." in page.inner_text("p.ok")
            assert "illegal" in page.inner_text("article#item-1 .item-assess")
            item = stored(db_url, first)[1][0]
            assert item.outcome == "illegal" and item.classification == {"uk_category": "B"}

            page.click("form.decide button[name=decision][value=forward]")
            page.wait_for_url(re.compile(rf".*/ui/reports/{second}\?msg=.*"))
            assert "next report in the queue" in page.inner_text("p.ok")
            browser.close()
        assert stored(db_url, first)[0].state.startswith("forwarded")
        assert stored(db_url, second)[2] is not None
