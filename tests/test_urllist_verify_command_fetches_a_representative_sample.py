"""`balise urllist verify`: staff verify the URL list, or a representative sample of it, before a
blocking order (CSAR Art. 16, 44(1)(b)): each sampled URL is fetched again from a real HTTP
server on loopback and answers "served" or "gone"; the verification is recorded with the order's
reference, each entry keeps its last check, and it is audited. A bad sample size or reference is
refused naming it, and nothing is recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, UrlListEntry, UrlListVerification
from balise.container import Balise
from tests.cli_support import run_cli
from tests.conftest import make_settings
from tests.servers import clean_env
from tests.takedown_support import demo_site


def ok(env, *args) -> str:  # type: ignore[no-untyped-def]
    r = run_cli(env, *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def test_urllist_verify_fetches_a_sample_and_records_it(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, fetch_allow_networks="127.0.0.1/32")
    env = clean_env(settings.data_dir, BALISE_DATABASE_URL=settings.sqlalchemy_url,
                    BALISE_FETCH_ALLOW_NETWORKS="127.0.0.1/32")
    ok(env, "db", "upgrade")
    with demo_site() as site:
        urls = [site.serve(f"/g{n}.html", b"<p>DEMO gallery</p>", "text/html") for n in range(3)]
        for url in urls:
            ok(env, "urllist", "add", url, "--host-country", "US",
               "--refusal", "DEMO: notices of day 1 and day 8 unanswered",
               "--authority-non-cooperation", "DEMO: no answer from the authorities after 30 days")
        site.take_down("/g1.html")

        for args, message in ((("--sample", "0"), "sample_size"),
                              (("--order", "R" * 201), "order_reference: is longer than 200 characters")):
            refused = run_cli(env, "urllist", "verify", *args)
            assert refused.returncode == 2 and message in refused.stderr, (args, refused.stdout, refused.stderr)

        out = ok(env, "urllist", "verify", "--sample", "3", "--order", "DEMO-BO-2026-7")
    assert "3 of 3 URL(s): 2 still served, 1 gone, 0 could not tell" in out, out
    lines = {line.split("\t")[2]: line.split("\t")[1] for line in out.splitlines() if line.startswith("  ")}
    assert lines == {urls[0]: "served", urls[1]: "gone", urls[2]: "served"}

    app = Balise(settings)
    try:
        with app.db.sessions() as s:
            (run,) = s.execute(select(UrlListVerification)).scalars()
            assert (run.order_reference, run.population, run.sample_size, run.live, run.gone, run.other) == (
                "DEMO-BO-2026-7", 3, 3, 2, 1, 0)
            assert run.organisation_id is None and run.requested_by.startswith("system:cli")
            checked = {e.url: e.last_outcome for e in s.execute(select(UrlListEntry)).scalars()}
            assert checked == lines
            assert s.execute(select(func.count()).select_from(AuditRecord).where(
                AuditRecord.event_type == "urllist:verify")).scalar_one() == 1
    finally:
        app.close()
