"""From a CyberTipline ``<report>`` (and the ``<fileDetails>`` of its files) to Balise's Annex III
submission (:class:`~balise.intake.report_schema.ReportIn`). docs/ncmec-api.md has the table.

The input has passed NCMEC's schema, but the schema is looser than Annex III (an "email" is any
string, dates may lack a time zone, a URL may have no scheme). Nothing that passed the schema may
make the mapping fail: a value Balise cannot type is kept as an ``other`` identifier or in the
text, and the original XML stays in the vault. What NCMEC's format does not carry at all
(signature, awareness, removal, whether this incident was also reported to NCMEC) is left
missing so that triage asks the provider for it; so is the type when the incident type and the
material do not tell it (see :func:`initial_type`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lxml import etree
from pydantic import ValidationError

from balise.domain.model import IdentifierType, PersonRole, ReportType, ServiceType, UserDecision
from balise.intake.report_schema import (
    ContactPointIn,
    GeolocationIn,
    IdentifierIn,
    ReportIn,
    check_url,
    describe_errors,
)

CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
CHILD_SEX_TOURISM = "Child Sex Tourism"
CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"

# How each incidentType of the schema becomes an Annex III type (docs/ncmec-api.md, "Type").
# The report is about material: the files decide (known or new CSAM, see decide_type); URLs
# alone are material not matched yet (new CSAM).
MATERIAL_INCIDENTS = frozenset({CHILD_PORNOGRAPHY, MISLEADING_DOMAIN_NAME, MISLEADING_WORDS_OR_IMAGES})
# The report is about an adult's sexual approach to a child online: solicitation (grooming),
# whatever files come with it (they are hashed and matched all the same).
SOLICITATION_INCIDENTS = frozenset({ONLINE_ENTICEMENT, UNSOLICITED_OBSCENE_MATERIAL})
# The report is about abuse offline or its organisation: only the files it brings (images of
# the abuse) or a solicitation annotation give an Annex III type; otherwise it stays missing
# and triage asks the provider.
CONDUCT_INCIDENTS = frozenset({CHILD_SEX_TRAFFICKING, CHILD_SEX_TOURISM, CHILD_SEXUAL_MOLESTATION})
# reportAnnotations that say the incident is solicitation of a child.
SOLICITATION_ANNOTATIONS = ("sextortion", "csamSolicitation")

SERVICE_BY_INCIDENT = {
    "webPageIncident": ServiceType.HOSTING,
    "newsgroupIncident": ServiceType.HOSTING,
    "peer2peerIncident": ServiceType.HOSTING,
    "emailIncident": ServiceType.INTERPERSONAL_COMMUNICATION,
    "chatImIncident": ServiceType.INTERPERSONAL_COMMUNICATION,
    "cellPhoneIncident": ServiceType.INTERPERSONAL_COMMUNICATION,
    "onlineGamingIncident": ServiceType.INTERPERSONAL_COMMUNICATION,
    "nonInternetIncident": ServiceType.OTHER,
}

# fileAnnotations that are flags of Balise's classification (DOMAIN.md §5).
FLAG_BY_ANNOTATION = {
    "generativeAi": "generative_ai",
    "animeDrawingVirtualHentai": "drawing_cgi",
    "possibleSelfProduction": "self_generated",
}

MAX_TEXT = 20_000
MAX_PERSONS = 1000
MAX_IDENTIFIERS = 500
MAX_VICTIMS = 100
MAX_EXIF = 500


class MappingError(ValueError):
    """The document passed the schema but cannot become an Annex III report."""


@dataclass
class StagedFile:
    """A file uploaded to the report, with its fileDetails document when one was sent."""

    part: str
    file_id: str
    filename: str | None
    details: etree._Element | None = None


@dataclass
class Mapped:
    report: ReportIn
    # Per media item (in the order of ``files``): what goes into the item's metadata beside
    # the Annex III fields: NCMEC's file details and the provider's classification suggestion.
    media_extras: list[dict[str, Any]] = field(default_factory=list)
    # Child pornography and other incidents with files: known or new CSAM is decided by
    # whether every file matched a known-CSAM indicator (see decide_type).
    type_by_matching: bool = False
    # No Annex III type can be told from the document: recorded as missing at filing, so that
    # triage asks the provider for it (the ReportIn carries a placeholder).
    type_missing: bool = False
    incident_type: str = ""
    url_items: int = 0


# -- reading the XML -------------------------------------------------------------------------


def _text(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    value = el.findtext(path)
    value = value.strip() if value else None
    return value or None


def _texts(el: etree._Element, path: str) -> list[str]:
    return [t.strip() for t in (e.text for e in el.findall(path)) if t and t.strip()]


def _bool(el: etree._Element | None, path: str) -> bool | None:
    value = _text(el, path)
    return None if value is None else value in ("true", "1")


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def aware_datetime(value: str | None) -> datetime | None:
    """An xs:dateTime with its time zone, or None (absent, without a zone, or out of range)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def element_data(el: etree._Element) -> Any:
    """An element as JSON-able data: attributes as ``@name``, repeated children as lists."""
    children = [c for c in el if isinstance(c.tag, str)]
    attributes = {f"@{k}": v for k, v in el.attrib.items()}
    if not children:
        text = (el.text or "").strip()
        if not attributes:
            return text
        return {**attributes, "value": text} if text else attributes
    data: dict[str, Any] = dict(attributes)
    for child in children:
        value = element_data(child)
        if child.tag in data:
            existing = data[child.tag]
            data[child.tag] = existing + [value] if isinstance(existing, list) else [existing, value]
        else:
            data[child.tag] = value
    return data


