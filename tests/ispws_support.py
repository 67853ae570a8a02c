"""Helpers for the /ispws (NCMEC CyberTipline-compatible API) tests: credentials, CyberTipline
documents written from the schema's element definitions (all values DEMO, addresses from the
documentation ranges), and checks that every answer has the schema's response shape."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lxml import etree

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind

XSD_PATH = Path(__file__).resolve().parents[1] / "src" / "balise" / "intake" / "ncmec" / "report.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"
_SCHEMA: etree.XMLSchema | None = None


def schema() -> etree.XMLSchema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = etree.XMLSchema(etree.parse(str(XSD_PATH)))
    return _SCHEMA


def make_ispws_provider(balise: Balise, name: str = "DEMO Platform") -> tuple[Any, str, str]:
    """(organisation id, user name, password)."""
    with balise.db.transaction() as session:
        org = balise.organisations.create(session, Actor.system("test"), name=name, kind=OrgKind.PROVIDER, country="FR")
        issued = balise.ispws.issue_credential(session, Actor.system("test"), org)
        return org.id, issued.username, issued.password


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def answer(response: Any) -> etree._Element:
    """The XML answer, checked against the schema's response elements and for a Request-ID."""
    assert response.headers.get("request-id"), "every answer carries a Request-ID"
    assert response.headers["content-type"].startswith("application/xml"), response.text
    root = etree.fromstring(response.content)
    assert root.tag in ("reportResponse", "reportDoneResponse"), response.text
    assert schema().validate(root), f"{schema().error_log}\n{response.text}"
    return root


def code(response: Any) -> int:
    return int(answer(response).findtext("responseCode"))


def description(response: Any) -> str:
    return answer(response).findtext("responseDescription") or ""


XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


def submit(client: Any, auth: dict[str, str], document: bytes | str) -> Any:
    body = document.encode() if isinstance(document, str) else document
    return client.post("/ispws/submit", content=body, headers={**auth, **XML_HEADERS})


def open_report(client: Any, auth: dict[str, str], document: bytes | str | None = None) -> int:
    r = submit(client, auth, document if document is not None else minimal_report())
    assert r.status_code == 200 and code(r) == 0, r.text
    return int(answer(r).findtext("reportId"))


def upload(client: Any, auth: dict[str, str], report_id: int | str, content: bytes, name: str = "demo.jpg") -> Any:
    return client.post("/ispws/upload", data={"id": str(report_id)}, files={"file": (name, content, "image/jpeg")},
                       headers=auth)


def upload_ok(client: Any, auth: dict[str, str], report_id: int, content: bytes, name: str = "demo.jpg") -> str:
    r = upload(client, auth, report_id, content, name)
    assert r.status_code == 200 and code(r) == 0, r.text
    return answer(r).findtext("fileId")


def fileinfo(client: Any, auth: dict[str, str], document: bytes | str) -> Any:
    body = document.encode() if isinstance(document, str) else document
    return client.post("/ispws/fileinfo", content=body, headers={**auth, **XML_HEADERS})


def finish(client: Any, auth: dict[str, str], report_id: int | str) -> Any:
    return client.post("/ispws/finish", data={"id": str(report_id)}, headers=auth)


def retract(client: Any, auth: dict[str, str], report_id: int | str) -> Any:
    return client.post("/ispws/retract", data={"id": str(report_id)}, headers=auth)


def demo_jpeg(seed: int = 1) -> bytes:
    from balise.demo import demo_image

    return demo_image(seed, size=(160, 120))


# -- documents -------------------------------------------------------------------------------

CP = "Child Pornography (possession, manufacture, and distribution)"


def minimal_report(incident_type: str = CP) -> str:
    """Only what the schema requires: incidentSummary (type, time) and reporter/reportingPerson."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>{incident_type}</incidentType>
    <incidentDateTime>2026-11-23T10:00:00Z</incidentDateTime>
  </incidentSummary>
  <reporter>
    <reportingPerson/>
  </reporter>
</report>"""


