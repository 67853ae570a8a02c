"""An intake group writes its reports' rows itself, one statement per table for all of them
(adapters/db/pending_rows.py), where a report filed alone goes through the ORM's session. Both
must store the same rows: every column of the report, its items, persons, identifiers, event,
Idempotency-Key and jobs, down to SQL NULL against JSON ``null`` and the columns' defaults. On
both real databases."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import IdempotencyKey, Item, Job, Person, PersonIdentifier, Report, ReportEvent
from balise.container import Balise
from balise.intake.filing import request_fingerprint
from balise.intake.report_schema import ReportIn
from tests.helpers import make_provider, minimal_report

# Identifiers and instants differ between two filings by nature; every other column is compared.
_DIFFER = {"id", "report_id", "person_id", "created_at", "updated_at", "occurred_at", "run_at",
           "payload", "dedupe_key", "request_hash", "key"}


def _rich(n: int) -> dict[str, Any]:
    """Every kind of item a report without files holds, persons with identifiers, and the
    optional parts both present and absent."""
    return minimal_report(
        urgent=True,
        provider={"contact_point": {"name": "DEMO contact", "email": "demo@example.test"}},
        reported_elsewhere={"reported": True, "body": "DEMO hotline"},
        geolocation={"country": "FR"},
        additional_info="DEMO report for the comparison",
        items=[
            {"kind": "hash_only", "hashes": {"md5": f"{n:032x}", "sha256": f"{n:064x}"}},
            {"kind": "hash_only", "media_type": "video", "filename": "demo.mp4",
             "hashes": {"sha1": f"{n:040x}", "pdq": "f" * 64, "pdq_quality": 90}},
            {"kind": "url", "url": f"https://example.test/demo/{n}",
             "metadata": {"uploaded_at": "2026-11-20T08:00:00+00:00"}},
        ],
        persons=[
            {"role": "reported_user", "display_name": "DEMO user",
             "identifiers": [{"type": "ip", "value": "192.0.2.1", "observed_at": "2026-11-20T08:00:00+02:00",
                              "port": 443, "event": "upload"},
                             {"type": "email", "value": f"demo{n}@example.test"}]},
            {"role": "reported_user", "details": {"note": "DEMO"}},
        ],
    )


def _file(balise: Balise, org: uuid.UUID, document: dict[str, Any], key: str, grouped: bool) -> uuid.UUID:
    report = ReportIn.model_validate(document)
    balise.intake.prepare_files(report, {})
    filed = balise.intake.file(actor=Actor.organisation(str(org), "DEMO Platform"), organisation_id=org,
                               report=report, files={}, fingerprint=request_fingerprint(document, {}),
                               idempotency_key=key, grouped=grouped)
    return filed.report.id


def _rows(balise: Balise, table: Table, where: Any) -> list[dict[str, Any]]:
    """Each row's compared columns, with whether each is SQL NULL (JSON ``null`` is not)."""
    columns = [c for c in table.columns if c.name not in _DIFFER]
    query = select(*columns, *[c.is_(None).label(f"{c.name} is null") for c in columns]).where(where)
    with balise.db.sessions() as s:
        rows = [dict(r._mapping) for r in s.execute(query)]
    return sorted(rows, key=repr)


def _stored(balise: Balise, report_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    with balise.db.sessions() as s:
        persons = list(s.scalars(select(Person.id).where(Person.report_id == report_id)))
        item_ids = [str(i) for i in s.scalars(select(Item.id).where(Item.report_id == report_id))]
    jobs = Job.__table__
    return {
        "reports": _rows(balise, Report.__table__, Report.__table__.c.id == report_id),
        "items": _rows(balise, Item.__table__, Item.__table__.c.report_id == report_id),
        "report_events": _rows(balise, ReportEvent.__table__, ReportEvent.__table__.c.report_id == report_id),
        "persons": _rows(balise, Person.__table__, Person.__table__.c.report_id == report_id),
        "person_identifiers": _rows(balise, PersonIdentifier.__table__,
                                    PersonIdentifier.__table__.c.person_id.in_(persons)),
        "idempotency_keys": _rows(balise, IdempotencyKey.__table__,
                                  IdempotencyKey.__table__.c.report_id == report_id),
        "jobs": _rows(balise, jobs, jobs.c.dedupe_key.like(f"%{report_id}")
                      | jobs.c.dedupe_key.in_([f"fetch:{i}" for i in item_ids])),
    }


def test_a_report_stored_by_its_group_has_the_rows_it_has_when_filed_alone(balise):
    org, _ = make_provider(balise, "DEMO Platform")
    alone = _stored(balise, _file(balise, org, _rich(1), "alone", grouped=False))
    grouped = _stored(balise, _file(balise, org, _rich(1), "grouped", grouped=True))
    # The comparison means something only if every table holds rows.
    assert {table: len(rows) for table, rows in alone.items()} == {
        "reports": 1, "items": 3, "report_events": 1, "persons": 2, "person_identifiers": 2,
        "idempotency_keys": 1, "jobs": 3}
    for table in alone:
        assert grouped[table] == alone[table], table


def test_optional_parts_absent_are_stored_alike_grouped_or_alone(balise):
    """The smallest report: no victims, persons, contact or key; JSON columns never set stay SQL
    NULL, those set to nothing hold JSON null, in both ways."""
    org, _ = make_provider(balise, "DEMO Platform")
    alone = _stored(balise, _file(balise, org, minimal_report(), None, grouped=False))  # type: ignore[arg-type]
    grouped = _stored(balise, _file(balise, org, minimal_report(), None, grouped=True))  # type: ignore[arg-type]
    assert len(alone["reports"]) == len(alone["items"]) == 1
    for table in alone:
        assert grouped[table] == alone[table], table
    # Defaults the ORM fills in are filled in by the group's statements too.
    report, item = grouped["reports"][0], grouped["items"][0]
    assert (report["priority"], report["revision"], report["is_demo"]) == (0, 0, False)
    assert (item["polyglot"], item["times_reported"], item["revision"]) == (False, 1, 0)
