"""Retention rules (docs/retention.md): how long each kind of record is kept, and what makes a
report exempt. Pure: dates in, decisions out.

A closed report is not deleted but *redacted*: it stays as a statistical skeleton (source, type,
service type, state, outcome and reason codes, urgency, dates, organisation, item hashes and
times reported, notice-and-takedown timestamps, jurisdiction countries) with no personal data
and no content, because the transparency figures of CSAR Art. 83 count closed reports for years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from balise.domain.states import ReportState


class Rule(StrEnum):
    """Why a record is due. Report rules redact; the others delete rows."""

    UNFOUNDED = "unfounded"
    FORWARDED = "forwarded"
    RETRACTED = "retracted"
    PUBLIC_CONTACT = "public_contact"
    PUBLIC_CONTACT_MAX = "public_contact_max"
    JOBS = "jobs"
    IDEMPOTENCY_KEYS = "idempotency_keys"
    RDAP_CACHE = "rdap_cache"
    REVEAL_TOKENS = "reveal_tokens"


REPORT_RULES = (Rule.UNFOUNDED, Rule.FORWARDED, Rule.RETRACTED)
CONTACT_RULES = (Rule.PUBLIC_CONTACT, Rule.PUBLIC_CONTACT_MAX)
HOUSEKEEPING_RULES = (Rule.JOBS, Rule.IDEMPOTENCY_KEYS, Rule.RDAP_CACHE, Rule.REVEAL_TOKENS)

RULE_STATES: dict[Rule, tuple[str, ...]] = {
    Rule.UNFOUNDED: (ReportState.MANIFESTLY_UNFOUNDED.value,),
    Rule.FORWARDED: (ReportState.FORWARDED_EUROPOL_AND_STATE.value, ReportState.FORWARDED_EUROPOL_ONLY.value),
    Rule.RETRACTED: (ReportState.RETRACTED.value,),
}

RULE_TEXT: dict[Rule, str] = {
    Rule.UNFOUNDED: "report closed manifestly unfounded: redacted after BALISE_RETENTION_UNFOUNDED_DAYS",
    Rule.FORWARDED: "report forwarded to law enforcement: redacted after BALISE_RETENTION_FORWARDED_DAYS",
    Rule.RETRACTED: "report retracted: redacted after BALISE_RETENTION_RETRACTED_DAYS",
    Rule.PUBLIC_CONTACT: "public reporter's contact: deleted BALISE_RETENTION_PUBLIC_CONTACT_DAYS after the report closed",
    Rule.PUBLIC_CONTACT_MAX: "public reporter's contact: deleted BALISE_RETENTION_PUBLIC_CONTACT_MAX_DAYS after filing",
    Rule.JOBS: "finished background jobs: deleted after BALISE_RETENTION_JOBS_DAYS (failed jobs are kept)",
    Rule.IDEMPOTENCY_KEYS: "Idempotency-Keys: forgotten after BALISE_RETENTION_IDEMPOTENCY_DAYS",
    Rule.RDAP_CACHE: "RDAP cache entries: deleted once expired",
    Rule.REVEAL_TOKENS: "media reveal tokens: deleted an hour after they expire (the audit trail keeps each reveal)",
}


class Exemption(StrEnum):
    """Why a report that is due is kept anyway. Each ends, and retention then resumes."""

    HOLD = "law_enforcement_hold"
    TAKEDOWN = "takedown_open"
    INDICATOR = "live_indicator"
    DELIVERY = "delivery_open"


EXEMPTION_TEXT: dict[Exemption, str] = {
    Exemption.HOLD: "a law-enforcement hold applies (CSAR Art. 48(6)); retention resumes when it is lifted or expires",
    Exemption.TAKEDOWN: "removal of a reported URL is still being verified (takedown pending, watching or on hold)",
    Exemption.INDICATOR: "the report is the source of an indicator still candidate, active or suspended "
                         "(CSAR Art. 36, 44: the submission is kept as long as the indicator)",
    Exemption.DELIVERY: "a notice or routing job for the report is still to be delivered",
}

# Indicator statuses that keep their source report; a deleted indicator releases it.
LIVE_INDICATOR_STATUSES = ("candidate", "candidate_awaiting_authority", "active", "suspended")
# Takedown statuses of a removal still being worked on.
OPEN_TAKEDOWN_STATUSES = ("pending", "watching", "on_hold", "referred")
# Notices not yet (finally) delivered: redacting their text would send the marker instead.
OPEN_NOTICE_STATUSES = ("pending", "held")


@dataclass(frozen=True)
class Policy:
    unfounded: timedelta
    forwarded: timedelta
    retracted: timedelta
    public_contact: timedelta
    public_contact_max: timedelta
    jobs: timedelta
    idempotency_keys: timedelta

    @classmethod
    def from_days(cls, *, unfounded: int, forwarded: int, retracted: int, public_contact: int,
                  public_contact_max: int, jobs: int, idempotency_keys: int) -> Policy:
        return cls(*(timedelta(days=d) for d in (unfounded, forwarded, retracted, public_contact,
                                                  public_contact_max, jobs, idempotency_keys)))

    def period(self, rule: Rule) -> timedelta:
        if rule in (Rule.RDAP_CACHE, Rule.REVEAL_TOKENS):
            return timedelta(0)  # due at its own expiry
        return getattr(self, rule.value)  # type: ignore[no-any-return]

    def cutoff(self, rule: Rule, now: datetime) -> datetime:
        """Records of this rule whose start is at or before the cutoff are due."""
        return now - self.period(rule)


def rule_for_state(state: str) -> Rule | None:
    for rule, states in RULE_STATES.items():
        if state in states:
            return rule
    return None


def redaction_marker(moment: datetime) -> str:
    """What replaces a redacted text that must stay non-empty (a notice's subject and body)."""
    return f"[redacted by retention on {moment:%Y-%m-%d}]"
