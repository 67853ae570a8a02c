"""End to end in real headless Chromium against a real `balise serve`: a child reports a URL
anonymously in French, writes down the number and secret, checks the status with them and
adds information; the same form loads in English and German and is usable with the keyboard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli_support import run_cli
from tests.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    clean_env,
    running_server,
)

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium; `make test` installs it)"
    env = clean_env(tmp_path / "data", BALISE_INDEX_REFRESH_SECONDS="0")
    r = run_cli(env, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    with running_server(env) as (base, _):
        yield base, tmp_path / "data"


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.e2e
def test_child_reports_in_french_and_checks_the_status_in_chromium(server):
    from playwright.sync_api import sync_playwright

    base, data_dir = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="fr-FR")
        page = context.new_page()
        outside: list[str] = []
        page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(base) else None)

        page.goto(f"{base}/report")  # Accept-Language chooses French
        page.wait_for_url(f"{base}/report/fr")
        assert page.get_attribute("html", "lang") == "fr"
        assert page.inner_text("h1") == "Signale ce que tu as vu en ligne"

        # Keyboard: the first Tab reaches the skip link, with a visible focus outline.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"

        page.fill("#url", "https://benign.example.test/demo-page")
        page.fill("#description", "DEMO : j'ai vu une page bizarre avec <b>des photos</b>.")
        page.check("#what-pictures")
        shot(page, "public-01-form-fr")
        page.click("button[type=submit]")
        page.wait_for_selector("#report-number")
        number = page.inner_text("#report-number")
        secret = page.inner_text("#report-secret")
        assert number.startswith("BAL-") and len(secret) == 19
        assert page.inner_text("h1") == "Merci. Nous avons reçu ton signalement."
        assert "<b>des photos</b>" in page.inner_text("dl.sent")  # shown as text
        shot(page, "public-02-confirmation-fr")
        # Only the CSRF cookie: no session cookie for the reporter.
        assert sorted(c["name"] for c in context.cookies()) == ["csrftoken"]

        page.click("a.button")
        page.wait_for_url(f"{base}/report/fr/status")
        page.fill("#number", "bal-" + number[4:].lower())
        page.fill("#secret", "wrong-code")
        page.click("button[type=submit]")
        page.wait_for_selector("#lookup-error")
        assert "pas trouvé" in page.inner_text("#lookup-error")
        page.fill("#number", number)
        page.fill("#secret", secret)
        page.click("button[type=submit]")
        page.wait_for_selector("#report-status")
        assert page.inner_text("#report-status") in ("Reçu", "En cours d’examen")
        page.fill("#text", "DEMO : le compte s'appelle demo_account.")
        page.click("form[action$='/status/add'] button[type=submit]")
        page.wait_for_selector("p.ok")
        shot(page, "public-03-status-fr")

        for lang, title in (("en", "Report something you saw online"), ("de", "Melde, was du im Internet gesehen hast")):
            page.goto(f"{base}/report/{lang}")
            assert page.get_attribute("html", "lang") == lang
            assert page.inner_text("h1") == title
            assert page.is_visible("label[for=url]") and page.is_visible("label[for=description]")
            shot(page, f"public-04-form-{lang}")
        browser.close()
    assert outside == []

    engine = create_engine(f"sqlite:///{data_dir / 'balise.sqlite3'}")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT p.reporter_ip, p.reporter_name, r.source, r.additional_info, i.kind, i.url "
                                "FROM public_reports p JOIN reports r ON r.id = p.report_id "
                                "JOIN items i ON i.report_id = r.id WHERE p.number = :n"), {"n": number}).one()
    engine.dispose()
    assert row.reporter_ip is None and row.reporter_name is None
    assert row.source == "public_form" and (row.kind, row.url) == ("url", "https://benign.example.test/demo-page")
    assert "demo_account" in row.additional_info
