"""Reported URLs that are refused, fail, are gone or serve something unknown, inspected by the
real safe fetcher on the durable job queue: each leaves one url_hosting row with its outcome
and one url:fetch audit event, nothing is kept in the evidence vault unless it matches an
indicator, and running the job again changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Item, Notice, Takedown, UrlHosting, VaultObject
from balise.container import Balise
from balise.demo import demo_image
from balise.takedown.url_inspection import URL_FETCH_JOB
from tests.servers import free_port
from tests.takedown_support import (
    Clock,
    DemoSite,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    routing_app,
)


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[tuple[Balise, DemoSite]]:
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, Clock(), box.port)
        yield app, site
        app.close()


def inspected(app: Balise, url: str) -> tuple[uuid.UUID, uuid.UUID]:
    report_id = file_url_report(app, url)
    app.run_jobs()
    with app.db.sessions() as s:
        item_id = s.execute(select(Item.id).where(Item.report_id == report_id)).scalar_one()
    return report_id, item_id


def state(app: Balise, item_id: uuid.UUID) -> dict[str, Any]:
    """Everything an inspection writes about an item, to compare before and after a rerun."""
    with app.db.sessions() as s:
        hosting = s.get(UrlHosting, item_id)
        item = s.get(Item, item_id)
        fetches = s.execute(select(AuditRecord.details).where(
            AuditRecord.event_type == "url:fetch", AuditRecord.subject_id == str(item_id))).scalars().all()
        return {"hosting": {c.name: getattr(hosting, c.name) for c in UrlHosting.__table__.columns} if hosting else None,
                "item": {c: getattr(item, c) for c in ("md5", "sha256", "media_type", "hashes", "hash_status",
                                                       "matched", "matches", "vault_object", "outcome")},
                "fetch_events": fetches,
                "vault_objects": s.execute(select(func.count()).select_from(VaultObject)).scalar_one(),
                "media_stores": s.execute(select(func.count()).select_from(AuditRecord)
                                          .where(AuditRecord.event_type == "media:store")).scalar_one()}


def vault_files(app: Balise) -> list[Path]:
    root = app.settings.vault_path
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def rerun_changes_nothing(app: Balise, site: DemoSite | None, item_id: uuid.UUID) -> None:
    before = state(app, item_id)
    hits = list(site.hits) if site else None
    with app.db.transaction() as s:
        assert app.jobs.enqueue(s, URL_FETCH_JOB, {"item_id": str(item_id)}, dedupe_key=f"fetch:{item_id}")
    assert app.run_jobs() == 1
    assert state(app, item_id) == before
    if site:
        assert site.hits == hits


def test_a_url_on_a_private_address_is_refused_and_nothing_is_connected(world) -> None:
    app, _ = world
    _, item_id = inspected(app, "http://10.0.0.1/gallery/1.jpg")
    got = state(app, item_id)
    hosting = got["hosting"]
    assert hosting["fetch_status"] == "refused" and hosting["fetch_error"].startswith("private_address:")
    assert (hosting["host"], hosting["address"], hosting["addresses"], hosting["http_status"]) == \
        ("10.0.0.1", None, None, None)
    assert hosting["content_sha256"] is None and hosting["hosted_country"] is None
    assert got["item"]["sha256"] is None and not got["item"]["matched"]
    assert got["fetch_events"] == [{"outcome": "refused", "http_status": None, "hosted_country": None,
                                    "matched": False, "page_media": 0, "host_flags": []}]
    rerun_changes_nothing(app, None, item_id)


def test_a_loopback_address_outside_the_allowed_networks_is_refused_before_any_connection(world) -> None:
    app, _ = world
    # A real server on 127.0.0.2 (loopback, not in BALISE_FETCH_ALLOW_NETWORKS=127.0.0.1/32)
    # proves the refusal happens before connecting: it must see no request at all.
    with demo_site("127.0.0.2") as other:
        url = other.serve("/gallery/2.jpg", demo_image(2, (320, 240)))
        _, item_id = inspected(app, url)
        hosting = state(app, item_id)["hosting"]
        assert hosting["fetch_status"] == "refused" and hosting["fetch_error"].startswith("private_address:")
        assert hosting["address"] is None and other.hits == []
        rerun_changes_nothing(app, other, item_id)


def test_a_loopback_port_with_nothing_listening_is_unreachable(world) -> None:
    app, _ = world
    _, item_id = inspected(app, f"http://127.0.0.1:{free_port()}/gallery/3.jpg")
    got = state(app, item_id)
    hosting = got["hosting"]
    assert hosting["fetch_status"] == "unreachable" and hosting["fetch_error"].startswith("connection_refused:")
    assert hosting["http_status"] is None and hosting["content_sha256"] is None
    assert [e["outcome"] for e in got["fetch_events"]] == ["unreachable"]
    rerun_changes_nothing(app, None, item_id)


def test_a_page_answering_404_is_gone_and_its_takedown_is_removed_without_a_notice(world) -> None:
    app, site = world
    with app.db.transaction() as s:
        app.partners.seed(s, Actor.system("test"))
    report_id, item_id = inspected(app, site.base + "/gallery/already-removed.jpg")
    got = state(app, item_id)
    hosting = got["hosting"]
    assert (hosting["fetch_status"], hosting["http_status"], hosting["address"], hosting["hosted_country"]) == \
        ("gone", 404, "127.0.0.1", "NL")
    assert hosting["content_sha256"] is None and got["item"]["sha256"] is None
    assert [e["outcome"] for e in got["fetch_events"]] == ["gone"]
    assert site.hits == ["/gallery/already-removed.jpg"]
    rerun_changes_nothing(app, site, item_id)

    forward(app, report_id, text="DEMO: the provider reported the URL; it no longer answers")
    app.run_jobs()
    with app.db.sessions() as s:
        takedown = s.get(Takedown, item_id)
        assert (takedown.status, takedown.removed_at, takedown.host_notified_at) == \
            ("removed", hosting["fetched_at"], None)
        kinds = s.execute(select(Notice.kind).where(Notice.report_id == report_id)).scalars().all()
        assert "host_notice" not in kinds and "hotline_referral" not in kinds and "police_forward" in kinds
        removed = s.execute(select(AuditRecord.details).where(
            AuditRecord.event_type == "takedown:removed", AuditRecord.subject_id == str(item_id))).scalars().all()
        assert [r["outcome"] for r in removed] == ["gone"]
    # The removal was seen when the URL was inspected: nobody fetches it again.
    assert site.hits == ["/gallery/already-removed.jpg"]


def test_an_html_page_is_served_but_not_hashed_as_media_and_not_kept(world) -> None:
    app, site = world
    known_picture(app)
    url = site.serve("/index.html", b"<!doctype html><title>DEMO page</title><p>DEMO", "text/html; charset=utf-8")
    _, item_id = inspected(app, url)
    got = state(app, item_id)
    hosting, item = got["hosting"], got["item"]
    assert (hosting["fetch_status"], hosting["http_status"], hosting["hosted_country"]) == ("served", 200, "NL")
    assert hosting["content_sha256"] == item["sha256"] and item["md5"]
    assert (item["media_type"], item["hash_status"], item["hashes"], item["matched"], item["matches"]) == \
        ("other", "not_applicable", None, False, None)
    assert not hosting["stored"] and item["vault_object"] is None
    assert got["vault_objects"] == got["media_stores"] == 0 and vault_files(app) == []
    assert [e["outcome"] for e in got["fetch_events"]] == ["served"]
    rerun_changes_nothing(app, site, item_id)


def test_a_picture_not_in_the_indicators_is_hashed_and_not_matched_and_not_kept(world) -> None:
    app, site = world
    known_picture(app, seed=5)
    url = site.serve("/gallery/unknown.jpg", demo_image(77, (640, 480)))
    _, item_id = inspected(app, url)
    got = state(app, item_id)
    hosting, item = got["hosting"], got["item"]
    assert (hosting["fetch_status"], hosting["http_status"]) == ("served", 200)
    assert item["media_type"] == "image" and item["hash_status"] == "ok" and len(item["hashes"]["pdq"]) == 64
    assert not item["matched"] and item["matches"] is None and item["outcome"] is None
    # Only known material is kept as evidence: an unknown picture leaves its hashes, no bytes.
    assert not hosting["stored"] and item["vault_object"] is None
    assert got["vault_objects"] == got["media_stores"] == 0 and vault_files(app) == []
    assert [e["outcome"] for e in got["fetch_events"]] == ["served"]
    rerun_changes_nothing(app, site, item_id)
