"""The partner directory: seeded with every EU Member State and Europol, managed with checks."""

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Partner
from balise.domain.partners import EU_CODES, PartnerKind
from balise.takedown.partners import PartnerChanges, PartnerError

ADMIN = Actor.system("test-admin")


def test_seeding_covers_every_member_state_and_europol_once(balise) -> None:
    with balise.db.transaction() as session:
        added = balise.partners.seed(session, ADMIN)
    with balise.db.transaction() as session:
        again = balise.partners.seed(session, ADMIN)
    assert added > 27 * 3 and again == 0
    with balise.db.sessions() as session:
        partners = session.execute(select(Partner)).scalars().all()
        assert {p.country for p in partners if p.kind == "police"} == set(EU_CODES)
        assert {p.country for p in partners if p.kind == "hotline"} == set(EU_CODES)
        assert {p.country for p in partners if p.kind == "coordinating_authority"} == set(EU_CODES)
        europol = [p for p in partners if p.kind == "europol"]
        assert len(europol) == 1 and europol[0].country is None
        # Nothing may leave the machine until an administrator configures a channel.
        assert all(p.channel == "export" and p.endpoint is None and not p.verified for p in partners)
        belgium = next(p for p in partners if p.kind == "hotline" and p.country == "BE")
        assert belgium.languages == ["nl", "fr", "de"]
        events = session.execute(select(AuditRecord.event_type)).scalars().all()
        assert events.count("partner:seed") == 2


def test_a_partner_is_found_by_kind_and_country_verified_first(balise) -> None:
    with balise.db.transaction() as session:
        balise.partners.seed(session, ADMIN)
        mine = balise.partners.create(session, ADMIN, kind="hotline", country="fr", name="Hotline test FR",
                                      channel="email", endpoint="reports@hotline.example", languages=["fr"],
                                      verified=True)
    with balise.db.sessions() as session:
        found = balise.partners.find(session, PartnerKind.HOTLINE, "FR")
        assert found[0].id == mine.id and found[0].country == "FR"
        assert balise.partners.find(session, PartnerKind.EUROPOL, None)[0].kind == "europol"


@pytest.mark.parametrize(("fields", "field"), [
    ({"channel": "email", "endpoint": "not-an-address"}, "endpoint"),
    ({"channel": "webhook", "endpoint": "ftp://x.example/hook", "webhook_secret": "s" * 32}, "endpoint"),
    ({"channel": "webhook", "endpoint": "https://user:pw@x.example/hook", "webhook_secret": "s" * 32}, "endpoint"),
    ({"channel": "webhook", "endpoint": "https://x.example/hook"}, "webhook_secret"),
    ({"channel": "pigeon"}, "channel"),
    ({"channel": "export", "endpoint": "x@y.example"}, "endpoint"),
    ({"channel": "email", "endpoint": "a@b.example", "country": "France"}, "country"),
    ({"channel": "email", "endpoint": "a@b.example", "languages": ["french"]}, "languages"),
    ({"channel": "email", "endpoint": "a@b.example", "kind": "ngo"}, "kind"),
    ({"channel": "email", "endpoint": "a@b.example", "name": ""}, "name"),
])
def test_bad_partner_details_are_refused_naming_the_field_and_nothing_is_added(balise, fields, field) -> None:
    values = {"kind": "police", "country": "DE", "name": "Unit", "languages": ["de"], **fields}
    with pytest.raises(PartnerError) as caught, balise.db.transaction() as session:
        balise.partners.create(session, ADMIN, **values)
    assert caught.value.field == field
    with balise.db.sessions() as session:
        assert session.execute(select(Partner)).first() is None


def test_a_new_endpoint_must_be_verified_again_and_the_secret_is_stored_sealed(balise) -> None:
    with balise.db.transaction() as session:
        partner = balise.partners.create(session, ADMIN, kind="police", country="DE", name="Unit DE",
                                         channel="email", endpoint="unit@police.example", languages=["de"],
                                         verified=True)
        pid = partner.id
    with balise.db.transaction() as session:
        balise.partners.update(session, ADMIN, pid, PartnerChanges(
            channel="webhook", endpoint="https://police.example/balise", webhook_secret="a-long-shared-secret-value"))
    with balise.db.sessions() as session:
        partner = session.get(Partner, pid)
        assert partner.channel == "webhook" and partner.verified is False
        assert "a-long-shared-secret-value" not in partner.webhook_secret
        assert balise.partners.webhook_secret(partner) == "a-long-shared-secret-value"
        details = session.execute(select(AuditRecord.details).where(AuditRecord.event_type == "partner:update")).scalar_one()
        assert "a-long-shared-secret-value" not in str(details)


def test_a_duplicate_partner_is_refused(balise) -> None:
    values = dict(kind="hotline", country="NL", name="Dup", channel="export", languages=["nl"])
    with balise.db.transaction() as session:
        balise.partners.create(session, ADMIN, **values)
    with pytest.raises(PartnerError, match="already"), balise.db.transaction() as session:
        balise.partners.create(session, ADMIN, **values)
