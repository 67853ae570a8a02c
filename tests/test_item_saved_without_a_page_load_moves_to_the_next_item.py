"""In real headless Chromium against a real `balise serve`: saving an item's classification on
the report page loads no page (the server answers the item's panel, the script puts it in
place), puts the focus on the next item still to classify, and the classification is in the
database; a refused save (a stale form) shows why in the panel, loads no page and saves nothing;
"forward" with "then open the next report" records the decision without a page load of its own
and opens the next report of the queue, claimed for the analyst."""

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
from tests.servers import CHROMIUM, CHROMIUM_ARGS, wait_for


def focused_item(page) -> str:
    return page.eval_on_selector("body", "b => (document.activeElement.closest('article.item') || {}).id || "
                                         "document.activeElement.id || ''")


@pytest.mark.e2e
def test_item_saved_in_place_then_decision_opens_the_next_report(tmp_path, db_url):
    from playwright.sync_api import sync_playwright

    with workbench(tmp_path, db_url) as (base, key, env):
        first = file_report(base, key, pictures=2, seed=5100, urgent=True)
        second = file_report(base, key, pictures=1, seed=5200)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, base, env)
            page.goto(f"{base}/ui/queue")
            page.click(f"tr[data-report='{first}'] button.claim")
            page.wait_for_url(re.compile(rf".*/ui/reports/{first}.*"))
            loads = MainFrameLoads(page)

            # A stale form (someone else saved the item since): refused in the panel, nothing saved.
            page.eval_on_selector("article#item-1 input[name=revision]", "el => el.value = '99'")
            page.click("article#item-1 button[name=outcome][value=illegal]")
            page.wait_for_selector("article#item-1 .item-assess p.error")
            assert "someone else" in page.inner_text("article#item-1 .item-assess p.error")
            assert loads.count == 0
            assert stored(db_url, first)[1][0].outcome is None

            page.select_option("article#item-1 select[name=ncmec_category]", "A2")
            page.click("article#item-1 button[name=outcome][value=illegal]")
            page.wait_for_selector("article#item-1 .item-assess p.ok")
            assert loads.count == 0, "saving an item loaded a page"
            assert wait_for(lambda: focused_item(page) == "item-2", seconds=5), focused_item(page)
            assert "illegal" in page.inner_text("article#item-1 .item-assess")
            assert page.query_selector("article#item-1 form.classify") is None
            saved = stored(db_url, first)[1][0]
            assert saved.outcome == "illegal" and saved.classification == {"ncmec_category": "A2"}

            page.click("article#item-2 button[name=outcome][value=not_illegal]")
            page.wait_for_selector("article#item-2 .item-assess p.ok")
            # The last picture is classified: the focus goes to the decision (the URL needs none).
            assert wait_for(lambda: focused_item(page) in ("item-3", "decision"), seconds=5)
            assert loads.count == 0
            assert [i.outcome for i in stored(db_url, first)[1]] == ["illegal", "not_illegal", None]

            with page.expect_response(re.compile(r".*/decide$")) as answer:
                page.click("form.decide button[name=decision][value=forward]")
            assert answer.value.status == 200
            assert loads.count == 0, "the decision loaded a page of its own"
            page.wait_for_url(re.compile(rf".*/ui/reports/{second}\?msg=.*"))
            assert loads.count == 1
            assert "next report in the queue" in page.inner_text("p.ok")
            browser.close()
        report, _, claim = stored(db_url, first)
        assert report.state.startswith("forwarded") and report.decided_by
        assert claim is None
        _, _, next_claim = stored(db_url, second)
        assert next_claim is not None  # claimed for the analyst who asked for the next report
