"""Every filed report's entities are read by an `entities.extract` job queued in the intake
transaction: accounts, e-mails, phone numbers (E.164), IPs with time and port, URLs and
domains, IBANs, card BINs (never the full number), payment accounts, crypto addresses and file
names. Reports sharing a valid value are linked; a value failing its checksum is kept as
unvalidated text and links nothing. Retention's redaction removes a report's entries."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, EntityMention, Job
from balise.domain import entities as E
from tests.entities_support import BAD_BTC, BTC, CARD, ETH, WALLET, file_report, identifiers


def _mentions(balise, report_id):
    with balise.db.sessions() as s:
        return s.execute(select(EntityMention).where(EntityMention.report_id == report_id)).scalars().all()


def test_extraction_normalises_links_and_keeps_invalid_values_apart(balise, client, provider):
    _, key = provider
    first = file_report(client, key, [{"role": "reported_user", "identifiers": [
        {"type": "crypto_wallet", "value": WALLET},
        {"type": "crypto_wallet", "value": BTC},
        {"type": "email", "value": "Suspect.DEMO@Example.org"},
        {"type": "phone", "value": "06 12 34 56 78"},  # read in the report's country (FR)
        {"type": "ip", "value": "192.0.2.10", "observed_at": "2026-11-20T08:15:00+01:00", "port": 44321},
        {"type": "payment", "value": "DE89 3704 0044 0532 0130 00"},
        {"type": "payment", "value": CARD},
        {"type": "payment", "value": "paypal: Shop.DEMO@example.org"},
        {"type": "username", "value": "DemoUser"}]}],
        geolocation={"country": "FR"}, additional_info=f"also paid to {ETH}",
        items=[{"kind": "hash_only", "filename": "C:\\pics\\holiday_001.jpg", "hashes": {"md5": "1" * 32}},
               {"kind": "url", "url": "https://Files.DEMO.example/a/b?x=1#top"}])
    second = file_report(client, key, identifiers(("crypto_wallet", WALLET), ("username", "demouser")))
    third = file_report(client, key, identifiers(("crypto_wallet", BAD_BTC)))

    with balise.db.sessions() as s:  # queued with the report, before any worker ran
        queued = s.execute(select(Job.payload).where(Job.kind == "entities.extract")).scalars().all()
    assert {p["report_id"] for p in queued} == {str(first), str(second), str(third)}
    assert not _mentions(balise, first)
    balise.run_jobs()

    found = {(m.kind, m.value, m.valid) for m in _mentions(balise, first)}
    assert {("monero", WALLET, True), ("bitcoin", BTC, True), ("ethereum", ETH, True),
            ("email", "suspect.demo@example.org", True), ("phone", "+33612345678", True), ("ip", "192.0.2.10", True),
            ("iban", "DE89370400440532013000", True), ("card_bin", "411111", True),
            ("payment_account", "paypal:shop.demo@example.org", True), ("account", "example.test:demouser", True),
            ("file_name", "holiday_001.jpg", True), ("url", "https://files.demo.example/a/b?x=1", True),
            ("domain", "files.demo.example", True)} <= found
    assert ("domain", "example.test", True) not in found  # the service's own domain links nothing
    assert not any("1111 1111" in v or "4111111111111111" in v for _, v, _ in found)
    ip = next(m for m in _mentions(balise, first) if m.kind == "ip")
    assert (ip.observed_at.isoformat(), ip.port) == ("2026-11-20T07:15:00+00:00", 44321)

    bad = _mentions(balise, third)
    assert [(m.kind, m.value, m.valid, m.problem) for m in bad if m.source == "identifier"] == [
        ("bitcoin", BAD_BTC, False, "bad_checksum")]

    with balise.db.transaction() as s:
        hood = balise.entities.neighbourhood(s, Actor.system("test"), "analyst", first, "check the links")
    assert {n["id"] for n in hood.neighbours} == {second}  # the wallet and the account; not the bad one
    with balise.db.sessions() as s:
        assert balise.entities.linked_count(s, third) == 0
        events = s.execute(select(AuditRecord).where(AuditRecord.event_type == "entity:extract")).scalars().all()
    assert len(events) == 3 and all(WALLET not in str(e.details) for e in events)


def test_running_the_job_twice_writes_the_same_entries(balise, client, provider):
    _, key = provider
    report = file_report(client, key, identifiers(("crypto_wallet", WALLET)))
    balise.run_jobs()
    before = sorted((m.kind, m.value) for m in _mentions(balise, report))
    balise.entities.handle({"report_id": str(report)})
    assert sorted((m.kind, m.value) for m in _mentions(balise, report)) == before


def test_redaction_removes_the_report_entries(balise, client, provider):
    from balise.domain.retention import Rule

    _, key = provider
    report = file_report(client, key, identifiers(("crypto_wallet", WALLET)))
    balise.run_jobs()
    assert _mentions(balise, report)
    with balise.db.transaction() as s:
        from balise.adapters.db.models import Report

        counts, _ = balise.retention._strip(s, s.get(Report, report), balise.clock(), Rule.UNFOUNDED, apply=True)
    assert counts["entity_mentions"] >= 1 and not _mentions(balise, report)
    assert E.search_key("monero", WALLET)  # the key is a digest, not the value
