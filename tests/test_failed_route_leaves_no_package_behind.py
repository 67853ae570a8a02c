"""A routing job that fails after it has built evidence packages rolls back and removes their
zips: no package file is left without a record, and the retry builds each package once."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import EvidencePackage, Job, Notice
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)


def test_a_route_failing_after_the_packages_were_built_removes_them_and_the_retry_builds_them_once(
        tmp_path, db_url, monkeypatch) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, Actor.system("test"))
        url = site.serve("/fail/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        real_create = app.notices.create

        def create(session, **kwargs):  # type: ignore[no-untyped-def]
            if kwargs["kind"] == "host_notice":  # after both police packages were built
                raise RuntimeError("DEMO: the database went away")
            return real_create(session, **kwargs)

        monkeypatch.setattr(app.notices, "create", create)
        app.run_jobs()
        packages = app.settings.package_path
        with app.db.sessions() as s:
            route = s.execute(select(Job).where(Job.kind == "report.route")).scalar_one()
            assert s.execute(select(EvidencePackage)).scalars().all() == []
            assert s.execute(select(Notice)).scalars().all() == []
        assert route.status == "pending" and "the database went away" in route.last_error
        assert list(packages.iterdir()) == []

        monkeypatch.setattr(app.notices, "create", real_create)
        clock.advance(minutes=5)
        app.run_jobs()
        with app.db.sessions() as s:
            recorded = {p.file_name for p in s.execute(select(EvidencePackage)).scalars()}
            kinds = sorted(n.kind for n in s.execute(select(Notice)).scalars())
        assert kinds == ["host_notice", "police_forward", "police_forward"]
        assert len(recorded) == 2 and {p.name for p in packages.iterdir()} == recorded
