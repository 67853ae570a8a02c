"""The transparency report's error-rate tables (per detection route and per indicator source)
carry the counts, false-match rate and Wilson interval that can be worked out by hand from
tests/error_rates_support.py, on SQLite and PostgreSQL; small counts are withheld like every
other count of the report; the rate needs ten decisions; the stored monthly figures, summed,
give exactly what counting the items gives, and a month the nightly job never stored is counted
when the report is built. The public page, the CSV and the PDF show it all in words."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from pypdf import PdfReader
from sqlalchemy import delete

from balise.accounts.actors import Actor
from balise.adapters.db.models import ErrorRateFigure
from balise.container import Balise
from balise.domain.audit import AuditEvent
from balise.domain.error_rates import wilson_interval
from balise.domain.transparency import NOT_ENOUGH, SUPPRESSED
from tests import error_rates_support as support
from tests import transparency_support as data


@pytest.fixture
def app(settings) -> Iterator[tuple[Balise, data.Clock]]:  # type: ignore[no-untyped-def]
    clock = data.Clock(data.FIRST_EVENT)
    balise = Balise(settings, clock=clock)
    with balise.db.transaction() as session:
        balise.audit.record(session, AuditEvent.ORG_CREATE, Actor.system("test"), "organisation", "seed",
                            "hand-built data")
    clock.now = data.NOW
    support.three_months(balise)
    yield balise, clock
    balise.close()


def _report(balise: Balise, threshold: int = 10):  # type: ignore[no-untyped-def]
    from balise.governance.transparency import Transparency

    with balise.db.sessions() as session:
        return Transparency(balise.clock, threshold).build(session, 2026)


def _rows(report, key):  # type: ignore[no-untyped-def]
    return {row.keys[0]: (row.values, row.withheld) for row in report.table(key).rows}


def _pct(overturned: int, decided: int) -> tuple[float, float, float]:
    low, high = wilson_interval(overturned, decided)
    return round(100 * overturned / decided, 1), round(100 * low, 1), round(100 * high, 1)


def test_counts_rate_and_interval_per_route_and_source(app):
    balise, _ = app
    # Threshold 1: nothing is withheld, so every count can be compared with the hand count.
    r = _report(balise, threshold=1)
    routes = _rows(r, "error_rates")
    # MD5: September 5 + 3 confirmed, 1 + 1 overturned, 1 waiting; October 4 confirmed, 1 overturned.
    assert routes["md5"] == ((12, 3, 0, 1, *_pct(3, 15)), (None,) * 7)
    # Every indicator match once: 16 MD5, 6 PDQ, 1 SHA-256 items.
    assert routes["any_indicator"] == ((16, 5, 1, 1, *_pct(5, 21)), (None,) * 7)
    assert routes["pdq:21-31"] == ((3, 2, 0, 0, None, None, None), (None,) * 4 + (NOT_ENOUGH,) * 3)
    assert routes["pdq:0"][0][:4] == (0, 0, 1, 0)
    assert routes["provider_flag"][0][:4] == (1, 2, 0, 0) and routes["public_report"][0][:4] == (1, 0, 0, 0)
    assert list(routes) == ["any_indicator", "md5", "sha256", "pdq:0", "pdq:21-31", "provider_flag", "public_report"]
    sources = _rows(r, "error_rates_by_source")
    assert sources["list A"][0] == routes["md5"][0]
    assert sources["list B"][0][:4] == (3, 2, 1, 0) and sources["balise_assessment"][0][:4] == (1, 0, 0, 0)
    assert r.table("error_rates").note is None and r.table("error_rates_by_source").note is None
    # Nothing was stored by the nightly job: everything was counted now.
    assert r.error_rates_as_of is None


def test_small_counts_are_withheld_but_the_rate_over_enough_decisions_is_given(app):
    balise, _ = app
    routes = _rows(_report(balise, threshold=10), "error_rates")
    values, withheld = routes["md5"]
    # 12 confirmed shown; 3 overturned and 1 waiting withheld; 0 shown (a zero points at nobody);
    # the rate is over 15 decisions, as many as the report's shares need.
    assert values == (12, None, 0, None, *_pct(3, 15))
    assert withheld == (None, SUPPRESSED, None, SUPPRESSED, None, None, None)
    # 21 decisions, fewer than a threshold of 25: the rate is withheld with them.
    values, withheld = _rows(_report(balise, threshold=25), "error_rates")["any_indicator"]
    assert values == (None,) * 7 and withheld == (SUPPRESSED,) * 7


def test_stored_monthly_figures_summed_equal_counting_the_items(app):
    from balise.governance.error_rates import ErrorRates

    balise, clock = app
    counted = _report(balise, threshold=1)
    with balise.db.transaction() as session:
        ErrorRates(clock, months=12).store_recent(session)
    clock.now = data.NOW + timedelta(hours=1)
    # Decided after the nightly run: the report shows the figures as of that run.
    support.item(balise, support.NOV, outcome="not_illegal", assessment_source="analyst")
    summed = _report(balise, threshold=1)
    assert summed.error_rates_as_of == data.NOW
    for key in ("error_rates", "error_rates_by_source"):
        assert _rows(summed, key) == _rows(counted, key), key
    # A month the job did not store (October) is counted when the report is built.
    with balise.db.transaction() as session:
        session.execute(delete(ErrorRateFigure).where(ErrorRateFigure.period_start == support.OCT))
    mixed = _rows(_report(balise, threshold=1), "error_rates")
    assert mixed == _rows(counted, "error_rates")


def test_no_decision_at_all_says_not_measured(settings):  # type: ignore[no-untyped-def]
    clock = data.Clock(data.NOW)
    balise = Balise(settings, clock=clock)
    try:
        data.seed(balise, clock)
        r = _report(balise)
        table = r.table("error_rates")
        # Items are there, none decided by an analyst: counted as waiting, no rate.
        assert table.note == "error_rates_not_measured"
        assert _rows(r, "error_rates")["public_report"] == ((0, 0, 0, 11, None, None, None),
                                                            (None,) * 4 + (NOT_ENOUGH,) * 3)
        assert r.table("error_rates_by_source").rows == ()
    finally:
        balise.close()


WORDS = {
    "en": ("Error rates of detection, by route", "Exact hash: MD5", "Picture similarity (PDQ), distance 21 to 31",
           "not enough decisions", "False matches (%)", "This centre's assessments (four eyes)", "list A", "20.0"),
    "fr": ("Taux d’erreur de la détection, par voie", "Empreinte exacte : MD5",
           "Similarité d’image (PDQ), distance de 21 à 31", "pas assez de décisions", "Fausses correspondances (%)",
           "Évaluations de ce centre (quatre yeux)", "list A", "20,0"),
    "de": ("Fehlerquoten der Erkennung, nach Weg", "Exakter Hash: MD5", "Bildähnlichkeit (PDQ), Abstand 21 bis 31",
           "nicht genug Entscheidungen", "Falsche Treffer (%)", "Bewertungen dieses Zentrums (Vier-Augen-Prinzip)",
           "list A", "20,0"),
}
CODES = ("any_indicator", "pdq:", "provider_flag", "balise_assessment", "not_enough_decisions", "error_rates_by_source",
         "cannot_assess", "false_match_rate")


def _shown(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r'(src|href|id|class|alt)="[^"]*"', "", html)))


def test_public_page_shows_the_error_rates_in_words(app, tmp_path, settings):
    from tests.real_server_support import served

    balise, _ = app
    balise.close()
    import httpx

    with served(tmp_path, settings.database_url) as (host, port), \
            httpx.Client(base_url=f"http://{host}:{port}", timeout=60) as http:
        for lang, words in WORDS.items():
            r = http.get(f"/transparency/{lang}/2026")
            assert r.status_code == 200, r.text[:500]
            shown = _shown(r.text)
            for word in words:
                assert word in shown, (lang, word)
            for code in CODES:
                assert code not in shown, (lang, code)


def test_csv_and_pdf_carry_the_error_rates(app):
    from balise.web.public.transparency import build_files

    balise, _ = app
    files = build_files(_report(balise), "en")
    csv = files["csv/error_rates.csv"].decode("utf-8").splitlines()
    assert csv[0] == "detection_route,confirmed,overturned,cannot_assess,unassessed,false_match_rate,ci_low,ci_high"
    assert "md5,12,fewer than 10,0,fewer than 10,20.0,{},{}".format(*_pct(3, 15)[1:]) in csv
    assert any(line.startswith("pdq:21-31,") and line.endswith("not enough decisions") for line in csv)
    assert files["csv/error_rates_by_source.csv"].decode("utf-8").splitlines()[0].startswith("indicator_source,")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(files["transparency-2026-en.pdf"])).pages)
    text = re.sub(r"\s+", " ", text)
    for word in ("Error rates of detection, by route", "Exact hash: MD5", "not enough decisions"):
        assert word in text, word


def test_chart_draws_the_rate_of_each_route_with_enough_decisions(app):
    from balise.web.public import i18n
    from balise.web.public.transparency import chart_svg

    balise, _ = app
    report = _report(balise)
    i18n.activate("fr")
    svg = chart_svg(report.table("error_rates"), report.threshold, "fr")
    assert svg is not None and "Empreinte exacte : MD5" in svg and "Exact hash" not in svg
    # PDQ 21 to 31 has five decisions: no rate, so no bar.
    assert "distance de 21 à 31" not in svg and "pdq:" not in svg
    i18n.activate("en")