def rich_report() -> str:
    """Many elements of the schema, in its order, with values a mapping can be checked against."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <platform>DEMO Photos</platform>
    <escalateToHighPriority>DEMO: the uploader says he is meeting the child tonight</escalateToHighPriority>
    <reportAnnotations>
      <sextortion>true</sextortion>
      <csamSolicitation>true</csamSolicitation>
    </reportAnnotations>
    <incidentDateTime>2026-11-20T08:30:00+01:00</incidentDateTime>
    <incidentDateTimeDescription>DEMO: time of the upload</incidentDateTimeDescription>
  </incidentSummary>
  <internetDetails>
    <webPageIncident thirdPartyHostedContent="false">
      <url>https://photos.example.test/album/42</url>
      <url>https://photos.example.test/album/43</url>
      <url>photos.example.test/no-scheme</url>
      <additionalInfo>DEMO album pages</additionalInfo>
    </webPageIncident>
  </internetDetails>
  <internetDetails>
    <chatImIncident>
      <chatClient>DEMO Chat</chatClient>
      <chatRoomName>demo-room</chatRoomName>
      <content>DEMO chat content</content>
    </chatImIncident>
  </internetDetails>
  <internetDetails>
    <peer2peerIncident>
      <client>DEMO P2P</client>
      <ipCaptureEvent>
        <ipAddress>198.51.100.23</ipAddress>
        <eventName>Upload</eventName>
        <dateTime>2026-11-20T07:00:00Z</dateTime>
        <port>6881</port>
      </ipCaptureEvent>
      <fileNames>demo.jpg</fileNames>
    </peer2peerIncident>
  </internetDetails>
  <internetDetails>
    <cellPhoneIncident>
      <phoneNumber>+33 6 00 00 00 01</phoneNumber>
      <latitude>48.8566</latitude>
      <longitude>2.3522</longitude>
    </cellPhoneIncident>
  </internetDetails>
  <lawEnforcement>
    <agencyName>DEMO Police</agencyName>
    <caseNumber>DEMO-123</caseNumber>
    <reportedToLe>true</reportedToLe>
    <servedLegalProcessDomestic>false</servedLegalProcessDomestic>
    <servedLegalProcessInternational fleaCountry="FR">true</servedLegalProcessInternational>
  </lawEnforcement>
  <reporter>
    <reportingPerson>
      <firstName>Rita</firstName>
      <lastName>Reporter</lastName>
      <email>rita@platform.example.test</email>
    </reportingPerson>
    <contactPerson>
      <firstName>Tess</firstName>
      <lastName>Safety</lastName>
      <phone type="Business" countryCallingCode="+33">1 00 00 00 00</phone>
      <email type="Business">trust-safety@platform.example.test</email>
    </contactPerson>
    <companyTemplate>DEMO: serve legal process at legal@platform.example.test</companyTemplate>
    <legalURL>https://platform.example.test/legal</legalURL>
  </reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <firstName>Demo</firstName>
      <lastName>Uploader</lastName>
      <phone countryCallingCode="+33">6 00 00 00 02</phone>
      <email verified="true">uploader@example.test</email>
      <email>not-an-email-address</email>
      <address type="Home">
        <city>Lyon</city>
        <country>FR</country>
      </address>
      <age>34</age>
    </personOrUserReportedPerson>
    <espIdentifier>user-0042</espIdentifier>
    <espService>DEMO Photos</espService>
    <compromisedAccount>false</compromisedAccount>
    <screenName>demo_uploader</screenName>
    <displayName>Demo U.</displayName>
    <profileUrl>https://photos.example.test/u/demo_uploader</profileUrl>
    <ipCaptureEvent>
      <ipAddress>192.0.2.10</ipAddress>
      <eventName>Login</eventName>
      <dateTime>2026-11-20T06:55:00+01:00</dateTime>
      <possibleProxy>false</possibleProxy>
      <port>51515</port>
    </ipCaptureEvent>
    <ipCaptureEvent>
      <ipAddress>2001:db8::7</ipAddress>
      <eventName>Upload</eventName>
      <dateTime>2026-11-20T07:00:00Z</dateTime>
    </ipCaptureEvent>
    <ipCaptureEvent>
      <ipAddress>not-an-ip</ipAddress>
      <dateTime>2026-11-20T07:00:00</dateTime>
    </ipCaptureEvent>
    <deviceId>
      <idType>IMEI</idType>
      <idValue>DEMO-000000000000001</idValue>
      <eventName>Login</eventName>
    </deviceId>
    <priorCTReports>123456789</priorCTReports>
    <priorCTReports>123456790</priorCTReports>
    <accountTemporarilyDisabled disabledDate="2026-11-20T09:00:00Z">true</accountTemporarilyDisabled>
    <accountPermanentlyDisabled disabledDate="2026-11-21T09:00:00Z" userNotified="false">true</accountPermanentlyDisabled>
    <estimatedLocation verified="false">
      <city>Lyon</city>
      <countryCode>FR</countryCode>
    </estimatedLocation>
    <associatedAccount type="Billing">
      <platform thirdPartyUser="false">DEMO Pay</platform>
      <email>billing@example.test</email>
      <espIdentifier>pay-77</espIdentifier>
      <priorCTReport>123456791</priorCTReport>
    </associatedAccount>
    <additionalInfo>DEMO: reported user</additionalInfo>
  </personOrUserReported>
  <intendedRecipient>
    <intendedRecipientPerson>
      <email>recipient@example.test</email>
    </intendedRecipientPerson>
    <screenName>demo_recipient</screenName>
  </intendedRecipient>
  <victim>
    <victimPerson>
      <firstName>Demo</firstName>
      <age>11</age>
    </victimPerson>
    <screenName>demo_child</screenName>
    <schoolName>DEMO School</schoolName>
    <estimatedLocation>
      <city>Lyon</city>
      <countryCode>FR</countryCode>
    </estimatedLocation>
  </victim>
  <victim>
    <victimPerson>
      <dateOfBirth>2024-01-15</dateOfBirth>
    </victimPerson>
  </victim>
  <additionalInfo>DEMO: everything in this report is made up for tests.</additionalInfo>
</report>"""


