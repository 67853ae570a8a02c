"""The access grants page in headless Chromium against `balise serve`: an administrator enters
a download request on an organisation's behalf and gives the first approval; the same
administrator cannot give the second; another one does, and the organisation's key then
matches; a revocation stops the key at the next request. A request without a purpose is refused
on the page and stores nothing. An auditor reads the page without the forms."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.browser_support import PASSWORD, sign_in
from tests.cli_support import run_cli
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server

MATCH = {"hashes": [{"type": "md5", "value": "0" * 32}]}


def run(env, *args, input=None):
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium; `make test` installs it)"
    env = clean_env(tmp_path / "data")
    run(env, "db", "upgrade")
    key = re.search(r"(bal_\S+)", run(env, "org", "create", "Hotline NL", "--kind", "hotline", "--scope", "match")).group(1)
    for name, role in (("anne", "admin"), ("ben", "admin"), ("aud", "auditor")):
        run(env, "user", "create", name, "--role", role, "--password-stdin", input=PASSWORD + "\n")
    with running_server(env) as (base, _):
        yield base, key, env


def fill_request(page, purpose: str) -> None:
    until = (datetime.now(timezone.utc) + timedelta(days=100)).date().isoformat()
    page.select_option("select[name=organisation]", label="Hotline NL")
    page.check("input[name=databases][value=known_indicators]")
    page.check("input[name=operations][value=match]")
    page.check("input[name=operations][value=download]")
    page.fill("textarea[name=purpose]", purpose)
    page.fill("input[name=legal_basis]", "hotline agreement 2026")
    page.fill("input[name=valid_until]", until)


def decide(page, grant_id: int, action: str, reason: str) -> None:
    form = f"form[action='/ui/grants/{grant_id}/{action}']"
    page.fill(f"#waiting {form} input[name=reason]" if action != "revoke" else f"{form} input[name=reason]", reason)
    page.click(f"#waiting {form} button" if action != "revoke" else f"{form} button")
    page.wait_for_selector("p.ok, p.error")


@pytest.mark.e2e
def test_grant_request_four_eyes_and_revocation_in_chromium(server):
    from playwright.sync_api import sync_playwright

    base, key, env = server
    bearer = {"Authorization": f"Bearer {key}"}
    assert httpx.post(f"{base}/api/v1/match", json=MATCH, headers=bearer).status_code == 403

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, env, "anne")
        page.click("nav >> text=Access grants")
        page.wait_for_url(f"{base}/ui/grants")

        # A blank purpose: the browser's own check is bypassed to reach the server's.
        fill_request(page, " ")
        page.eval_on_selector("section#request form", "f => f.noValidate = true")
        page.click("section#request button[type=submit]")
        assert "Nothing was stored: state the purpose" in page.inner_text("p.error")
        assert "No grant yet." in page.inner_text("section#all")

        fill_request(page, "block known material on member hosts")
        page.click("section#request button[type=submit]")
        assert "Grant 1 requested" in page.inner_text("p.ok")
        decide(page, 1, "approve", "agreement checked")
        assert "a second, different administrator" in page.inner_text("p.ok")
        assert "approved once, awaiting a second administrator" in page.inner_text("#grant-1")
        decide(page, 1, "approve", "checked again by me")
        assert "anne gave the first approval" in page.inner_text("p.error")
        assert httpx.post(f"{base}/api/v1/match", json=MATCH, headers=bearer).status_code == 403

        sign_in(page, base, env, "ben")
        page.goto(f"{base}/ui/grants")
        decide(page, 1, "approve", "second look: agreed")
        assert "Grant 1 approved." in page.inner_text("p.ok")
        assert "live" in page.inner_text("#row-1")
        r = httpx.post(f"{base}/api/v1/match", json=MATCH, headers=bearer)
        assert r.status_code == 200 and r.json()["grants"] == [1]

        decide(page, 1, "revoke", "agreement ended")
        assert "revoked by ben" in page.inner_text("#row-1")
        assert httpx.post(f"{base}/api/v1/match", json=MATCH, headers=bearer).status_code == 403

        sign_in(page, base, env, "aud")
        page.goto(f"{base}/ui/grants")
        assert "agreement ended" in page.inner_text("#row-1")
        assert page.query_selector("form[action^='/ui/grants/']") is None
        assert page.query_selector("section#request") is None
        browser.close()