# -- identifiers and persons -----------------------------------------------------------------


def _identifier(kind: IdentifierType, value: str | None, *, observed: str | None = None,
                port: str | None = None, event: str | None = None) -> dict[str, Any] | None:
    """A typed identifier, or an ``other`` one when the value does not fit its type."""
    if not value:
        return None
    candidate: dict[str, Any] = {"type": kind.value, "value": _cut(value, 2000)}
    when = aware_datetime(observed)
    if when is not None:
        candidate["observed_at"] = when
    if event:
        candidate["event"] = _cut(event.lower(), 64)
    if port is not None and kind is IdentifierType.IP:
        try:
            candidate["port"] = int(port)
        except ValueError:
            pass
    try:
        return IdentifierIn.model_validate(candidate).model_dump(exclude_none=True)
    except ValidationError:
        fallback = {k: v for k, v in candidate.items() if k != "port"}
        fallback.update(type=IdentifierType.OTHER.value, value=_cut(f"{kind.value}: {value}", 2000))
        try:
            return IdentifierIn.model_validate(fallback).model_dump(exclude_none=True)
        except ValidationError:
            return None


def _phone(el: etree._Element) -> str | None:
    number = (el.text or "").strip()
    if not number:
        return None
    prefix = el.get("countryCallingCode")
    return f"{prefix} {number}" if prefix and not number.startswith("+") else number


def _ip_events(el: etree._Element, path: str = "ipCaptureEvent") -> list[dict[str, Any] | None]:
    return [
        _identifier(IdentifierType.IP, _text(ev, "ipAddress"), observed=_text(ev, "dateTime"),
                    port=_text(ev, "port"), event=_text(ev, "eventName"))
        for ev in el.findall(path)
    ]


def _device_ids(el: etree._Element) -> list[dict[str, Any] | None]:
    return [
        _identifier(IdentifierType.OTHER, f"{_text(dev, 'idType') or 'device'}: {_text(dev, 'idValue') or ''}",
                    observed=_text(dev, "dateTime"), event=_text(dev, "eventName"))
        for dev in el.findall("deviceId")
    ]


def _contact_identifiers(person: etree._Element | None) -> list[dict[str, Any] | None]:
    if person is None:
        return []
    found = [_identifier(IdentifierType.EMAIL, (e.text or "").strip()) for e in person.findall("email")]
    found += [_identifier(IdentifierType.PHONE, _phone(p)) for p in person.findall("phone")]
    return found


def _account_identifiers(el: etree._Element) -> list[dict[str, Any] | None]:
    found = [_identifier(IdentifierType.USER_ID, _text(el, "espIdentifier")),
             _identifier(IdentifierType.USERNAME, _text(el, "screenName"))]
    found += [_identifier(IdentifierType.PROFILE_URL, url) for url in _texts(el, "profileUrl")]
    found += _ip_events(el)
    found += _device_ids(el)
    return found


