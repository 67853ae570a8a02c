"""An organisation's page in headless Chromium against `balise serve`: an administrator creates a
provider, adds a contact point (a bad email refused, naming the field), issues an API key (shown
once with what it may do, in words), sees its last use after a call, revokes it (the next call
is refused), issues /ispws credentials, and suspends and reinstates the organisation. The visible
text carries words, never codes, reprs or booleans."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.browser_support import PASSWORD, sign_in
from tests.cli_support import run_cli
from tests.page_words import check_words
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")
CODES = ("reports:write", "reports:read", "law_enforcement", "org:suspend", "apikey:create")


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required"
    env = clean_env(tmp_path / "data")
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "user", "create", "anne", "--role", "admin", "--password-stdin",
                   input=PASSWORD + "\n").returncode == 0
    with running_server(env, startup_seconds=240) as (base, _):  # a loaded 2-core machine starts slowly
        yield base, env


def text_of(page, where: str) -> str:
    return " ".join(check_words(page.content(), where, CODES).split())


def submit(page, form: str, reason: str) -> None:
    page.fill(f"{form} input[name=reason]", reason)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("p.ok, p.error")


@pytest.mark.e2e
def test_organisation_contacts_keys_credentials_and_suspension_in_chromium(server):
    from playwright.sync_api import sync_playwright

    base, env = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, env, "anne")
        page.click("nav >> text=Organisations")
        page.fill("#create-organisation input[name=name]", "DEMO Host Co")
        page.select_option("#create-organisation select[name=kind]", label="provider")
        page.fill("#create-organisation input[name=country]", "NL")
        page.fill("#create-organisation input[name=contact_email]", "abuse@host.example")
        submit(page, "#create-organisation", "signed the hotline agreement")
        assert "Organisation created." in text_of(page, "new organisation")
        org_url = page.url.split("?")[0]

        page.click("text=Add a contact point")
        page.select_option("#add-contact select[name=purpose]", label="legal")
        page.fill("#add-contact input[name=phone]", "+31 20 555 0100")
        page.fill("#add-contact input[name=email]", "legal at host")
        page.eval_on_selector("#add-contact", "f => f.noValidate = true")
        submit(page, "#add-contact", "their lawyer")
        assert "email: 'legal at host' is not an email address" in text_of(page, "bad contact")
        page.click("text=Add a contact point")
        page.fill("#add-contact input[name=email]", "legal@host.example")
        page.fill("#add-contact input[name=phone]", "+31 20 555 0100")
        page.select_option("#add-contact select[name=purpose]", label="legal")
        submit(page, "#add-contact", "their lawyer")
        assert "Contact point added." in text_of(page, "contact added")

        page.click("text=Issue an API key")
        page.check("#issue-key input[value='reports:write']")
        page.check("#issue-key input[value='reports:read']")
        page.fill("#issue-key input[name=label]", "production")
        submit(page, "#issue-key", "integration starts")
        key = page.inner_text("#issued-secret").strip()
        text = text_of(page, "key issued")
        assert key.startswith("bal_") and "It may: read its reports, file reports" in text

        page.click("text=Issue credentials")
        submit(page, "#issue-ispws", "wants the NCMEC API")
        username = page.inner_text("#issued-username").strip()
        password = page.inner_text("#issued-secret").strip()
        assert httpx.get(f"{base}/ispws/status", auth=(username, password)).status_code == 200
        bearer = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/api/v1/reports/00000000-0000-0000-0000-000000000000",
                         headers=bearer).status_code == 404

        page.goto(org_url)
        text = text_of(page, "organisation page")
        assert key not in page.content() and password not in page.content()
        assert "never" not in page.inner_text(f"#key-{key.split('_')[1]}")  # used once now
        assert "never" not in page.inner_text(f"#cred-{username}")
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "20-organisation.png"), full_page=True)

        row = f"#key-{key.split('_')[1]}"
        page.click(f"{row} summary")
        submit(page, f"{row} form", "leaked in a ticket")
        assert "API key revoked" in text_of(page, "key revoked")
        assert httpx.get(f"{base}/api/v1/reports/00000000-0000-0000-0000-000000000000",
                         headers=bearer).status_code == 401

        page.click("text=Suspend this organisation")
        submit(page, "#suspend", "contract ended")
        assert "suspended since" in text_of(page, "suspended")
        assert httpx.get(f"{base}/ispws/status", auth=(username, password)).status_code == 403
        submit(page, "#reinstate", "contract renewed")
        assert "Organisation reinstated" in text_of(page, "reinstated")
        assert httpx.get(f"{base}/ispws/status", auth=(username, password)).status_code == 200
        browser.close()
    listed = run_cli(env, "org", "list", "--format", "json").stdout
    assert '"live_api_keys": 0' in listed and '"suspended_at": null' in listed
