"""`kill -9` of a worker in the middle of routing a report (while it builds the evidence
packages) loses nothing and duplicates nothing: the next worker routes the report, each
recipient gets one notice and one package, and the zip the killed worker had already written
without a committed record is removed by the package sweep."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, EvidencePackage, Item, Job, Notice
from balise.intake.filing import UploadedFile
from balise.intake.report_schema import ReportIn
from tests.helpers import minimal_report
from tests.servers import wait_for
from tests.takedown_support import (
    COMPLETE,
    GERMAN_UPLOAD_IP,
    Clock,
    demo_site,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
    routing_worker_env,
    start_worker,
)


def _file_report_with_media(app, picture: bytes, url: str):  # type: ignore[no-untyped-def]
    """A report with the picture itself (kept in the vault, so packages carry it) and its URL."""
    report = ReportIn.model_validate(minimal_report(
        items=[{"kind": "media", "file": "photo"}, {"kind": "url", "url": url}], content_removed=False,
        persons=[{"role": "reported_user", "identifiers": [{"type": "ip", "value": GERMAN_UPLOAD_IP, "event": "upload",
                                                            "observed_at": "2026-11-22T21:00:00+01:00"}]}],
        **COMPLETE))
    files = {"photo": UploadedFile("photo", io.BytesIO(picture), "photo.jpg", "image/jpeg")}
    app.intake.prepare_files(report, files)
    return app.intake.file(actor=Actor.system("test"), organisation_id=None, report=report, files=files,
                           fingerprint="kill-route", idempotency_key=None).report.id


def _writer_when_read(fifo: Path, seconds: float = 60.0) -> int:
    """A write end of the FIFO once a reader has opened it (the worker reading the media)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polls for the reader; nothing else signals its arrival
            continue
        os.set_blocking(fd, True)
        return fd


def test_a_worker_killed_while_building_packages_leaves_no_duplicate_and_no_unrecorded_zip(tmp_path, db_url) -> None:
    clock = Clock()
    workers: list[subprocess.Popen] = []
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        try:
            with app.db.transaction() as s:
                app.partners.seed(s, Actor.system("test"))
            picture = reencoded(known_picture(app))
            url = site.serve("/route/1.jpg", picture)
            report_id = _file_report_with_media(app, picture, url)
            app.run_jobs()
            forward(app, report_id)  # queues report.route; the workers do the rest
            with app.db.sessions() as s:
                item = s.execute(select(Item).where(Item.report_id == report_id, Item.kind == "media")).scalar_one()
            # The packages carry the media: the worker reads it from the vault. Its object is
            # made a FIFO, so the test decides when each read gets its bytes.
            blob = app.settings.vault_path / item.vault_object[:2] / item.vault_object[2:4] / f"{item.vault_object}.blv"
            sealed = blob.read_bytes()
            blob.unlink()
            os.mkfifo(blob)
            packages = app.settings.package_path
            env = routing_worker_env(tmp_path, db_url, box.port, lease_seconds=3, BALISE_PACKAGE_INCLUDE_MEDIA="true")


            first = start_worker(env, workers)
            fd = _writer_when_read(blob)  # Europol's package reads the media...
            with os.fdopen(fd, "wb") as out:
                out.write(sealed)
            # ... and is written (renamed into place once its read is over); then the State
            # police package starts reading the media: the worker is killed there.
            assert wait_for(lambda: list(packages.glob("*.zip")), seconds=60)
            held = _writer_when_read(blob)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            os.close(held)
            orphans = {p.name for p in packages.iterdir()}
            with app.db.sessions() as s:
                assert s.execute(select(EvidencePackage)).scalars().all() == []
                assert s.execute(select(Notice)).scalars().all() == []
            assert len([n for n in orphans if n.endswith(".zip")]) == 1

            blob.unlink()
            blob.write_bytes(sealed)
            start_worker(env, workers)

            def notices() -> list[Notice]:
                with app.db.sessions() as s:
                    return s.execute(select(Notice).order_by(Notice.id)).scalars().all()

            assert wait_for(lambda: len(notices()) == 3 and all(n.status == "sent" for n in notices()), seconds=90)
            with app.db.sessions() as s:
                recorded = {p.file_name for p in s.execute(select(EvidencePackage)).scalars()}
                route = s.execute(select(Job).where(Job.kind == "report.route")).scalar_one()
        finally:
            for proc in workers:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(20)
        assert sorted(n.kind for n in notices()) == ["host_notice", "police_forward", "police_forward"]
        assert len({n.partner_id for n in notices() if n.kind == "police_forward"}) == 2
        assert len(recorded) == 2 and route.status == "done" and route.attempts == 2
        assert len(box.messages) == 1
        assert recorded <= {p.name for p in packages.iterdir()}

        # The sweep removes what no committed record names, once it is old enough.
        clock.advance(hours=2)
        with app.db.transaction() as s:
            removed = app.packages.sweep_orphans(s, Actor.system("test"), timedelta(hours=1))
        assert set(removed) == orphans and {p.name for p in packages.iterdir()} == recorded
        with app.db.sessions() as s:
            sweep = s.execute(select(AuditRecord).where(AuditRecord.event_type == "package:sweep")).scalar_one()
        assert sorted(sweep.details["files"]) == sorted(orphans)
        app.close()
