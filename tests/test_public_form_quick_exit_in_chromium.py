"""In real headless Chromium against a real `balise serve`: the public form's "Quick exit"
button, in the page's language, replaces the form with the neutral page so that Back does not
return to it (location.replace); Esc pressed three times does the same; without JavaScript the
button is a plain link to the neutral page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import run_cli
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server


# One server and one browser for the module: the tests only read public pages (each opens its
# own browser context, so no history or storage is shared between them).
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium; `make test` installs it)"
    env = clean_env(tmp_path_factory.mktemp("quick-exit") / "data", BALISE_INDEX_REFRESH_SECONDS="0")
    assert run_cli(env, "db", "upgrade").returncode == 0
    with running_server(env) as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_form(browser, base, lang, javascript=True):
    page = browser.new_context(viewport={"width": 400, "height": 800}, java_script_enabled=javascript).new_page()
    # A page before the form, so that Back has somewhere to go.
    page.goto(f"{base}/weather?before")
    page.goto(f"{base}/report/{lang}")
    return page


@pytest.mark.e2e
@pytest.mark.parametrize(("lang", "label"), [("en", "Quick exit"), ("fr", "Quitter vite"), ("de", "Schnell weg")])
def test_the_button_is_translated_and_in_view_at_the_top(server, browser, lang, label):
    page = open_form(browser, server, lang)
    button = page.locator("a.quick-exit")
    assert button.inner_text() == label
    page.mouse.wheel(0, 2500)
    # Polled from the test: wait_for_function's string predicate is eval'd in the page, which
    # the public pages' CSP (no 'unsafe-eval') refuses.
    for _ in range(100):
        if page.evaluate("window.scrollY") > 1000:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.scrollY") > 1000
    # Sticky: still on screen, at the top, after scrolling far down the form.
    box = button.bounding_box()
    assert box is not None and 0 <= box["y"] < 5


@pytest.mark.e2e
def test_clicking_quick_exit_replaces_the_form_in_the_history(server, browser):
    page = open_form(browser, server, "fr")
    length = page.evaluate("history.length")
    page.click("a.quick-exit")
    page.wait_for_url(f"{server}/weather")
    assert page.inner_text("h1") == "Weather"
    assert page.evaluate("history.length") == length  # replaced, not pushed
    page.go_back()
    page.wait_for_url(f"{server}/weather?before")  # Back skips the form


@pytest.mark.e2e
def test_escape_three_times_leaves_and_once_does_not(server, browser):
    page = open_form(browser, server, "de")
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url == f"{server}/report/de"
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{server}/weather")
    page.go_back()
    page.wait_for_url(f"{server}/weather?before")


@pytest.mark.e2e
def test_without_javascript_it_is_a_plain_link_to_the_neutral_page(server, browser):
    page = open_form(browser, server, "en", javascript=False)
    page.click("a.quick-exit")
    page.wait_for_url(f"{server}/weather")
    assert page.inner_text("h1") == "Weather"
