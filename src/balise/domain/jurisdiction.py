"""Which Member State is likely to have jurisdiction over a report (CSAR Art. 48(3)).

The countries of a report are kept apart (INHOPE ICCAM): where it was reported, where the
material is hosted, where it was uploaded from. Each indication adds weight to a country:

| indication | weight | why |
|---|---|---|
| an upload IP address geolocates there | 3 | the offender most likely acted from there |
| the report's own geolocation (GPS, postal address) is there | 3 | the child or offender is there |
| the material is hosted there, not behind a CDN | 1 | the host is there; the offender may not be |
| the reporting provider is established there | 1 | weak: where the service is, not the people |

Only EU Member States can receive a report. The State with the highest weight wins with
confidence *high* (weight ≥ 3, no other State ≥ 3), *medium* (weight 2, or a second State
also ≥ 3 behind it) or *low* (weight 1). A report goes to Europol **and** that State when the
confidence is high or medium; otherwise to Europol only, with the reasons (the State cannot
be determined with sufficient certainty).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from balise.domain.partners import EU_CODES

UPLOAD, GEOLOCATION, HOSTED, PROVIDER = 3, 3, 1, 1
SUFFICIENT = ("high", "medium")


@dataclass(frozen=True)
class HostedUrl:
    country: str | None
    cdn: str | None = None


@dataclass
class Facts:
    reported_country: str | None = None
    hosted: list[HostedUrl] = field(default_factory=list)
    uploaded_countries: list[str] = field(default_factory=list)
    geolocation_country: str | None = None
    provider_country: str | None = None


@dataclass(frozen=True)
class Decision:
    member_state: str | None
    confidence: str  # high, medium, low, none
    reasons: list[dict[str, object]]

    @property
    def forward_to_state(self) -> bool:
        return self.member_state is not None and self.confidence in SUFFICIENT


def decide(facts: Facts) -> Decision:
    weights: dict[str, int] = defaultdict(int)
    reasons: list[dict[str, object]] = []

    def note(code: str, country: str | None, weight: int, text: str) -> None:
        counts = country in EU_CODES
        if counts and country is not None:
            weights[country] += weight
        reasons.append({"code": code, "country": country, "weight": weight if counts else 0,
                        "text": text + ("" if counts or country is None else " (outside the EU)")})

    for country in sorted(set(facts.uploaded_countries)):
        note("uploaded_from", country, UPLOAD, f"an upload IP address geolocates to {country}")
    if facts.geolocation_country:
        note("geolocation", facts.geolocation_country, GEOLOCATION,
             f"the report's geolocation is in {facts.geolocation_country}")
    for country in sorted({h.country for h in facts.hosted if h.country and not h.cdn}):
        note("hosted_in", country, HOSTED, f"the material is hosted in {country}")
    for cdn in sorted({h.cdn for h in facts.hosted if h.cdn}):
        reasons.append({"code": "cdn", "country": None, "weight": 0,
                        "text": f"the URL is fronted by {cdn}: the real hosting country is unknown"})
    if facts.provider_country:
        note("provider_established", facts.provider_country, PROVIDER,
             f"the reporting provider is established in {facts.provider_country}")

    if not weights:
        reasons.append({"code": "undetermined", "country": None, "weight": 0,
                        "text": "no indication points to an EU Member State"})
        return Decision(None, "none", reasons)
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    best, weight = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if runner_up == weight:
        tied = ", ".join(c for c, w in ranked if w == weight)
        reasons.append({"code": "conflict", "country": None, "weight": 0,
                        "text": f"indications point equally to {tied}"})
        return Decision(None, "low", reasons)
    if weight >= 3 and runner_up < 3:
        confidence = "high"
    elif weight >= 2:
        confidence = "medium"
    else:
        confidence = "low"
    return Decision(best, confidence, reasons)