def _full_name(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    parts = [_text(el, "firstName"), _text(el, "middleName"), _text(el, "lastName")]
    name = " ".join(p for p in parts if p)
    return name or None


def prior_ct_reports(el: etree._Element) -> list[str]:
    """The earlier CyberTipline reports the provider names about this person or account
    (``priorCTReports``; ``priorCTReport`` on an associated account). They are NCMEC's ids of
    *other* reports about the same user, not a reference of this incident."""
    ids: list[str] = []
    for value in _texts(el, "priorCTReports") + _texts(el, "priorCTReport"):
        if value not in ids:
            ids.append(value)
    return ids


def _person(role: PersonRole, ncmec_role: str, el: etree._Element, identity: etree._Element | None,
            extra: list[dict[str, Any] | None] | None = None, label: str | None = None) -> dict[str, Any]:
    identifiers = [i for i in _contact_identifiers(identity) + _account_identifiers(el) + (extra or []) if i]
    display = (_texts(el, "displayName") or [None])[0] or _text(el, "screenName") or _full_name(identity) or label
    details: dict[str, Any] = {"ncmec_role": ncmec_role, "ncmec": element_data(el)}
    prior = prior_ct_reports(el)
    if prior:
        details["prior_ct_reports"] = prior
    return {
        "role": role.value,
        "display_name": _cut(display, 200) if display else None,
        "identifiers": identifiers[:MAX_IDENTIFIERS],
        "details": details,
    }


def _persons(doc: etree._Element) -> list[dict[str, Any]]:
    persons: list[dict[str, Any]] = []
    groups = (("personOrUserReported", "personOrUserReportedPerson", PersonRole.REPORTED_USER),
              ("intendedRecipient", "intendedRecipientPerson", PersonRole.OTHER),
              ("victim", "victimPerson", PersonRole.VICTIM))
    for tag, identity_tag, role in groups:
        for el in doc.findall(tag):
            persons.append(_person(role, tag, el, el.find(identity_tag)))
            owner = len(persons) - 1
            for account in el.findall("associatedAccount"):
                linked = _person(PersonRole.OTHER, "associatedAccount", account, account,
                                 label=f"{account.get('type', 'associated')} account")
                linked["details"]["associated_with_person"] = owner
                persons.append(linked)
    for n, details in enumerate(doc.findall("internetDetails")):
        incident = next((c for c in details if isinstance(c.tag, str)), None)
        if incident is None:
            continue
        found: list[dict[str, Any] | None] = []
        found += [_identifier(IdentifierType.EMAIL, (e.text or "").strip()) for e in incident.findall("emailAddress")]
        found += [_identifier(IdentifierType.PHONE, _phone(p)) for p in incident.findall("phoneNumber")]
        found += _ip_events(incident)
        identifiers = [i for i in found if i]
        if identifiers:
            persons.append({
                "role": PersonRole.OTHER.value,
                "display_name": f"{incident.tag} (internetDetails {n + 1})",
                "identifiers": identifiers[:MAX_IDENTIFIERS],
                "details": {"ncmec_role": "internetDetails", "incident": incident.tag,
                            "ncmec": element_data(incident)},
            })
    return persons[:MAX_PERSONS]


# -- report-level facts ----------------------------------------------------------------------


def _age_band(age: int) -> str | None:
    for low, high, band in ((0, 2, "0-2"), (3, 6, "3-6"), (7, 12, "7-12"), (13, 15, "13-15"), (16, 17, "16-17")):
        if low <= age <= high:
            return band
    return None


def _age(person: etree._Element | None, at: date) -> int | None:
    if person is None:
        return None
    given = _text(person, "age")
    if given is not None:
        try:
            return int(given)
        except ValueError:
            return None
    born = _text(person, "dateOfBirth")
    if born:
        try:
            birth = date.fromisoformat(born[:10])
        except ValueError:
            return None
        return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))
    return None


