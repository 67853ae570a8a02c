"""The partner directory's vocabulary and its seed: every EU Member State with its official
languages, its INHOPE hotline(s) where one is known, a police contact point, and a
coordinating authority; plus Europol.

Seeded entries name organisations but carry no endpoint: an administrator must configure and
verify each channel before anything is delivered to it (the "export" channel writes to a
local directory, so that nothing leaves the machine by default). Police units and
coordinating authorities are named generically because the competent unit is each centre's
own agreement with its national authorities.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PartnerKind(StrEnum):
    HOTLINE = "hotline"
    POLICE = "police"
    EUROPOL = "europol"
    COORDINATING_AUTHORITY = "coordinating_authority"
    # Financial partners (docs/intelligence.md#financial-partners): alerted about a payment
    # identifier a report names, after an analyst decides.
    BANK = "bank"
    CARD_SCHEME = "card_scheme"
    PAYMENT_PROVIDER = "payment_provider"
    CRYPTO_EXCHANGE = "crypto_exchange"


FINANCIAL_KINDS = frozenset({PartnerKind.BANK, PartnerKind.CARD_SCHEME, PartnerKind.PAYMENT_PROVIDER,
                             PartnerKind.CRYPTO_EXCHANGE})


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    # Written as files under the export directory, for partners served by hand or by a
    # separate secure transfer.
    EXPORT = "export"
    NONE = "none"


@dataclass(frozen=True)
class MemberState:
    code: str
    name: str
    languages: tuple[str, ...]
    hotlines: tuple[str, ...]


# ISO 3166-1 alpha-2 (Greece is GR, not the EU's "EL"); official languages as ISO 639-1.
EU_MEMBER_STATES: tuple[MemberState, ...] = (
    MemberState("AT", "Austria", ("de",), ("Stopline",)),
    MemberState("BE", "Belgium", ("nl", "fr", "de"), ("Child Focus",)),
    MemberState("BG", "Bulgaria", ("bg",), ("Safenet (Bulgarian Safer Internet Centre)",)),
    MemberState("HR", "Croatia", ("hr",), ("Croatian Safer Internet Centre hotline",)),
    MemberState("CY", "Cyprus", ("el", "tr"), ("Cyberethics hotline",)),
    MemberState("CZ", "Czechia", ("cs",), ("Stop Online",)),
    MemberState("DK", "Denmark", ("da",), ("Red Barnet",)),
    MemberState("EE", "Estonia", ("et",), ("Vihjeliin",)),
    MemberState("FI", "Finland", ("fi", "sv"), ("Nettivihje",)),
    MemberState("FR", "France", ("fr",), ("Point de Contact",)),
    MemberState("DE", "Germany", ("de",), ("eco Beschwerdestelle", "FSM Beschwerdestelle", "jugendschutz.net")),
    MemberState("GR", "Greece", ("el",), ("SafeLine",)),
    MemberState("HU", "Hungary", ("hu",), ("Internet Hotline (NMHH)",)),
    MemberState("IE", "Ireland", ("en", "ga"), ("Hotline.ie",)),
    MemberState("IT", "Italy", ("it",), ("Telefono Azzurro", "Save the Children Italia")),
    MemberState("LV", "Latvia", ("lv",), ("Drossinternets.lv",)),
    MemberState("LT", "Lithuania", ("lt",), ("Švarus internetas",)),
    MemberState("LU", "Luxembourg", ("lb", "fr", "de"), ("BEE SECURE Stopline",)),
    MemberState("MT", "Malta", ("mt", "en"), ("BeSmartOnline! hotline",)),
    MemberState("NL", "Netherlands", ("nl",), ("Offlimits",)),
    MemberState("PL", "Poland", ("pl",), ("Dyżurnet.pl",)),
    MemberState("PT", "Portugal", ("pt",), ("Linha Internet Segura",)),
    MemberState("RO", "Romania", ("ro",), ("Ora de Net",)),
    MemberState("SK", "Slovakia", ("sk",), ("Stopline.sk",)),
    MemberState("SI", "Slovenia", ("sl",), ("Spletno oko",)),
    MemberState("ES", "Spain", ("es",), ("INCIBE hotline",)),
    MemberState("SE", "Sweden", ("sv",), ("ECPAT Sverige hotline",)),
)

EU_CODES = frozenset(m.code for m in EU_MEMBER_STATES)
BY_CODE = {m.code: m for m in EU_MEMBER_STATES}
EUROPOL_NAME = "Europol — European Cybercrime Centre (EC3)"


@dataclass(frozen=True)
class SeedPartner:
    kind: PartnerKind
    country: str | None
    name: str
    languages: tuple[str, ...]


def seed_partners() -> list[SeedPartner]:
    seeds = [SeedPartner(PartnerKind.EUROPOL, None, EUROPOL_NAME, ("en",))]
    for state in EU_MEMBER_STATES:
        for hotline in state.hotlines:
            seeds.append(SeedPartner(PartnerKind.HOTLINE, state.code, hotline, state.languages))
        seeds.append(SeedPartner(PartnerKind.POLICE, state.code,
                                 f"National police contact point for child sexual abuse online — {state.name}",
                                 state.languages))
        seeds.append(SeedPartner(PartnerKind.COORDINATING_AUTHORITY, state.code,
                                 f"Coordinating Authority for child sexual abuse — {state.name}", state.languages))
    return seeds
