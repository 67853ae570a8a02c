"""In real headless Chromium against a real `balise serve` seeded with `balise demo`, the DEMO
auditor reads the measured error rates in English then in French: figures that are not empty
(confirmed, overturned and undecided items over several months), rates with their interval,
"not enough decisions" where there are fewer than ten, a drift chart with bars; words, never a
raw code, a Python repr, True, False or None. A month that is not a month is refused, said so."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from balise.demo import DEMO_PASSWORD
from tests.cli_support import run_cli
from tests.page_words import check_words
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")
CODES = ("md5", "sha256", "pdq:0", "pdq:1-10", "pdq:11-20", "pdq:21-31", "provider_flag", "any_indicator",
         "balise_assessment", "cannot_assess", "unassessed")


def run(env, *args):
    r = run_cli(env, *args)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture
def server(tmp_path, db_url):
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium)"
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    run(env, "db", "upgrade")
    run(env, "demo")
    with running_server(env) as (base, _):
        yield base, env


def _cells(page, caption: str) -> dict[str, list[str]]:
    table = page.locator("table.error-rates", has=page.locator("caption", has_text=caption))
    rows = {}
    for tr in table.locator("tbody tr").all():
        cells = [c.strip() for c in tr.locator("th, td").all_inner_texts()]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.e2e
def test_the_auditor_reads_the_demo_error_rates_in_words_in_english_and_french(server):
    from playwright.sync_api import sync_playwright

    base, env = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{base}/ui/login")
        page.fill("#username", "demo-auditor")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui/login/totp")
        page.fill("#code", run(env, "user", "totp-code", "demo-auditor").strip())
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui/")
        page.click("nav >> text=Error rates")
        page.wait_for_url(f"{base}/ui/error-rates")
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "11-error-rates.png"), full_page=True)
        check_words(page.content(), "error rates (en)", CODES)
        routes = _cells(page, "By detection route")
        # Confirmed, overturned, could not assess, not decided yet, rate, interval.
        md5 = routes["exact hash: MD5"]
        assert int(md5[0]) >= 10 and int(md5[1]) >= 1
        assert re.fullmatch(r"\d+\.\d\s%", md5[4]) and re.fullmatch(r"\d+\.\d\s% to \d+\.\d\s%", md5[5])
        assert routes["PDQ, distance 0"][4].startswith("not enough decisions (")
        assert sum(int(r[3]) for r in routes.values()) > 0  # items nobody decided yet
        assert "the provider's own flag, no indicator match" in routes
        sources = _cells(page, "By indicator source")
        assert set(sources) >= {"DEMO Coordinating Authority France", "DEMO Tribunal judiciaire de Paris"}
        first_chart = page.locator("svg.drift-chart").first
        assert first_chart.get_attribute("aria-label") == (
            "Rate of false matches per month for any indicator match (each item once)")
        assert first_chart.locator("rect").count() == 12  # the last 12 months, by default
        months_with_a_rate = first_chart.locator("rect[fill='#2b6cb0']").count()
        assert months_with_a_rate >= 5, "the DEMO history gives months with enough decisions"
        assert "Not enough decisions in any single month for: exact hash: MD5;" in page.inner_text("main")

        page.goto(f"{base}/ui/error-rates?since=2026-13&until=2026-10")
        assert "2026-13 is not a month such as 2026-07" in page.inner_text("p.error")

        page.goto(f"{base}/ui/settings")
        page.select_option("#locale", "fr")
        page.click("form.card button[type=submit]")
        page.wait_for_selector("p.ok")
        page.goto(f"{base}/ui/error-rates")
        text = check_words(page.content(), "error rates (fr)", CODES)
        assert "Taux d'erreur mesurés" in text and "Par voie de détection" in text
        routes = _cells(page, "Par voie de détection")
        assert routes["PDQ, distance 0"][4].startswith("pas assez de décisions (")
        assert re.fullmatch(r"de \d+\.\d\s% à \d+\.\d\s%", routes["empreinte exacte : MD5"][5])
        browser.close()
