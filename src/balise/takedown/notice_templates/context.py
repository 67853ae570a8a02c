"""What each kind of notice needs, checked before anything is rendered.

A context is a plain mapping. Every kind declares its required and optional fields; a missing
required field, a field the kind does not know, or a value of the wrong shape is refused with
a message naming the field. Refusing unknown fields is deliberate: a notice can only ever say
what its template was written to say, so a caller cannot slip personal data (a user name, an
uploader's address) into a notice by passing it along "just in case".

Values are references, addresses, dates, hashes and codes from fixed vocabularies. There is no
field for content or media, and the only free texts are short single lines (names, a
national-law citation) and the analyst's note explaining an "other" reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from balise.takedown.notice_templates.references import is_notice_reference

KINDS = ("host_notice", "hotline_referral", "police_forward", "escalation", "provider_feedback",
         "order_escalation", "financial_alert")

LEGAL_BASES = ("dsa_art16", "directive_2011_93", "csar")
REPORT_TYPES = ("known_csam", "new_csam", "solicitation")
# The same codes as an analyst's "manifestly unfounded" decision (casework/assessment.py).
FEEDBACK_REASONS = ("adult_content", "no_minor_visible", "innocent_context", "lawful_fiction",
                    "technical_error", "other")
TIMELINE_EVENTS = ("reported", "assessed", "host_notice_sent", "hotline_referral_sent", "police_forwarded",
                   "reminder_sent", "host_acknowledged", "check_still_online", "check_removed")

# A financial alert (docs/intelligence.md#financial-partners): what the identifier is and why.
PAYMENT_IDENTIFIER_KINDS = ("iban", "card_bin", "payment_account", "bitcoin", "ethereum", "monero")
FINANCIAL_REASONS = ("payment_for_csam", "sale_of_csam", "sextortion_payment", "grooming_payment", "other")

MAX_LINE = 300
MAX_NOTE = 2000
MAX_URL = 2048
MAX_LIST = 500
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}\Z")
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_CONTROL_EXCEPT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\u2028\u2029]")


class NoticeError(ValueError):
    """A notice cannot be rendered; the message says why."""


class UnknownNoticeKind(NoticeError):
    pass


class NoticeContextError(NoticeError):
    """The context is incomplete or wrong. ``problems`` lists each one, naming the field."""

    def __init__(self, kind: str, problems: Sequence[str]) -> None:
        self.kind = kind
        self.problems = list(problems)
        super().__init__(f"{kind}: " + "; ".join(self.problems))


class _Bad(Exception):
    """One value is wrong; the caller adds the field name."""


# Value checks: each returns the value as templates receive it, or raises _Bad. -------------


def _line(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("must be a non-empty string")
    if _CONTROL.search(value):
        raise _Bad("must be a single line without control characters")
    if len(value) > MAX_LINE:
        raise _Bad(f"must be at most {MAX_LINE} characters")
    return value.strip()


def _note(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("must be a non-empty string")
    if _CONTROL_EXCEPT_NEWLINE.search(value.replace("\r\n", "\n")):
        raise _Bad("must not contain control characters other than line breaks")
    if len(value) > MAX_NOTE:
        raise _Bad(f"must be at most {MAX_NOTE} characters")
    return value.replace("\r\n", "\n").strip()


def _url(value: Any) -> str:
    if not isinstance(value, str) or _CONTROL.search(value) or " " in value:
        raise _Bad("must be an http(s) URL without spaces or control characters")
    if len(value) > MAX_URL:
        raise _Bad(f"must be at most {MAX_URL} characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _Bad(f"must be an http(s) URL with a host, not {value[:80]!r}")
    return value


def _email(value: Any) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value) or len(value) > 254:
        raise _Bad(f"must be an email address like abuse@example.org, not {str(value)[:80]!r}")
    return value


def _sha256(value: Any) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise _Bad("must be a SHA-256 in hex (64 characters)")
    return value.lower()


def _country(value: Any) -> str:
    from babel import Locale

    code = value.upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{2}", code) or code == "ZZ" \
            or code not in Locale.parse("en").territories:
        raise _Bad(f"must be an ISO 3166-1 alpha-2 country code such as NL, not {str(value)[:20]!r}")
    return code


def _moment(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise _Bad("must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Bad("must be a timezone-aware datetime")
    return value


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return _moment(value).date()
    if not isinstance(value, date):
        raise _Bad("must be a date")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("must be true or false")
    return value


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Bad("must be a positive whole number")
    return value


def _reference(value: Any) -> str:
    if not is_notice_reference(value):
        raise _Bad(f"must be a notice reference like BAL-N-20261123-ABCDEFGH, not {str(value)[:60]!r}")
    return str(value)


def _list_of(check: Callable[[Any], Any], *, non_empty: bool = True, unique: bool = True) -> Callable[[Any], list[Any]]:
    def checked(value: Any) -> list[Any]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise _Bad("must be a list")
        if non_empty and not value:
            raise _Bad("must not be empty")
        if len(value) > MAX_LIST:
            raise _Bad(f"must have at most {MAX_LIST} entries")
        out = []
        for index, entry in enumerate(value):
            try:
                item = check(entry)
            except _Bad as bad:
                raise _Bad(f"entry {index}: {bad}") from None
            if not unique or item not in out:
                out.append(item)
        return out

    return checked


def _code(vocabulary: Sequence[str]) -> Callable[[Any], str]:
    def checked(value: Any) -> str:
        if value not in vocabulary:
            raise _Bad(f"{value!r} is not one of {', '.join(vocabulary)}")
        return str(value)

    return checked


def _timeline_entry(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad("must be a mapping with 'at' and 'event'")
    fields = {"at": (_moment, True), "event": (_code(TIMELINE_EVENTS), True),
              "reference": (_line, False), "url": (_url, False)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _Bad(f"unexpected key(s) {', '.join(map(str, unknown))} (allowed: {', '.join(fields)})")
    out: dict[str, Any] = {}
    for key, (check, required) in fields.items():
        if key not in value or value[key] is None:
            if required:
                raise _Bad(f"missing '{key}'")
            out[key] = None
            continue
        try:
            out[key] = check(value[key])
        except _Bad as bad:
            raise _Bad(f"'{key}' {bad}") from None
    return out


def _timeline(value: Any) -> list[dict[str, Any]]:
    entries = _list_of(_timeline_entry, unique=False)(value)
    return sorted(entries, key=lambda e: e["at"])


# The kinds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], Any]
    required: bool
    default: Any = None


def _req(check: Callable[[Any], Any]) -> Field:
    return Field(check, True)


def _opt(check: Callable[[Any], Any], default: Any = None) -> Field:
    return Field(check, False, default)


_COMMON = {
    "reference": _req(_reference),
    "sender_name": _req(_line),
    "reply_to": _req(_email),
    "recipient_name": _opt(_line),
}

SPECS: dict[str, dict[str, Field]] = {
    "host_notice": {
        **_COMMON,
        "urls": _req(_list_of(_url)),
        "assessed_at": _req(_moment),
        "legal_basis": _req(_list_of(_code(LEGAL_BASES))),
        "national_law": _opt(_line),
        "hashes": _opt(_list_of(_sha256), ()),
        "respond_by": _opt(_moment),
        "do_not_inform_user": _opt(_flag, False),
        "confidential_until": _opt(_day),
    },
    "hotline_referral": {
        **_COMMON,
        "urls": _req(_list_of(_url)),
        "assessed_at": _req(_moment),
        "hosting_country": _req(_country),
        "hashes": _opt(_list_of(_sha256), ()),
        "urgent": _opt(_flag, False),
        "interpol_baseline": _opt(_flag, False),
        "host_notified_at": _opt(_moment),
        "police_informed_at": _opt(_moment),
    },
    "police_forward": {
        **_COMMON,
        "report_reference": _req(_line),
        "received_at": _req(_moment),
        "urgent": _req(_flag),
        "package_id": _req(_line),
        "package_sha256": _req(_sha256),
        "package_size": _opt(_positive_int),
        "retrieval": _opt(_line),
        "report_type": _opt(_code(REPORT_TYPES)),
        "provider_name": _opt(_line),
        "europol_informed": _opt(_flag, False),
    },
    "escalation": {
        **_COMMON,
        "urls": _req(_list_of(_url)),
        "sla_hours": _req(_positive_int),
        "timeline": _req(_timeline),
        "host_name": _opt(_line),
        "hosting_country": _opt(_country),
    },
    # A removal order (CSAR Art. 14) not executed within 24 h of its receipt (docs/orders.md).
    "order_escalation": {
        **_COMMON,
        "urls": _req(_list_of(_url)),
        "order_reference": _req(_line),
        "received_at": _req(_moment),
        "hours": _req(_positive_int),
    },
    "provider_feedback": {
        **_COMMON,
        "report_reference": _req(_line),
        "received_at": _req(_moment),
        "decided_at": _req(_moment),
        "reasons": _req(_list_of(_code(FEEDBACK_REASONS))),
        "reason_note": _opt(_note),
        "provider_report_reference": _opt(_line),
        "item_hashes": _opt(_list_of(_sha256), ()),
    },
    # Only what the partner needs: the identifier, the report reference, the reason, and a
    # confirmation request; never the report's content, persons or other identifiers.
    "financial_alert": {
        **_COMMON,
        "report_reference": _req(_line),
        "identifier_kind": _req(_code(PAYMENT_IDENTIFIER_KINDS)),
        "identifier": _req(_line),
        "reason": _req(_code(FINANCIAL_REASONS)),
        "reason_note": _opt(_note),
        "respond_by": _opt(_moment),
    },
}


def _cross_checks(kind: str, values: dict[str, Any]) -> list[str]:
    problems = []
    if kind == "host_notice" and values["confidential_until"] and not values["do_not_inform_user"]:
        problems.append("field 'confidential_until' is only allowed with do_not_inform_user true")
    if kind == "provider_feedback" and "other" in values["reasons"] and not values["reason_note"]:
        problems.append("field 'reason_note' is required when reasons include 'other'")
    if kind == "financial_alert" and values["reason"] == "other" and not values["reason_note"]:
        problems.append("field 'reason_note' is required when reason is 'other'")
    return problems


def validate_context(kind: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The context checked and completed (absent optional fields set to their default), or
    NoticeContextError listing every problem at once."""
    if kind not in SPECS:
        raise UnknownNoticeKind(f"unknown notice kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if not isinstance(context, Mapping):
        raise NoticeContextError(kind, [f"the context must be a mapping, not {type(context).__name__}"])
    spec = SPECS[kind]
    missing = [name for name, f in spec.items() if f.required and context.get(name) is None]
    unexpected = sorted(str(name) for name in context if name not in spec)
    problems = []
    if missing:
        problems.append("missing context field(s): " + ", ".join(missing))
    if unexpected:
        problems.append(f"unexpected context field(s) for {kind}: " + ", ".join(unexpected))
    values: dict[str, Any] = {}
    for name, f in spec.items():
        raw = context.get(name)
        if raw is None:
            values[name] = f.default
            continue
        try:
            values[name] = f.check(raw)
        except _Bad as bad:
            problems.append(f"field '{name}' {bad}")
    if not problems:
        problems = _cross_checks(kind, values)
    if problems:
        raise NoticeContextError(kind, problems)
    return values
