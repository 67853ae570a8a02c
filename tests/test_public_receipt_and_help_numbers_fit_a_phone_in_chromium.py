"""The public pages on a phone (390 × 844) in real headless Chromium against `balise serve`: the
child helpline and emergency numbers are in a strip under the header, within the first screen
(on a wide screen only the footer has them); on the receipt the report number and secret code
each stay on one line, and their Copy buttons put them on the clipboard and say so in the
page's language. Without JavaScript the buttons are not there and the values stay selectable
text. The scripts are the site's own files (the page's CSP allows nothing else)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli_support import run_cli
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required"
    env = clean_env(tmp_path / "data", BALISE_INDEX_REFRESH_SECONDS="0")
    assert run_cli(env, "db", "upgrade").returncode == 0
    with running_server(env) as (base, _):
        yield base


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def report(page, base: str, lang: str) -> None:
    page.goto(f"{base}/report/{lang}")
    page.fill("#url", "https://benign.example.test/demo-phone")
    page.fill("#description", "DEMO: a strange page.")
    page.check("#what-pictures")
    page.click("form.report button[type=submit]")
    page.wait_for_selector("#report-number")


def one_line(page, selector: str) -> bool:
    """The element is laid out on one line: one box, no taller than its line height."""
    return page.eval_on_selector(selector, """el => {
        const rects = el.getClientRects();
        const line = parseFloat(getComputedStyle(el.parentElement).lineHeight);
        return rects.length === 1 && el.getBoundingClientRect().height <= line + 1
            && getComputedStyle(el).whiteSpace === "nowrap";
    }""")


@pytest.mark.e2e
def test_help_strip_receipt_and_copy_buttons_on_a_phone(server):
    from playwright.sync_api import expect, sync_playwright

    base = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True)
        page = context.new_page()
        errors: list[str] = []
        # (The browser's own request for /favicon.ico, which the public pages do not name, is not theirs.)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.location.get("url", "").endswith("/favicon.ico") else None)
        answer = page.goto(f"{base}/report/de")
        assert "script-src" not in answer.headers["content-security-policy"]
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        strip = page.locator("aside.help-strip")
        assert strip.is_visible()
        assert " ".join(strip.inner_text().split()) == "Kinder-Hilfetelefon 116 111 Notruf 112"
        box = strip.bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], box
        assert [page.get_attribute(f"aside.help-strip a >> nth={i}", "href") for i in (0, 1)] == ["tel:116111", "tel:112"]
        shot(page, "public-04-phone-form-de")

        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.goto(f"{base}/report/fr")
        report(page, base, "fr")
        number = page.inner_text("#report-number")
        secret = page.inner_text("#report-secret")
        assert number.startswith("BAL-") and len(secret) == 19
        assert one_line(page, "#report-number") and one_line(page, "#report-secret")
        buttons = page.locator("button.copy")
        assert buttons.count() == 2 and buttons.nth(0).is_visible() and buttons.nth(0).inner_text() == "Copier"
        shot(page, "public-05-phone-receipt-fr")
        buttons.nth(0).click()
        # A locator assertion, not wait_for_function: a string predicate is eval'd in the page,
        # which the public pages' CSP (no 'unsafe-eval') refuses.
        expect(buttons.nth(0)).to_have_text("Copié")
        assert page.evaluate("navigator.clipboard.readText()") == number
        buttons.nth(1).click()
        expect(buttons.nth(1)).to_have_text("Copié")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        assert errors == []

        # A wide screen: the footer has the numbers, the strip is not shown.
        wide = browser.new_page(viewport={"width": 1280, "height": 900})
        wide.goto(f"{base}/report/en")
        assert not wide.locator("aside.help-strip").is_visible()
        assert wide.locator("footer.help a[href='tel:112']").is_visible()

        # Without JavaScript: no button, and the values are text to select by hand.
        plain = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        report(plain, base, "en")
        assert not plain.locator("button.copy").first.is_visible()
        assert one_line(plain, "#report-number")
        plain.dblclick("#report-number")  # selecting works on plain text; nothing blocks it
        styles = plain.eval_on_selector("#report-number", "el => getComputedStyle(el).userSelect")
        assert styles != "none"
        browser.close()
