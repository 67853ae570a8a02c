"""The Staff accounts page and the enrolment page in headless Chromium against `balise serve`:
an administrator creates an account and gets its link (nothing secret about the user shown to
them); the new user opens the link in another browser, sets a password and the authenticator,
and signs in; the link then shows only that it does not work. The administrator disables the
user from the page (her open session ends), and is refused when disabling themself. The
visible text carries words, never codes, reprs or booleans."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest

from tests.browser_support import PASSWORD, sign_in
from tests.cli_support import run_cli
from tests.page_words import check_words
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")
CODES = ("senior-analyst", "le-liaison", "second_factor", "reports:write", "user:enrol")


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required"
    env = clean_env(tmp_path / "data", BALISE_LOGIN_RATE_LIMIT="1000/minute")
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "user", "create", "anne", "--role", "admin", "--password-stdin",
                   input=PASSWORD + "\n").returncode == 0
    with running_server(env, startup_seconds=240) as (base, _):  # a loaded 2-core machine starts slowly
        yield base, env


def text_of(page, where: str) -> str:
    return " ".join(check_words(page.content(), where, CODES).split())


@pytest.mark.e2e
def test_create_enrol_sign_in_and_disable_in_chromium(server):
    from playwright.sync_api import sync_playwright

    base, env = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        admin = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(admin, base, env, "anne")
        admin.click("nav >> text=Staff")
        admin.wait_for_url(f"{base}/ui/users")
        form = admin.locator("#create-user")
        form.locator("input[name=username]").fill("nora")
        form.locator("input[name=display_name]").fill("Nora Nilsen")
        form.locator("select[name=role]").select_option(label="senior analyst")
        form.locator("input[name=reason]").fill("joins the seniors")
        form.locator("button[type=submit]").click()
        admin.wait_for_selector("#enrolment-link")
        text = text_of(admin, "users page after create")
        assert "Enrolment link for nora" in text and "senior analyst" in text and "waiting for enrolment" in text
        link = admin.inner_text("#enrolment-link").strip()
        assert link.startswith(f"{base}/ui/enrol/")
        if SHOTS:
            admin.screenshot(path=str(Path(SHOTS) / "18-staff-accounts.png"), full_page=True)

        nora = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        nora.goto(link)
        text = text_of(nora, "enrolment page")
        assert "Set up your account" in text and "Account: nora." in text
        secret = nora.inner_text("#totp-secret").strip()
        if SHOTS:
            nora.screenshot(path=str(Path(SHOTS) / "19-enrolment.png"), full_page=True)
        nora.fill("#password", "nora's long password")
        nora.fill("#password_again", "nora's long password")
        # The code of the step before (accepted for clock drift), so that sign-in gets a fresh one.
        nora.fill("#code", pyotp.TOTP(secret).at(datetime.now(timezone.utc) - timedelta(seconds=30)))
        nora.click("button[type=submit]")
        nora.wait_for_url(f"{base}/ui/login?enrolled=1")
        assert "Your account is ready" in nora.inner_text("main")
        nora.fill("#username", "nora")
        nora.fill("#password", "nora's long password")
        nora.click("button[type=submit]")
        nora.wait_for_url(f"{base}/ui/login/totp")
        nora.fill("#code", pyotp.TOTP(secret).now())
        nora.click("button[type=submit]")
        nora.wait_for_url(f"{base}/ui/")
        nora_session = nora.context

        spent = browser.new_page()
        spent.goto(link)
        assert "This link does not work" in text_of(spent, "spent link") and secret not in spent.content()

        admin.goto(f"{base}/ui/users")
        row = admin.locator("#user-nora")
        row.locator("summary").click()
        disable = row.locator("form[action$='/disable']")
        disable.locator("input[name=reason]").fill("left the centre")
        disable.locator("button").click()
        admin.wait_for_selector("p.ok")
        assert "nora is disabled and signed out." in text_of(admin, "users page after disable")
        back = nora_session.pages[0]
        back.goto(f"{base}/ui/")
        assert back.url == f"{base}/ui/login"

        mine = admin.locator("#user-anne")
        mine.locator("summary").click()
        mine.locator("form[action$='/disable'] input[name=reason]").fill("test")
        mine.locator("form[action$='/disable'] button").click()
        admin.wait_for_selector("p.error")
        assert "you cannot disable your own account" in text_of(admin, "users page refusal")
        browser.close()
    result = run_cli(env, "user", "list", "--format", "json")
    assert '"active": false' in result.stdout and '"username": "nora"' in result.stdout
    assert re.search(r'"username": "anne",\s*"role": "admin",\s*"active": true', result.stdout)
