"""Triage rules (pure): completeness against Annex III and the priority score."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from balise.domain.triage import URGENT, missing_fields, priority

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


def complete() -> dict:
    return {"source": "provider_api", "signature": "sig", "provider": {"contact_point": {"email": "a@b.c"}},
            "user_decision": "block", "reported_elsewhere": False, "awareness": "own_motion", "content_removed": False,
            "type": "known_csam"}


def test_a_complete_provider_report_misses_nothing():
    assert missing_fields(complete()) == []


def test_each_absent_field_is_named():
    facts = complete() | {"signature": None, "provider": {"contact_point": None}, "reported_elsewhere": None}
    assert missing_fields(facts) == ["signature", "provider.contact_point", "reported_elsewhere"]


def test_a_report_without_a_type_is_asked_for_it():
    assert missing_fields(complete() | {"type": None}) == ["type"]


def test_false_is_an_answer_not_a_gap():
    assert "reported_elsewhere" not in missing_fields(complete() | {"reported_elsewhere": False})


def test_public_reports_are_not_asked_for_provider_fields():
    assert missing_fields({"source": "public_form"}) == []


def test_urgent_always_outranks_everything_else():
    urgent, _ = priority(urgent=True, imminent_threat=False, unmatched_media=0, victims=None, received_at=NOW, now=NOW)
    loaded, _ = priority(urgent=False, imminent_threat=True, unmatched_media=50,
                         victims=[{"age_band": "0-2"}], received_at=NOW - timedelta(days=30), now=NOW)
    assert urgent >= URGENT > loaded


def test_reasons_explain_the_score():
    score, reasons = priority(urgent=False, imminent_threat=False, unmatched_media=2,
                              victims=[{"age_band": "13-15"}, {"age_band": "3-6"}], received_at=NOW - timedelta(hours=5), now=NOW)
    codes = {r.code: r for r in reasons}
    assert set(codes) == {"new_material", "victim_information", "youngest_age_band", "waiting"}
    assert "3-6" in codes["youngest_age_band"].detail
    assert score == sum(r.points for r in reasons)


def test_younger_victims_and_new_material_raise_priority():
    base = dict(urgent=False, imminent_threat=False, received_at=NOW, now=NOW)
    older, _ = priority(unmatched_media=1, victims=[{"age_band": "16-17"}], **base)
    younger, _ = priority(unmatched_media=1, victims=[{"age_band": "3-6"}], **base)
    known_only, _ = priority(unmatched_media=0, victims=None, **base)
    assert younger > older > known_only
