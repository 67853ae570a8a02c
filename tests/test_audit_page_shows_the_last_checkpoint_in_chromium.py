"""An auditor's audit page, in real headless Chromium against a real `balise serve`, says in
words (English, then French) whether and when the last checkpoint was written, which event and
access log batch it covers, and whether a time-stamping authority timestamped it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import run_cli
from tests.page_words import check_words
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server
from tests.tsa_server import local_tsa

PASSWORD = "a long enough password"


def run(env, *args, input=None):  # type: ignore[no-untyped-def]
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


def audit_text(page, base: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/ui/audit")
    return " ".join(check_words(page.content(), "audit page", []).split())


@pytest.mark.e2e
def test_the_audit_page_tells_the_last_checkpoint_in_words(tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium)"
    # No job runner in the server: its periodic checkpoint would be written at start.
    env = clean_env(tmp_path / "data", BALISE_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
                    BALISE_RUN_JOBS_IN_SERVER="false")
    run(env, "db", "upgrade")
    run(env, "user", "create", "aud", "--role", "auditor", "--password-stdin", input=PASSWORD + "\n")
    with running_server(env) as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/ui/login")
        page.fill("#username", "aud")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui/login/totp")
        page.fill("#code", run(env, "user", "totp-code", "aud").strip())
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui/")

        assert "No checkpoint has been written yet." in audit_text(page, base)

        with local_tsa() as tsa:
            out = run({**env, "BALISE_TSA_URL": tsa.url}, "audit", "checkpoint")
        event = int(out.split("audit event ")[1].split(",")[0])
        text = audit_text(page, base)
        assert f"It covers the audit trail up to event {event} and the match access log up to batch 0." in text
        assert "A time-stamping authority timestamped it." in text

        page.goto(f"{base}/ui/settings")
        page.select_option("#locale", "fr")
        page.click("form.card button[type=submit]")
        page.wait_for_selector("p.ok")
        text = audit_text(page, base)
        assert f"journal d’audit jusqu’à l’événement {event}" in text
        assert "Une autorité d’horodatage l’a horodaté." in text
        browser.close()
