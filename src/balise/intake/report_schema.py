"""The provider report as submitted: CSAR Annex III (DOMAIN.md §1), validated.

Unknown fields are refused (a typo should not silently drop information), every string has a
length limit, and each error names its field.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from balise.domain.model import (
    HASH_HEX_LENGTHS,
    AwarenessSource,
    IdentifierType,
    MediaType,
    PersonRole,
    ReportType,
    ServiceType,
    UserDecision,
)

Short = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=20_000)]
MAX_URL = 8192
PART_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def check_url(value: str) -> str:
    if len(value) > MAX_URL:
        raise ValueError(f"URL longer than {MAX_URL} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("URL contains control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"malformed URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("URL must be http or https")
    if not parts.hostname:
        raise ValueError("URL has no host")
    return value


class ContactPointIn(_Strict):
    name: Short | None = None
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None


class ProviderIn(_Strict):
    contact_point: ContactPointIn | None = None
    legal_representative: Annotated[str, Field(max_length=2000)] | None = None


class ServiceIn(_Strict):
    type: ServiceType
    url: str | None = None

    _url = field_validator("url")(lambda v: None if v is None else check_url(v))


class AwarenessIn(_Strict):
    source: AwarenessSource
    detail: Text | None = None

    @model_validator(mode="after")
    def _other_needs_detail(self) -> AwarenessIn:
        if self.source is AwarenessSource.OTHER and not self.detail:
            raise ValueError("awareness.detail is required when awareness.source is 'other'")
        return self


class ReportedElsewhereIn(_Strict):
    reported: bool
    body: Short | None = None
    reference: Short | None = None


class VictimIn(_Strict):
    age_band: Literal["0-2", "3-6", "7-12", "13-15", "16-17", "unknown"] | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    description: Text | None = None
    location: Annotated[str, Field(max_length=500)] | None = None


class GeolocationIn(_Strict):
    postal_code: Annotated[str, Field(max_length=32)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class IdentifierIn(_Strict):
    type: IdentifierType
    value: Annotated[str, Field(min_length=1, max_length=2000)]
    observed_at: AwareDatetime | None = None
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    event: Annotated[str, Field(max_length=64)] | None = None

    @model_validator(mode="after")
    def _typed_value(self) -> IdentifierIn:
        if self.type is IdentifierType.IP:
            try:
                self.value = str(ipaddress.ip_address(self.value))
            except ValueError as exc:
                raise ValueError(f"{self.value!r} is not an IP address") from exc
        elif self.type is IdentifierType.EMAIL and not re.fullmatch(r"[^@\s]+@[^@\s]+", self.value):
            raise ValueError(f"{self.value!r} is not an email address")
        elif self.type is IdentifierType.PHONE and not re.fullmatch(r"\+?[0-9 ()./-]{3,40}", self.value):
            raise ValueError(f"{self.value!r} is not a phone number")
        elif self.port is not None and self.type is not IdentifierType.IP:
            raise ValueError("port applies only to IP identifiers")
        return self


class PersonIn(_Strict):
    role: PersonRole = PersonRole.REPORTED_USER
    display_name: Short | None = None
    identifiers: Annotated[list[IdentifierIn], Field(max_length=500)] = []
    details: dict[str, Any] | None = None


class HashesIn(_Strict):
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: Annotated[int, Field(ge=0, le=100)] | None = None
    photodna: Annotated[str, Field(max_length=1000)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _lowercase(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: (v.strip().lower() if isinstance(v, str) and k in HASH_HEX_LENGTHS else v)
                for k, v in data.items()
            }
        return data

    @model_validator(mode="after")
    def _hex(self) -> HashesIn:
        for name, length in HASH_HEX_LENGTHS.items():
            value = getattr(self, name)
            if value is not None and not re.fullmatch(rf"[0-9a-f]{{{length}}}", value):
                raise ValueError(f"{name} must be {length} hexadecimal characters")
        return self

    def present(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class MetadataIn(_Strict):
    """Annex III point 4: media metadata (date, time, time zone) and free tags."""

    created_at: AwareDatetime | None = None
    modified_at: AwareDatetime | None = None
    uploaded_at: AwareDatetime | None = None
    exif: dict[str, str] | None = None


class MediaItemIn(_Strict):
    kind: Literal["media"]
    file: Annotated[str, Field(pattern=PART_NAME_RE.pattern)] = Field(
        description="name of the multipart part holding the file"
    )
    filename: Annotated[str, Field(max_length=1000)] | None = None
    hashes: HashesIn | None = Field(
        default=None, description="hashes the provider computed; checked against the file"
    )
    metadata: MetadataIn | None = None
    url: str | None = None

    _url = field_validator("url")(lambda v: None if v is None else check_url(v))


class UrlItemIn(_Strict):
    kind: Literal["url"]
    url: str
    metadata: MetadataIn | None = None

    _url = field_validator("url")(check_url)


class HashOnlyItemIn(_Strict):
    kind: Literal["hash_only"]
    media_type: MediaType = MediaType.IMAGE
    hashes: HashesIn
    filename: Annotated[str, Field(max_length=1000)] | None = None
    metadata: MetadataIn | None = None

    @model_validator(mode="after")
    def _some_hash(self) -> HashOnlyItemIn:
        if not (self.hashes.md5 or self.hashes.sha1 or self.hashes.sha256 or self.hashes.pdq or self.hashes.photodna):
            raise ValueError("a hash_only item needs at least one hash")
        return self


ItemIn = Annotated[MediaItemIn | UrlItemIn | HashOnlyItemIn, Field(discriminator="kind")]


class ReportIn(_Strict):
    """A provider report. Required: Annex III points 2 (time stamp), 7, 8, 9, 11 and at least
    one item (3). The rest is completed later if missing (triage asks the provider)."""

    reported_at: AwareDatetime = Field(description="Annex III 2: when the provider made the report, with its time zone")
    signature: Annotated[str, Field(max_length=10_000)] | None = Field(
        default=None, description="Annex III 2: the provider's electronic signature"
    )
    type: ReportType = Field(description="Annex III 7")
    service: ServiceIn = Field(description="Annex III 8")
    awareness: AwarenessIn = Field(description="Annex III 9")
    content_removed: bool = Field(description="Annex III 11")
    user_decision: UserDecision | None = Field(default=None, description="Annex III 12")
    reported_elsewhere: ReportedElsewhereIn | None = Field(default=None, description="Annex III 10")
    urgent: bool = Field(default=False, description="Annex III 13: urgent action needed")
    imminent_threat: bool = Field(default=False, description="Annex III 13: imminent threat to a child's life or safety")
    provider: ProviderIn | None = Field(default=None, description="Annex III 1")
    victims: Annotated[list[VictimIn], Field(max_length=100)] = []
    geolocation: GeolocationIn | None = None
    persons: Annotated[list[PersonIn], Field(max_length=1000)] = []
    additional_info: Text | None = None
    items: Annotated[list[ItemIn], Field(min_length=1)]

    @model_validator(mode="after")
    def _parts_unique(self) -> ReportIn:
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if isinstance(item, MediaItemIn):
                if item.file in seen:
                    raise ValueError(f"items.{index}.file: part {item.file!r} is used twice")
                seen.add(item.file)
        return self

    def file_parts(self) -> list[str]:
        return [i.file for i in self.items if isinstance(i, MediaItemIn)]


def describe_errors(exc: ValidationError) -> tuple[list[dict[str, str]], list[str]]:
    """Pydantic's errors as ``[{field, message}]`` plus the list of missing fields."""
    errors, missing = [], []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        # Drop the discriminator tag pydantic inserts into union locations.
        loc = [p for p in loc if p not in ("media", "url", "hash_only") or p == loc[-1]]
        field = ".".join(loc) or "(body)"
        if err["type"] == "missing":
            missing.append(field)
        message = err["msg"].removeprefix("Value error, ")
        errors.append({"field": field, "message": message})
    return errors, missing