def file_details(report_id: int, file_id: str, *, classification: str | None = "A2",
                 annotations: tuple[str, ...] = ("generativeAi", "infant"), exif: bool = True) -> str:
    tags = "".join(f"<{a}>true</{a}>" for a in annotations)
    annotations_xml = f"<fileAnnotations>{tags}</fileAnnotations>" if annotations else ""
    classification_xml = f"<industryClassification>{classification}</industryClassification>" if classification else ""
    exif_xml = """
  <details type="EXIF">
    <nameValuePair><name>Make</name><value>DEMO Camera</value></nameValuePair>
    <nameValuePair><name>DateTimeOriginal</name><value>2026:11:20 07:59:00</value></nameValuePair>
  </details>""" if exif else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fileDetails>
  <reportId>{report_id}</reportId>
  <fileId>{file_id}</fileId>
  <fileName>upload.jpg</fileName>
  <originalFileName>DEMO_original.jpg</originalFileName>
  <uploadedToEspTimestamp>2026-11-20T07:00:00Z</uploadedToEspTimestamp>
  <locationOfFile>https://photos.example.test/p/1.jpg</locationOfFile>
  <fileViewedByEsp>true</fileViewedByEsp>
  <exifViewedByEsp>false</exifViewedByEsp>
  <publiclyAvailable>true</publiclyAvailable>
  <fileRelevance>Reported</fileRelevance>
  {annotations_xml}
  {classification_xml}
  <originalFileHash hashType="MD5">0123456789abcdef0123456789abcdef</originalFileHash>
  <ipCaptureEvent>
    <ipAddress>192.0.2.55</ipAddress>
    <eventName>Upload</eventName>
    <dateTime>2026-11-20T07:00:00Z</dateTime>
  </ipCaptureEvent>{exif_xml}
  <additionalInfo>DEMO file</additionalInfo>
