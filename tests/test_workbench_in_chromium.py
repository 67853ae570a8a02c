"""End to end in real headless Chromium against a real `balise serve`: sign in with TOTP, open
the queue, claim, reveal (with a purpose) and re-blur an item, classify it, confirm the new indicator as a second
(senior) analyst, and see it match through POST /api/v1/match and on a fresh report."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest

from balise.demo import demo_image
from tests.browser_support import PASSWORD, sign_in
from tests.cli_support import grant_match_by_cli, run_cli
from tests.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    clean_env,
    running_server,
    wait_for,
)

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")
COMPLETE = {"signature": "DEMO-SIG", "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}},
            "user_decision": "suspend", "reported_elsewhere": {"reported": False}}


def run(env, *args, input=None):
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium; `make test` installs it)"
    env = clean_env(tmp_path / "data", BALISE_INDEX_REFRESH_SECONDS="0")
    run(env, "db", "upgrade")
    key = re.search(r"(bal_\S+)", run(env, "org", "create", "DEMO Platform", "--kind", "provider", "--country", "FR",
                                      "--scope", "reports:write", "--scope", "reports:read", "--scope", "match")).group(1)
    grant_match_by_cli(env, "DEMO Platform")
    authority = re.search(r"(bal_\S+)", run(env, "org", "create", "DEMO Authority", "--kind", "coordinating_authority",
                                            "--country", "FR", "--scope", "reports:read")).group(1)
    run(env, "user", "create", "ana", "--role", "analyst", "--password-stdin", input=PASSWORD + "\n")
    run(env, "user", "create", "sam", "--role", "senior-analyst", "--password-stdin", input=PASSWORD + "\n")
    with running_server(env) as (base, _):
        yield base, key, env, authority


def file_report(base, key, image) -> dict:
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam", "service": {"type": "hosting"},
              "awareness": {"source": "user_flag"}, "content_removed": True, "urgent": True,
              "additional_info": "DEMO report: a generated benign image.",
              "items": [{"kind": "media", "file": "photo", "filename": "demo.jpg"}], **COMPLETE}
    r = httpx.post(f"{base}/api/v1/reports", headers={"Authorization": f"Bearer {key}"},
                   data={"report": json.dumps(report)}, files={"photo": ("demo.jpg", image, "image/jpeg")})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    triaged = wait_for(lambda: httpx.get(f"{base}/api/v1/reports/{rid}", headers={"Authorization": f"Bearer {key}"})
                       .json()["state"] == "in_assessment")
    assert triaged
    return httpx.get(f"{base}/api/v1/reports/{rid}", headers={"Authorization": f"Bearer {key}"}).json()


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def derivative_width(page) -> int:
    """The natural width of the blurred view the server made (0 until it is loaded)."""
    return page.eval_on_selector("figure.media img.derivative", "img => img.complete ? img.naturalWidth : 0")


@pytest.mark.e2e
def test_assess_confirm_and_match_in_chromium(server):
    from playwright.sync_api import sync_playwright

    base, key, env, authority = server
    image = demo_image(4242, (800, 600))
    filed = file_report(base, key, image)
    pdq = filed["items"][0]["pdq"]
    assert filed["items"][0]["matched"] is False

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/ui/login")
        shot(page, "01-sign-in")
        sign_in(page, base, env, "ana")

        # Shorter re-blur delay, through the settings page.
        page.goto(f"{base}/ui/settings")
        page.fill("#reveal_seconds", "2")
        page.click("form.card button[type=submit]")
        page.wait_for_selector("p.ok")

        page.goto(f"{base}/ui/queue")
        assert "URGENT" in page.inner_text("table.queue")
        shot(page, "02-queue")
        page.click("table.queue button:has-text('Claim')")
        page.wait_for_url(re.compile(r".*/ui/reports/.*"))
        # (wait_for_function would need eval, which the page's CSP rightly forbids)
        assert wait_for(lambda: derivative_width(page) > 0)
        assert derivative_width(page) <= 320  # the small blurred PNG made by the server
        shot(page, "03-report")
        page.eval_on_selector("article.item", "el => el.scrollIntoView({block: 'start'})")
        shot(page, "04-item-blurred")

        page.select_option("figure.media select.purpose", "age")
        page.click("button.reveal")
        page.wait_for_selector("figure.media.revealed img.unblurred")
        assert wait_for(lambda: page.eval_on_selector("img.unblurred", "img => img.complete ? img.naturalWidth : 0") == 800)
        page.wait_for_selector("figure.media:not(.revealed)", timeout=10_000)  # re-blurred by itself
        assert page.query_selector("img.unblurred") is None and derivative_width(page) > 0

        page.select_option("select[name=ncmec_category]", "A2")
        page.click("article.item >> nth=0 >> button[name=outcome][value=illegal]")
        page.wait_for_selector("p.ok")
        assert "illegal" in page.inner_text("article.item")
        page.click("form.logout button")
        page.wait_for_url(f"{base}/ui/login")

        sign_in(page, base, env, "sam")
        page.goto(f"{base}/ui/candidates")
        # One entry for the item (not one per hash), its blurred picture loaded without a claim.
        assert len(page.query_selector_all("article.awaiting")) == 1
        assert "PDQ" in page.inner_text("article.awaiting") and "SHA-256" in page.inner_text("article.awaiting")
        assert wait_for(lambda: page.eval_on_selector("article.awaiting img.derivative",
                                                      "img => img.complete ? img.naturalWidth : 0") > 0)
        shot(page, "05-candidates")
        while page.query_selector("form[action$='/confirm'] button"):
            page.click("form[action$='/confirm'] button")
            page.wait_for_selector("p.ok")
        browser.close()

    def matches() -> list:
        return httpx.post(f"{base}/api/v1/match", headers={"Authorization": f"Bearer {key}"},
                          json={"hashes": [{"type": "pdq", "value": pdq}]}).json()["results"][0]["matches"]

    # Four eyes make the hash a candidate awaiting a coordinating authority (CSAR Art. 36(3)):
    # it matches nothing until the authority's submission confirms it.
    assert matches() == []
    confirmed = httpx.post(f"{base}/api/v1/submissions", headers={"Authorization": f"Bearer {authority}"}, json={
        "reference": "DEMO-CA-2026-001", "process": "authority_confirmation", "kind": "new_csam",
        "hashes": [{"algorithm": "pdq", "value": pdq}]})
    assert confirmed.status_code == 201, confirmed.text
    assert wait_for(lambda: bool(matches()))
    match = matches()
    assert match[0]["kind"] == "new_csam" and match[0]["classification"] == {"ncmec_category": "A2"}
    fresh = file_report(base, key, image)
    assert fresh["items"][0]["matched"] is True
