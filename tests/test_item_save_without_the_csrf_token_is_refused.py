"""An item's save asked for as a fragment (what the report page's script sends) passes the same
CSRF guard as the plain form: without the token, or with a wrong one, it is refused with 403 and
nothing is saved."""

from __future__ import annotations

import re

import pytest

from tests.assessment_support import file_report, sign_in, stored, workbench
from tests.servers import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.e2e
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fragment_save_without_or_with_a_wrong_csrf_token_is_refused(tmp_path, db_url):
    from playwright.sync_api import sync_playwright

    with workbench(tmp_path, db_url) as (base, key, env):
        rid = file_report(base, key, pictures=1, seed=8100)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            sign_in(page, base, env)
            page.goto(f"{base}/ui/queue")
            page.click(f"tr[data-report='{rid}'] button.claim")
            page.wait_for_url(re.compile(rf".*/ui/reports/{rid}.*"))
            item = page.get_attribute("article#item-1", "data-item")
            for headers in ({"x-balise-fragment": "item"}, {"x-balise-fragment": "item", "x-csrftoken": "forged"}):
                answer = page.request.post(f"{base}/ui/items/{item}/assess", headers=headers,
                                           form={"revision": "0", "outcome": "illegal"})
                assert answer.status == 403, headers
                assert answer.headers.get("x-balise-fragment") is None
            browser.close()
        assert stored(db_url, rid)[1][0].outcome is None