</fileDetails>"""


# -- documents written from the schema ------------------------------------------------------


def _xsd() -> etree._Element:
    return etree.parse(str(XSD_PATH)).getroot()


def enumeration(type_name: str) -> list[str]:
    """The non-empty enumeration values of a named simple type of report.xsd, in its order."""
    simple = next(e for e in _xsd().findall(f"{XS}simpleType") if e.get("name") == type_name)
    return [e.get("value") for e in simple.iter(f"{XS}enumeration") if e.get("value")]


INCIDENT_TYPES = enumeration("incidentType")
CLASSIFICATIONS = enumeration("fileClassification")


def choice_alternatives() -> dict[str, list[str]]:
    """For each element declaration holding an xs:choice: the names of its alternatives."""
    found: dict[str, list[str]] = {}
    for decl in _xsd().iter(f"{XS}element"):
        if not decl.get("name"):
            continue
        for choice in decl.iter(f"{XS}choice"):
            found[decl.get("name")] = [m.get("ref") or m.get("name") for m in choice if m.tag == f"{XS}element"]
    return found


class _Generator:
    """Writes an instance of an element declaration of report.xsd with *every* optional element
    and attribute present, so the mapping meets the whole schema.

    ``choose`` picks the alternative of an element's xs:choice by the element's name (default:
    one ``internetDetails`` per alternative; the last alternative of ``fileDetails``, the first
    elsewhere); ``values`` sets the text of elements by name (e.g. ``incidentType``); ``omit``
    leaves optional elements out by name. Every free value (strings, numbers, dates, e-mail
    addresses, URLs, IP addresses, phone numbers) is distinct, so that a test can trace where
    each one ends up; :attr:`leaves` lists what was written."""

    def __init__(self, choose: dict[str, str] | None = None, values: dict[str, str] | None = None,
                 omit: frozenset[str] | set[str] = frozenset()) -> None:
        tree = _xsd()
        self.elements = {e.get("name"): e for e in tree.findall(f"{XS}element")}
        self.complex = {e.get("name"): e for e in tree.findall(f"{XS}complexType")}
        self.simple = {e.get("name"): e for e in tree.findall(f"{XS}simpleType")}
        self.choose = choose or {}
        self.values = values or {}
        self.omit = set(omit)
        self.counter = 0
        # (element path, element or @attribute name, value, whether the value is distinct)
        self.leaves: list[tuple[str, str, str, bool]] = []

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def value(self, name: str, type_name: str | None, restriction: etree._Element | None = None) -> tuple[str, bool]:
        """(value, distinct) for an element or attribute called ``name`` of that type."""
        if name in self.values:
            return self.values[name], False
        if restriction is None and type_name in self.simple:
            restriction = self.simple[type_name].find(f"{XS}restriction")
        if restriction is not None:
            enums = [e.get("value") for e in restriction.findall(f"{XS}enumeration") if e.get("value")]
            if enums:
                return ("FR" if "FR" in enums else enums[0]), False
            pattern = restriction.find(f"{XS}pattern")
            if pattern is not None:
                return {r"\+[0-9]{1,3}": "+33", "[0-9]+": "12"}[pattern.get("value")], False
            return self.value(name, restriction.get("base"))
        n = self._next()
        if name in ("url", "profileUrl", "legalURL", "locationOfFile"):
            return f"https://demo{n}.example.test/page-{n}", True
        if name in ("email", "emailAddress"):
            return f"demo{n}@example.test", True
        if name == "ipAddress":
            return f"{('192.0.2', '198.51.100', '203.0.113')[n // 250 % 3]}.{n % 250 + 1}", True
        if name in ("phone", "phoneNumber"):
            return f"01 23 45 {n:04d}", True
        if name == "latitude":
            return f"45.{n:04d}", True
        if name == "longitude":
            return f"4.{n:04d}", True
        if type_name == "xs:boolean":
            return "true", False
        if type_name == "xs:dateTime":
            stamp = datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(minutes=n)
            return stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), True
        if type_name == "xs:date":
            return (date(2014, 1, 1) + timedelta(days=n)).isoformat(), True
        if type_name == "xs:int":
            return str(7000 + n), True
        if type_name == "xs:long":
            return str(900_000_000 + n), True
        if type_name == "xs:double":
            return f"12.{n:04d}", True
        if type_name == "xs:token":
            return f"demo-token-{n}", True
        return f"DEMO-{name}-{n}", True

    def _leaf(self, el: etree._Element, name: str, value: str, distinct: bool) -> None:
        path = "/".join([a.tag for a in reversed(list(el.iterancestors())) if a.tag != "holder"] + [el.tag])
        self.leaves.append((path, name, value, distinct))

    def fill(self, parent: etree._Element, decl: etree._Element) -> None:
        if decl.get("ref"):
            decl = self.elements[decl.get("ref")]
        name = decl.get("name")
        if name in self.omit:
            return
        if name == "internetDetails":
            alternatives = [a for a in decl.find(f"{XS}complexType/{XS}choice") if a.tag == f"{XS}element"]
            if "internetDetails" in self.choose:
                alternatives = [a for a in alternatives if (a.get("ref") or a.get("name")) == self.choose[name]]
            # One internetDetails per kind of incident the choice offers (or the one chosen).
            for alternative in alternatives:
                self.fill(etree.SubElement(parent, "internetDetails"), alternative)
            return
        el = etree.SubElement(parent, name)
        if decl.get("fixed"):
            el.text = decl.get("fixed")
            self._leaf(el, name, el.text, False)
            return
        type_name = decl.get("type")
        complex_type = decl.find(f"{XS}complexType")
        if complex_type is None and type_name in self.complex:
            complex_type = self.complex[type_name]
        if complex_type is None:
            el.text, distinct = self.value(name, type_name, decl.find(f"{XS}simpleType/{XS}restriction"))
            self._leaf(el, name, el.text, distinct)
            return
        self.content(el, complex_type)

    def content(self, el: etree._Element, complex_type: etree._Element) -> None:
        attributes = complex_type.findall(f"{XS}attribute") + complex_type.findall(
            f"{XS}simpleContent/{XS}extension/{XS}attribute")
        for attribute in attributes:
            inline = attribute.find(f"{XS}simpleType/{XS}restriction")
            value, distinct = self.value("@" + attribute.get("name"), attribute.get("type"), inline)
            el.set(attribute.get("name"), value)
            self._leaf(el, "@" + attribute.get("name"), value, distinct)
        simple = complex_type.find(f"{XS}simpleContent/{XS}extension")
        if simple is not None:
            el.text, distinct = self.value(el.tag, simple.get("base"))
            self._leaf(el, el.tag, el.text, distinct)
            return
        for group in complex_type:
            if group.tag in (f"{XS}sequence", f"{XS}all", f"{XS}choice"):
                self.group(el, group)

    def group(self, el: etree._Element, group: etree._Element) -> None:
        members = [m for m in group if m.tag in (f"{XS}element", f"{XS}choice", f"{XS}sequence")]
        if group.tag == f"{XS}choice":
            wanted = self.choose.get(el.tag)
            if wanted is not None:
                members = [m for m in members if (m.get("ref") or m.get("name")) == wanted]
                assert members, f"<{el.tag}> has no alternative {wanted}"
            else:
                members = members[-1:] if el.tag == "fileDetails" else members[:1]
        for member in members:
            if member.tag == f"{XS}element":
                self.fill(el, member)
            else:
                self.group(el, member)

    def document(self, root: str) -> etree._Element:
        holder = etree.Element("holder")
        self.fill(holder, self.elements[root])
        return holder[0]


def every_element(root: str = "report", **options: Any) -> etree._Element:
    return _Generator(**options).document(root)


def generated(root: str = "report", **options: Any) -> bytes:
    """A generated document as the bytes a client sends."""
    return etree.tostring(every_element(root, **options), xml_declaration=True, encoding="UTF-8")


def generated_details(report_id: int, file_id: str, **options: Any) -> bytes:
    details = every_element("fileDetails", **options)
    details.find("reportId").text, details.find("fileId").text = str(report_id), file_id
    return etree.tostring(details, xml_declaration=True, encoding="UTF-8")
