"""The periodic re-verification (CSAR Art. 46(7)), run as its periodic job: every active indicator
is still backed by a submission that stands (an indicator without one, or whose authority is
suspended, is recorded as not confirmed), and URL indicators are fetched (a URL the host took down
is recorded as gone), and a sample of the URL list is fetched again. The run and a history row per indicator found wanting are recorded;
no status changes by itself."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    AuditRecord,
    Indicator,
    IndicatorHistory,
    IndicatorVerificationRun,
    UrlListEntry,
    UrlListVerification,
)
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import OrgKind
from balise.domain.submissions import SubmissionChannel, check_submission, check_url_entry
from tests.conftest import make_settings
from tests.takedown_support import demo_site

TEST = Actor.system("test")


def test_a_run_records_what_is_no_longer_confirmed_or_no_longer_served(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, fetch_allow_networks="127.0.0.1/32"))
    with demo_site() as site:
        live = site.serve("/live.html", b"<p>DEMO page</p>", "text/html")
        dead = site.serve("/dead.html", b"<p>DEMO page</p>", "text/html")
        with app.db.transaction() as s:
            org = app.organisations.create(s, TEST, name="DEMO CA", kind=OrgKind.COORDINATING_AUTHORITY, country="FR")
            other = app.organisations.create(s, TEST, name="DEMO CA 2", kind=OrgKind.COORDINATING_AUTHORITY,
                                             country="DE")
            urls = app.submissions.submit(s, TEST, check_submission(
                reference="CA-URL-1", kind="url", authority="x",
                hashes=[{"algorithm": "url", "value": live}, {"algorithm": "url", "value": dead}]),
                channel=SubmissionChannel.API, organisation_id=org.id)
            backed = app.submissions.submit(s, TEST, check_submission(
                reference="CA-DE-9", authority="x", hashes=[{"algorithm": "md5", "value": "a" * 32}]),
                channel=SubmissionChannel.API, organisation_id=other.id)
            legacy = app.indicators.add(s, TEST, algorithm=Algorithm.MD5, value="b" * 32, kind=IndicatorKind.KNOWN_CSAM,
                                        provenance={"source": "an old list"})
            live_id, dead_id = (i.id for i in urls.created)
            app.url_list.add(s, TEST, check_url_entry(url=dead, host_country="US", refusal="DEMO: refused",
                                                     authority_non_cooperation="DEMO: no answer"))
            backed_id, legacy_id = backed.created[0].id, legacy.id
        with app.db.transaction() as s:  # the German authority is suspended: its hashes are not confirmed now
            app.organisations.suspend(s, TEST, "DEMO CA 2", "DEMO: mandate ended")
        site.take_down("/dead.html")
        app.periodic.handlers()["periodic.indicators.verify"]({})
    with app.db.sessions() as s:
        run = s.execute(select(IndicatorVerificationRun)).scalar_one()
        assert (run.checked, run.confirmed, run.unconfirmed) == (4, 2, 2)
        assert (run.urls_checked, run.urls_live, run.urls_gone) == (2, 1, 1)
        assert sorted((p["indicator"], p["problem"]) for p in run.problems) == sorted(
            [(backed_id, "not_confirmed"), (legacy_id, "not_confirmed"), (dead_id, "url_gone")])
        verified = {h.indicator_id: h.detail for h in s.execute(
            select(IndicatorHistory).where(IndicatorHistory.action == "verified")).scalars()}
        assert verified == {backed_id: {"hash_confirmed": False}, legacy_id: {"hash_confirmed": False},
                            dead_id: {"hash_confirmed": True, "url": "gone"}}
        assert {i.status for i in s.execute(select(Indicator)).scalars()} == {"active"}  # staff decide
        event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "indicator:verify")).scalar_one()
        assert event.details["urls_gone"] == 1 and live_id not in verified
        # The URL list's sample is checked in the same run.
        sample = s.execute(select(UrlListVerification)).scalar_one()
        assert (sample.population, sample.gone) == (1, 1)
        assert s.execute(select(UrlListEntry.last_outcome)).scalar_one() == "gone"
    app.close()