def _victims(doc: etree._Element, at: date) -> list[dict[str, Any]]:
    victims = []
    for el in doc.findall("victim")[:MAX_VICTIMS]:
        age = _age(el.find("victimPerson"), at)
        place = el.find("estimatedLocation")
        location = None
        if place is not None:
            location = ", ".join(p for p in (_text(place, "city"), _text(place, "region"), _text(place, "countryCode")) if p)
        victim: dict[str, Any] = {"age_band": _age_band(age) if age is not None else "unknown"}
        if age is not None and victim["age_band"] is None:
            victim["age_band"] = "unknown"
            victim["description"] = f"age given as {age}"
        info = _text(el, "additionalInfo")
        if info:
            victim["description"] = _cut(((victim.get("description") or "") + "\n" + info).strip(), MAX_TEXT)
        if location:
            victim["location"] = _cut(location, 500)
        victims.append(victim)
    return victims


def _user_decision(doc: etree._Element) -> UserDecision | None:
    permanent = [_bool(p, "accountPermanentlyDisabled") for p in doc.findall("personOrUserReported")]
    temporary = [_bool(p, "accountTemporarilyDisabled") for p in doc.findall("personOrUserReported")]
    if any(permanent):
        return UserDecision.TERMINATE
    if any(temporary):
        return UserDecision.SUSPEND
    if any(v is False for v in permanent + temporary):
        return UserDecision.NONE
    return None


def _contact_point(doc: etree._Element) -> dict[str, Any] | None:
    reporter = doc.find("reporter")
    person = reporter.find("contactPerson") if reporter is not None else None
    if person is None and reporter is not None:
        person = reporter.find("reportingPerson")
    if person is None:
        return None
    name = _full_name(person)
    point: dict[str, Any] = {"name": _cut(name, 200) if name else None}
    for email in _texts(person, "email"):
        try:
            ContactPointIn.model_validate({"email": email})
        except ValidationError:
            continue
        point["email"] = email
        break
    phones = [_phone(p) for p in person.findall("phone")]
    phone = next((p for p in phones if p), None)
    if phone:
        point["phone"] = _cut(phone, 64)
    point = {k: v for k, v in point.items() if v}
    return point or None


def _geolocation(doc: etree._Element) -> dict[str, Any] | None:
    geo: dict[str, Any] = {}
    for phone in doc.findall("internetDetails/cellPhoneIncident"):
        try:
            lat, lon = float(_text(phone, "latitude") or "nan"), float(_text(phone, "longitude") or "nan")
        except ValueError:
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            geo.update(latitude=lat, longitude=lon)
            break
    for address in doc.findall("internetDetails/nonInternetIncident/incidentAddress"):
        zip_code, country = _text(address, "zipCode"), _text(address, "country")
        if zip_code and len(zip_code) <= 32:
            geo["postal_code"] = zip_code
        if country and re.fullmatch(r"[A-Z]{2}", country):
            geo["country"] = country
        if geo.get("postal_code") or geo.get("country"):
            break
    if not geo:
        return None
    return GeolocationIn.model_validate(geo).model_dump(exclude_none=True)


def _service_type(doc: etree._Element) -> ServiceType:
    for details in doc.findall("internetDetails"):
        for incident in details:
            if isinstance(incident.tag, str):
                return SERVICE_BY_INCIDENT.get(incident.tag, ServiceType.OTHER)
    return ServiceType.OTHER


def _urls(doc: etree._Element) -> tuple[list[str], list[str]]:
    good: list[str] = []
    bad: list[str] = []
    for url in _texts(doc, "internetDetails/webPageIncident/url"):
        try:
            check_url(url)
        except ValueError:
            bad.append(url)
            continue
        if url not in good:
            good.append(url)
    return good, bad


def _describe_incident(incident: etree._Element) -> str:
    parts = []
    hosted = incident.get("thirdPartyHostedContent")
    if hosted is not None:
        parts.append(f"thirdPartyHostedContent: {hosted}"
                     + (" (hosted by a third party)" if hosted in ("true", "1") else ""))
    for child in incident:
        if not isinstance(child.tag, str) or child.tag in ("url", "emailAddress", "phoneNumber", "ipCaptureEvent"):
            continue
        value = element_data(child)
        if value not in ("", {}, []):
            parts.append(f"{child.tag}: {value}")
    return f"{incident.tag}" + (" — " + "; ".join(parts) if parts else "")


