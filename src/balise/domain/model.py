"""The vocabulary of reports, items, organisations and people (DOMAIN.md §1, §2)."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    PROVIDER = "provider"
    HOTLINE = "hotline"
    LAW_ENFORCEMENT = "law_enforcement"
    CENTRE = "centre"
    # Issues orders (CSAR Art. 7, 14, 16) with its API key (docs/orders.md).
    # A Member State's coordinating authority (CSAR Art. 25): submits confirmed material (Art. 36).
    # Files victims' requests on their behalf (CSAR Art. 20, 21; docs/victims.md).
    COORDINATING_AUTHORITY = "coordinating_authority"


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    SENIOR_ANALYST = "senior-analyst"
    LE_LIAISON = "le-liaison"
    AUDITOR = "auditor"


class Scope(StrEnum):
    REPORTS_WRITE = "reports:write"
    REPORTS_READ = "reports:read"
    MATCH = "match"
    # Search the cross-report entity index (docs/intelligence.md); also needs a read_reports grant.
    ENTITIES_SEARCH = "entities:search"


class ReportSource(StrEnum):
    PROVIDER_API = "provider_api"
    NCMEC_XML = "ncmec_xml"
    PUBLIC_FORM = "public_form"
    HOTLINE = "hotline"


class ReportType(StrEnum):
    """Annex III point 7."""

    KNOWN_CSAM = "known_csam"
    NEW_CSAM = "new_csam"
    SOLICITATION = "solicitation"


class ServiceType(StrEnum):
    """Annex III point 8."""

    HOSTING = "hosting"
    INTERPERSONAL_COMMUNICATION = "interpersonal_communication"
    OTHER = "other"


class AwarenessSource(StrEnum):
    """Annex III point 9: how the provider became aware."""

    DETECTION_ORDER = "detection_order"
    PUBLIC_AUTHORITY = "public_authority"
    HOTLINE_OR_TRUSTED_FLAGGER = "hotline_or_trusted_flagger"
    USER_FLAG = "user_flag"
    OWN_MOTION = "own_motion"
    OTHER = "other"


class UserDecision(StrEnum):
    """Annex III point 12: the provider's decision on the user."""

    NONE = "none"
    BLOCK = "block"
    SUSPEND = "suspend"
    TERMINATE = "terminate"


class ItemKind(StrEnum):
    MEDIA = "media"
    URL = "url"
    HASH_ONLY = "hash_only"


class MediaType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"


class IdentifierType(StrEnum):
    """Annex III point 6 (and 5 for IP addresses)."""

    USERNAME = "username"
    EMAIL = "email"
    PHONE = "phone"
    IP = "ip"
    PAYMENT = "payment"
    CRYPTO_WALLET = "crypto_wallet"
    USER_ID = "user_id"
    PROFILE_URL = "profile_url"
    OTHER = "other"


class PersonRole(StrEnum):
    REPORTED_USER = "reported_user"
    VICTIM = "victim"
    OTHER = "other"


class ActorType(StrEnum):
    STAFF = "staff"
    ORGANISATION = "organisation"
    SYSTEM = "system"
    PUBLIC = "public"


# Hex lengths of the hashes a report or indicator may carry.
HASH_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
