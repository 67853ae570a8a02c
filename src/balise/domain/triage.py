"""Triage rules: completeness against Annex III and the priority score with its reasons.

The machine suggests; a human decides. Nothing here forwards or dismisses a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from balise.domain.series import SeriesLink, triage_reasons

# Annex III information a report should carry, with the point it comes from. Intake refuses
# a report without the core fields (type, time stamp, service, awareness, removal, items);
# these are the ones whose absence sends the report back to the provider.
COMPLETENESS: tuple[tuple[str, str], ...] = (
    ("signature", "Annex III 2: electronic signature of the provider"),
    ("provider.contact_point", "Annex III 1: the provider's contact point"),
    ("user_decision", "Annex III 12: decision taken on the user"),
    ("reported_elsewhere", "Annex III 10: whether also reported to a third-country body"),
    # Required by the JSON API; missing only from formats that lack them (NCMEC's).
    ("awareness", "Annex III 9: how the provider became aware"),
    ("content_removed", "Annex III 11: whether the provider removed or disabled the material"),
    # Required by the JSON API; missing when a CyberTipline incident type names none.
    ("type", "Annex III 7: type of report (known CSAM, new CSAM or solicitation of children)"),
)
PROVIDER_SOURCES = frozenset({"provider_api", "ncmec_xml"})

# Points of the score. Urgent reports always come first, whatever the rest adds up to.
URGENT = 100_000
IMMINENT_THREAT = 5_000
NEW_MATERIAL_PER_ITEM = 300
NEW_MATERIAL_CAP = 3_000
VICTIM_INFO = 1_000
AGE_BAND_POINTS = {"0-2": 2_500, "3-6": 2_000, "7-12": 1_500, "13-15": 800, "16-17": 400}
PER_HOUR_WAITING = 50
WAIT_CAP = 4_000
SLA = timedelta(hours=24)
URGENT_SLA = timedelta(hours=1)


@dataclass(frozen=True)
class Reason:
    code: str
    points: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "detail": self.detail}


def missing_fields(report: dict[str, Any]) -> list[str]:
    """Names of the Annex III fields a provider report lacks (empty for other sources)."""
    if report.get("source") not in PROVIDER_SOURCES:
        return []
    missing = []
    for name, _ in COMPLETENESS:
        value: Any = report
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in (None, "", {}, []):
            missing.append(name)
    return missing


def describe_missing(names: list[str]) -> list[dict[str, str]]:
    labels = dict(COMPLETENESS)
    return [{"field": n, "why": labels.get(n, n)} for n in names]


def priority(
    *,
    urgent: bool,
    imminent_threat: bool,
    unmatched_media: int,
    victims: list[dict[str, Any]] | None,
    received_at: datetime,
    now: datetime,
    series_links: list[SeriesLink] | None = None,
) -> tuple[int, list[Reason]]:
    reasons: list[Reason] = []
    if urgent:
        reasons.append(Reason("urgent", URGENT, "the provider says urgent action is needed"))
    if imminent_threat:
        reasons.append(Reason("imminent_threat", IMMINENT_THREAT, "imminent threat to a child's life or safety"))
    if unmatched_media:
        points = min(NEW_MATERIAL_CAP, unmatched_media * NEW_MATERIAL_PER_ITEM)
        reasons.append(Reason("new_material", points, f"{unmatched_media} item(s) match no indicator: possibly new victims"))
    if victims:
        reasons.append(Reason("victim_information", VICTIM_INFO, "the report carries information on a child victim"))
        bands = [v.get("age_band") for v in victims if v.get("age_band") in AGE_BAND_POINTS]
        if bands:
            youngest = min(bands, key=lambda b: int(b.split("-")[0]))
            reasons.append(Reason("youngest_age_band", AGE_BAND_POINTS[youngest], f"youngest victim {youngest} years"))
    # Items landing in a series known from other reports: higher when its victim is not
    # identified (possible ongoing abuse); said, without points, when identified.
    reasons += [Reason(code, points, detail) for code, points, detail in triage_reasons(series_links or [])]
    hours = max(0, int((now - received_at).total_seconds() // 3600))
    if hours:
        reasons.append(Reason("waiting", min(WAIT_CAP, hours * PER_HOUR_WAITING), f"waiting {hours} h"))
    return sum(r.points for r in reasons), reasons


def sla_deadline(received_at: datetime, urgent: bool) -> datetime:
    return received_at + (URGENT_SLA if urgent else SLA)