def _additional_info(doc: etree._Element, bad_urls: list[str]) -> str:
    summary = doc.find("incidentSummary")
    lines = ["Filed through the NCMEC CyberTipline-compatible API (/ispws)."]
    lines.append(f"Incident type: {_text(summary, 'incidentType')}")
    for label, path in (("Platform", "platform"), ("Incident time", "incidentDateTime"),
                        ("About the incident time", "incidentDateTimeDescription"),
                        ("Escalated to high priority", "escalateToHighPriority")):
        value = _text(summary, path)
        if value:
            lines.append(f"{label}: {value}")
    annotations = summary.find("reportAnnotations") if summary is not None else None
    if annotations is not None:
        tags = [c.tag for c in annotations if isinstance(c.tag, str)]
        if tags:
            lines.append("Report annotations: " + ", ".join(tags))
    batched = doc.find("batchedReport")
    if batched is not None:
        lines.append(f"Batched report: {batched.get('reason')}")
    for details in doc.findall("internetDetails"):
        for incident in details:
            if isinstance(incident.tag, str):
                lines.append("Internet details: " + _describe_incident(incident))
    if bad_urls:
        lines.append("URLs that are not http(s) (kept here, not as items): " + ", ".join(bad_urls))
    law = doc.find("lawEnforcement")
    if law is not None:
        lines.append(f"Law enforcement: {element_data(law)}")
    reporter = doc.find("reporter")
    for label, path in (("Company template", "companyTemplate"), ("Terms of service", "termsOfService"),
                        ("Legal URL", "legalURL")):
        value = _text(reporter, path)
        if value:
            lines.append(f"{label}: {value}")
    # The contact point keeps a name, an e-mail and a phone: the provider's people as sent.
    for label, path in (("Reporting person", "reportingPerson"), ("Contact person", "contactPerson")):
        person = reporter.find(path) if reporter is not None else None
        data = element_data(person) if person is not None else None
        if data not in (None, "", {}):
            lines.append(f"{label}: {data}")
    info = _text(doc, "additionalInfo")
    if info:
        lines.append(f"Additional information: {info}")
    text = "\n".join(lines)
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 80] + "\n[truncated; the original XML is kept in the evidence vault]"
    return text


# -- files -----------------------------------------------------------------------------------


def _media_item(staged: StagedFile) -> tuple[dict[str, Any], dict[str, Any]]:
    details = staged.details
    item: dict[str, Any] = {"kind": "media", "file": staged.part}
    name = (_text(details, "originalFileName") or _text(details, "fileName") or staged.filename) if details is not None \
        else staged.filename
    if name:
        item["filename"] = _cut(name, 1000)
    extras: dict[str, Any] = {"ncmec": {"file_id": staged.file_id}}
    if details is None:
        return item, extras
    location = _text(details, "locationOfFile")
    if location:
        try:
            item["url"] = check_url(location)
        except ValueError:
            pass
    metadata: dict[str, Any] = {}
    uploaded = aware_datetime(_text(details, "uploadedToEspTimestamp"))
    if uploaded is not None:
        metadata["uploaded_at"] = uploaded
    exif: dict[str, str] = {}
    hash_pairs: dict[str, str] = {}
    for block in details.findall("details"):
        target = hash_pairs if block.get("type") == "HASH" else exif
        for pair in block.findall("nameValuePair"):
            key, value = _text(pair, "name"), _text(pair, "value")
            if key and value is not None and len(target) < MAX_EXIF:
                target[_cut(key, 200)] = _cut(value, 2000)
    if exif:
        metadata["exif"] = exif
    if metadata:
        item["metadata"] = metadata
    annotations_el = details.find("fileAnnotations")
    annotations = [c.tag for c in annotations_el if isinstance(c.tag, str)] if annotations_el is not None else []
    if _bool(details, "potentialMeme"):
        annotations.append("potentialMeme")
    ncmec: dict[str, Any] = {
        "file_id": staged.file_id,
        "file_details": element_data(details),
        "relevance": _text(details, "fileRelevance"),
        "annotations": annotations,
        "industry_classification": _text(details, "industryClassification"),
        "original_file_hashes": [{"type": h.get("hashType"), "value": (h.text or "").strip()}
                                 for h in details.findall("originalFileHash")],
    }
    if hash_pairs:
        ncmec["hash_details"] = hash_pairs
    extras["ncmec"] = {k: v for k, v in ncmec.items() if v not in (None, [], {})}
    suggestion: dict[str, Any] = {}
    if ncmec["industry_classification"]:
        suggestion["ncmec_category"] = ncmec["industry_classification"]
    flags = sorted({FLAG_BY_ANNOTATION[a] for a in annotations if a in FLAG_BY_ANNOTATION})
    if flags:
        suggestion["flags"] = flags
    if "infant" in annotations:
        suggestion["youngest_age_band"] = "0-2"
    if suggestion:
        # A suggestion from the provider, never an assessment: the analyst decides.
        extras["classification_suggestion"] = {"source": "provider (NCMEC fileDetails)", **suggestion}
    return item, extras


