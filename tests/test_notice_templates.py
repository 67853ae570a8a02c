"""Notices render in English, French and German from a checked context: they say what they
were given and nothing else, name what is missing, fall back to English openly, and a host
notice under a law-enforcement hold does not mention the user at all."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from balise.takedown.notice_templates import (
    FEEDBACK_REASONS,
    KINDS,
    LEGAL_BASES,
    REPORT_TYPES,
    TIMELINE_EVENTS,
    NoticeContextError,
    NoticeError,
    UnknownNoticeKind,
    render_notice,
)
from balise.takedown.notice_templates.context import SPECS
from balise.takedown.notice_templates.render import TEMPLATE_DIR

REF = "BAL-N-20261123-ABCDEFGH"
T = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
LANGS = ("en", "fr", "de")
URLS = ["https://host.example/demo/1.jpg", "https://host.example/demo/2.jpg"]
COMMON = {"reference": REF, "sender_name": "Balise DEMO Centre", "reply_to": "notices@centre.example"}

REQUIRED: dict[str, dict[str, Any]] = {
    "host_notice": {**COMMON, "urls": URLS, "assessed_at": T, "legal_basis": ["dsa_art16"]},
    "hotline_referral": {**COMMON, "urls": URLS, "assessed_at": T, "hosting_country": "NL"},
    "police_forward": {**COMMON, "report_reference": "RPT-DEMO-1", "received_at": T, "urgent": False,
                       "package_id": "PKG-DEMO-1", "package_sha256": "c" * 64},
    "escalation": {**COMMON, "urls": URLS, "sla_hours": 48,
                   "timeline": [{"at": T, "event": "assessed"}, {"at": T, "event": "host_notice_sent"}]},
    "provider_feedback": {**COMMON, "report_reference": "RPT-DEMO-2", "received_at": T, "decided_at": T,
                          "reasons": ["adult_content"]},
    "order_escalation": {**COMMON, "urls": URLS, "order_reference": "CA-DEMO-ORDER-1", "received_at": T, "hours": 24},
    "financial_alert": {**COMMON, "report_reference": "RPT-DEMO-3", "identifier_kind": "iban",
                        "identifier": "DE89370400440532013000", "reason": "payment_for_csam"},
}

# Each optional field with a value, and what shows in the text when (and only when) it is given.
URGENT = {"en": "URGENT", "fr": "URGENT", "de": "DRINGEND"}
OPTIONAL: dict[str, dict[str, tuple[Any, Any]]] = {
    "host_notice": {
        "recipient_name": ("Recipient DEMO Org", "Recipient DEMO Org"),
        "national_law": ("DEMO-Law § 1", "DEMO-Law § 1"),
        "hashes": (["e" * 64], "e" * 64),
        "respond_by": (datetime(2026, 12, 1, 9, 15, tzinfo=timezone.utc), "2026-12-01 09:15 UTC"),
    },
    "hotline_referral": {
        "recipient_name": ("Recipient DEMO Org", "Recipient DEMO Org"),
        "hashes": (["e" * 64], "e" * 64),
        "urgent": (True, URGENT),
        "interpol_baseline": (True, "INTERPOL"),
        "host_notified_at": (datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc), "2026-11-24 08:30 UTC"),
        "police_informed_at": (datetime(2026, 11, 24, 7, 45, tzinfo=timezone.utc), "2026-11-24 07:45 UTC"),
    },
    "police_forward": {
        "recipient_name": ("Recipient DEMO Unit", "Recipient DEMO Unit"),
        "package_size": (987654, "987654"),
        "retrieval": ("https://portal.centre.example/p/DEMO", "https://portal.centre.example/p/DEMO"),
        "report_type": ("new_csam", {"en": "previously unknown", "fr": "jusqu'ici inconnu", "de": "bisher unbekannte"}),
        "provider_name": ("Provider DEMO GmbH", "Provider DEMO GmbH"),
        "europol_informed": (True, "Europol"),
    },
    "escalation": {
        "recipient_name": ("Recipient DEMO Authority", "Recipient DEMO Authority"),
        "host_name": ("Host DEMO BV", "Host DEMO BV"),
        "hosting_country": ("NL", "(NL)"),
    },
    "order_escalation": {
        "recipient_name": ("Recipient DEMO Authority", "Recipient DEMO Authority"),
    },
    "provider_feedback": {
        "recipient_name": ("Recipient DEMO Provider", "Recipient DEMO Provider"),
        "reason_note": ("DEMO explanation line", "DEMO explanation line"),
        "provider_report_reference": ("PROV-DEMO-77", "PROV-DEMO-77"),
        "item_hashes": (["f" * 64], "f" * 64),
    },
    "financial_alert": {
        "recipient_name": ("Recipient DEMO Bank", "Recipient DEMO Bank"),
        "reason_note": ("DEMO explanation line", "DEMO explanation line"),
        "respond_by": (datetime(2026, 12, 1, 9, 15, tzinfo=timezone.utc), "2026-12-01 09:15 UTC"),
    },
}


def complete(kind: str) -> dict[str, Any]:
    return {**REQUIRED[kind], **{name: value for name, (value, _) in OPTIONAL[kind].items()}}


def marker(shown: Any, lang: str) -> str:
    return shown[lang] if isinstance(shown, dict) else shown


def text(rendered: Any) -> str:
    return rendered.subject + "\n" + rendered.body


def test_every_optional_field_of_every_kind_is_covered_here():
    # Guards this file: a field added to a kind must be added to the checks below.
    for kind in KINDS:
        optional = {n for n, f in SPECS[kind].items() if not f.required}
        assert optional - set(OPTIONAL[kind]) <= {"do_not_inform_user", "confidential_until"}, kind
        assert {n for n, f in SPECS[kind].items() if f.required} == set(REQUIRED[kind]), kind


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_each_language_with_the_reference(kind, lang):
    rendered = render_notice(kind, lang, complete(kind))
    assert (rendered.language_used, rendered.requested_language, rendered.fallback) == (lang, lang, False)
    assert REF in rendered.subject and REF in rendered.body
    assert "\n" not in rendered.subject and rendered.body.endswith("\n")
    for leftover in ("None", "{{", "{%", "Undefined", "\n\n\n"):
        assert leftover not in text(rendered)
    assert "Balise DEMO Centre" in rendered.body and "notices@centre.example" in rendered.body


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_optional_fields_appear_when_given_and_leave_no_trace_when_not(kind, lang):
    full = text(render_notice(kind, lang, complete(kind)))
    minimal = text(render_notice(kind, lang, REQUIRED[kind]))
    for name, (_, shown) in OPTIONAL[kind].items():
        assert marker(shown, lang) in full, name
        assert marker(shown, lang) not in minimal, name


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["host_notice", "hotline_referral", "escalation", "order_escalation"])
def test_every_url_is_listed(kind, lang):
    body = render_notice(kind, lang, REQUIRED[kind]).body
    assert all(url in body for url in URLS)


@pytest.mark.parametrize("lang", LANGS)
def test_police_forward_gives_package_id_sha256_and_how_to_verify(lang):
    body = render_notice("police_forward", lang, REQUIRED["police_forward"]).body
    assert "PKG-DEMO-1" in body and "c" * 64 in body and "RPT-DEMO-1" in body
    assert "sha256sum" in body and "Get-FileHash" in body


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_lists_the_timeline_in_time_order(lang):
    context = {**REQUIRED["escalation"], "timeline": [
        {"at": datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc), "event": "check_still_online",
         "url": URLS[0]},
        {"at": datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), "event": "host_notice_sent",
         "reference": "BAL-N-20261123-QRSTUVWX"},
    ]}
    body = render_notice("escalation", lang, context).body
    assert body.index("2026-11-23 09:00 UTC") < body.index("2026-11-25 09:00 UTC")
    assert "BAL-N-20261123-QRSTUVWX" in body


USER_WORDS = {
    "en": ["user", "uploader", "uploaded", "account holder"],
    "fr": ["utilisateur", "titulaire", "auteur"],
    "de": ["nutzer", "hochgeladen", "kontoinhaber"],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_hold_omits_any_mention_of_the_user(lang):
    held = text(render_notice("host_notice", lang, {**complete("host_notice"), "do_not_inform_user": True,
                                                    "confidential_until": date(2027, 5, 1)})).lower()
    normal = text(render_notice("host_notice", lang, complete("host_notice"))).lower()
    assert [w for w in USER_WORDS[lang] if w in held] == []
    assert [w for w in USER_WORDS[lang] if w in normal] != []  # the words checked are the ones used
    assert "2027-05-01" in held


@pytest.mark.parametrize(("requested", "used", "fallback"), [
    ("es", "en", True), ("pt-BR", "en", True), ("nl", "en", True),
    ("fr-BE", "fr", False), ("de_AT", "de", False), ("DE", "de", False), ("en-GB", "en", False),
])
def test_languages_without_templates_fall_back_to_english_and_say_so(requested, used, fallback):
    rendered = render_notice("host_notice", requested, REQUIRED["host_notice"])
    assert (rendered.language_used, rendered.requested_language, rendered.fallback) == (used, requested, fallback)
    assert rendered.body == render_notice("host_notice", used, REQUIRED["host_notice"]).body


@pytest.mark.parametrize("language", ["", "fr;q=0.9", "français", None, "x"])
def test_a_malformed_language_tag_is_refused(language):
    with pytest.raises(NoticeError, match="language"):
        render_notice("host_notice", language, REQUIRED["host_notice"])  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_each_missing_required_field_is_named(kind):
    for name in REQUIRED[kind]:
        context = {k: v for k, v in REQUIRED[kind].items() if k != name}
        with pytest.raises(NoticeContextError) as err:
            render_notice(kind, "en", context)
        assert f"missing context field(s): {name}" in str(err.value)
        assert err.value.kind == kind


def test_all_missing_fields_are_named_at_once():
    with pytest.raises(NoticeContextError) as err:
        render_notice("police_forward", "en", {"reference": REF})
    assert "missing context field(s): sender_name, reply_to, report_reference, received_at, urgent, package_id, " \
           "package_sha256" in str(err.value)


@pytest.mark.parametrize("extra", ["uploader_email", "username", "content", "media", "description"])
def test_fields_a_kind_does_not_know_are_refused_by_name(extra):
    with pytest.raises(NoticeContextError, match=f"unexpected context field\\(s\\) for host_notice: {extra}"):
        render_notice("host_notice", "en", {**REQUIRED["host_notice"], extra: "DEMO personal data"})


@pytest.mark.parametrize(("kind", "field", "value", "says"), [
    ("host_notice", "reference", "REF-1", "notice reference like BAL-N-"),
    ("host_notice", "reference", "BAL-N-20261340-ABCDEFGH", "notice reference like BAL-N-"),
    ("host_notice", "sender_name", "Centre\nBcc: x@y.example", "single line"),
    ("host_notice", "reply_to", "notices at centre", "email address"),
    ("host_notice", "urls", [], "must not be empty"),
    ("host_notice", "urls", "https://host.example/1", "must be a list"),
    ("host_notice", "urls", ["javascript:alert(1)"], "entry 0: must be an http(s) URL"),
    ("host_notice", "urls", ["https://host.example/a b"], "entry 0"),
    ("host_notice", "assessed_at", datetime(2026, 11, 23, 10, 0), "timezone-aware"),
    ("host_notice", "assessed_at", "2026-11-23", "must be a datetime"),
    ("host_notice", "legal_basis", ["gdpr"], "'gdpr' is not one of"),
    ("host_notice", "hashes", ["abc"], "SHA-256"),
    ("host_notice", "do_not_inform_user", "yes", "true or false"),
    ("host_notice", "confidential_until", date(2027, 1, 1), "only allowed with do_not_inform_user"),
    ("hotline_referral", "hosting_country", "Netherlands", "ISO 3166-1 alpha-2"),
    ("hotline_referral", "hosting_country", "ZZ", "ISO 3166-1 alpha-2"),
    ("police_forward", "package_sha256", "g" * 64, "SHA-256"),
    ("police_forward", "urgent", 1, "true or false"),
    ("police_forward", "package_size", 0, "positive whole number"),
    ("police_forward", "report_type", "grooming", "not one of"),
    ("escalation", "sla_hours", True, "positive whole number"),
    ("escalation", "timeline", [{"at": T}], "missing 'event'"),
    ("escalation", "timeline", [{"at": T, "event": "assessed", "note": "x"}], "unexpected key(s) note"),
    ("escalation", "timeline", [{"at": T, "event": "phoned"}], "'phoned' is not one of"),
    ("provider_feedback", "reasons", ["other"], "'reason_note' is required"),
    ("provider_feedback", "reason_note", "x\x00y", "control characters"),
])
def test_malformed_values_are_refused_naming_the_field(kind, field, value, says):
    context = {**REQUIRED[kind], field: value}
    with pytest.raises(NoticeContextError) as err:
        render_notice(kind, "en", context)
    assert field in str(err.value) and says in str(err.value)


def test_an_unknown_kind_is_refused_with_the_known_ones():
    with pytest.raises(UnknownNoticeKind, match="host_notice, hotline_referral"):
        render_notice("takedown", "en", REQUIRED["host_notice"])


@pytest.mark.parametrize("lang", LANGS)
def test_every_code_has_its_own_wording_in_each_language(lang):
    texts = [
        render_notice("host_notice", lang, {**REQUIRED["host_notice"], "legal_basis": list(LEGAL_BASES)}).body,
        render_notice("provider_feedback", lang, {**REQUIRED["provider_feedback"], "reasons": list(FEEDBACK_REASONS),
                                                  "reason_note": "DEMO"}).body,
        render_notice("escalation", lang, {**REQUIRED["escalation"],
                                           "timeline": [{"at": T, "event": e} for e in TIMELINE_EVENTS]}).body,
        *[render_notice("police_forward", lang, {**REQUIRED["police_forward"], "report_type": t}).body
          for t in REPORT_TYPES],
    ]
    joined = "\n".join(texts)
    for code in (*LEGAL_BASES, *FEEDBACK_REASONS, *TIMELINE_EVENTS, *REPORT_TYPES):
        if "_" in code:  # a bare word like "other" or "assessed" may occur in prose
            assert code not in joined, code


def test_feedback_reasons_are_the_codes_analysts_choose():
    from balise.casework.assessment import UNFOUNDED_REASONS

    assert set(FEEDBACK_REASONS) == set(UNFOUNDED_REASONS)


def test_context_values_are_printed_as_given_never_evaluated():
    rendered = render_notice("host_notice", "en", {**REQUIRED["host_notice"], "sender_name": "{{ reference }} {% if 1 %}"})
    assert "{{ reference }} {% if 1 %}" in rendered.body


def test_templates_contain_no_html():
    for path in TEMPLATE_DIR.rglob("*.txt"):
        assert not re.search(r"<[A-Za-z/!]", path.read_text(encoding="utf-8")), path


def test_each_language_has_every_kind():
    for lang in LANGS:
        assert {p.stem for p in Path(TEMPLATE_DIR, lang).glob("*.txt")} == {*KINDS, "_labels"}