# -- the whole report ------------------------------------------------------------------------


def map_report(doc: etree._Element, files: list[StagedFile], received_at: datetime) -> Mapped:
    """The Annex III submission for a CyberTipline report and its files. Raises MappingError
    (with the field errors) if the result is not a valid ReportIn."""
    summary = doc.find("incidentSummary")
    incident_type = _text(summary, "incidentType") or ""
    escalation = _text(summary, "escalateToHighPriority")
    good_urls, bad_urls = _urls(doc)
    media = [_media_item(f) for f in files]
    annotations = summary.find("reportAnnotations") if summary is not None else None
    signals = [a for a in SOLICITATION_ANNOTATIONS if annotations is not None and _bool(annotations, a)]
    report_type, by_matching = initial_type(incident_type, files=bool(files), urls=bool(good_urls),
                                            solicitation_signals=bool(signals))
    incident_at = aware_datetime(_text(summary, "incidentDateTime")) or received_at
    contact = _contact_point(doc)
    document: dict[str, Any] = {
        "reported_at": received_at,
        # A placeholder when the type is missing: the filing records it as unknown.
        "type": (report_type or ReportType.SOLICITATION).value,
        "service": {"type": _service_type(doc).value},
        # Not in NCMEC's format: placeholders that the filing records as unknown (see
        # IspwsService.finish), so that triage asks the provider.
        "awareness": {"source": "other", "detail": "not stated in the NCMEC CyberTipline format"},
        "content_removed": False,
        "user_decision": (_user_decision(doc) or None),
        "urgent": bool(escalation),
        "imminent_threat": bool(escalation),
        "provider": {"contact_point": contact} if contact else None,
        "victims": _victims(doc, incident_at.date()),
        "geolocation": _geolocation(doc),
        "persons": _persons(doc),
        "additional_info": _additional_info(doc, bad_urls),
        "items": [item for item, _ in media] + [{"kind": "url", "url": url} for url in good_urls],
    }
    document = {k: v for k, v in document.items() if v is not None}
    empty = not document["items"]
    if empty:
        # Annex III intake wants an item; a report of a chat or a meeting may have none.
        document["items"] = [{"kind": "url", "url": "https://placeholder.invalid/"}]
    try:
        report = ReportIn.model_validate(document)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise MappingError("; ".join(f"{f['field']}: {f['message']}" for f in fields)) from exc
    if empty:
        report = report.model_copy(update={"items": []})
    return Mapped(report=report, media_extras=[extras for _, extras in media], type_by_matching=by_matching,
                  type_missing=report_type is None, incident_type=incident_type, url_items=len(good_urls))


def initial_type(incident_type: str, *, files: bool, urls: bool,
                 solicitation_signals: bool) -> tuple[ReportType | None, bool]:
    """(Annex III type, whether the files decide it at filing), or (None, False) when the
    document does not say: triage then asks the provider. See MATERIAL_INCIDENTS & al."""
    if incident_type in SOLICITATION_INCIDENTS:
        return ReportType.SOLICITATION, False
    if files and (incident_type in MATERIAL_INCIDENTS or incident_type in CONDUCT_INCIDENTS):
        return ReportType.NEW_CSAM, True  # known CSAM if every file matches (decide_type)
    if urls and incident_type in MATERIAL_INCIDENTS:
        return ReportType.NEW_CSAM, False
    if solicitation_signals:
        return ReportType.SOLICITATION, False
    return None, False


def decide_type(media_matches: list[list[dict[str, Any]]]) -> ReportType:
    """Known CSAM when there is media and every file matched a known-CSAM indicator; otherwise
    new CSAM (unmatched material may show a child not yet identified)."""
    if media_matches and all(any(m.get("kind") == "known_csam" for m in matches) for matches in media_matches):
        return ReportType.KNOWN_CSAM
    return ReportType.NEW_CSAM
