"""Helpers for the /ispws (NCMEC CyberTipline-compatible API) tests: credentials, CyberTipline
documents written from the schema's element definitions (all values DEMO, addresses from the
documentation ranges), and checks that every answer has the schema's response shape."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from lxml import etree

from balise.container import Balise
from balise.domain.model import OrgKind
from balise.services.actors import Actor

XSD_PATH = Path(__file__).resolve().parents[1] / "src" / "balise" / "adapters" / "ncmec" / "report.xsd"
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


# -- a document with every element of the schema ---------------------------------------------


class _Generator:
    """Writes an instance of an element declaration of report.xsd with *every* optional element
    and attribute present (the first alternative of a choice, the first non-empty value of an
    enumeration), so the mapping meets the whole schema."""

    def __init__(self) -> None:
        tree = etree.parse(str(XSD_PATH))
        self.elements = {e.get("name"): e for e in tree.getroot().findall(f"{XS}element")}
        self.complex = {e.get("name"): e for e in tree.getroot().findall(f"{XS}complexType")}
        self.simple = {e.get("name"): e for e in tree.getroot().findall(f"{XS}simpleType")}

    def value(self, type_name: str | None, restriction: etree._Element | None = None) -> str:
        if restriction is None and type_name in self.simple:
            restriction = self.simple[type_name].find(f"{XS}restriction")
        if restriction is not None:
            enums = [e.get("value") for e in restriction.findall(f"{XS}enumeration") if e.get("value")]
            if enums:
                return enums[0]
            pattern = restriction.find(f"{XS}pattern")
            if pattern is not None:
                return {r"\+[0-9]{1,3}": "+33", "[0-9]+": "12"}[pattern.get("value")]
            return self.value(restriction.get("base"))
        return {"xs:dateTime": "2026-11-20T07:00:00Z", "xs:date": "2015-06-01", "xs:boolean": "true",
                "xs:int": "7", "xs:long": "123456789", "xs:double": "45.5", "xs:token": "demo-token"}.get(
            type_name or "", "DEMO value")

    def fill(self, parent: etree._Element, decl: etree._Element) -> None:
        if decl.get("ref"):
            decl = self.elements[decl.get("ref")]
        if decl.get("name") == "internetDetails":
            # One internetDetails per kind of incident the choice offers.
            for alternative in decl.find(f"{XS}complexType/{XS}choice"):
                if alternative.tag == f"{XS}element":
                    self.fill(etree.SubElement(parent, "internetDetails"), alternative)
            return
        el = etree.SubElement(parent, decl.get("name"))
        if decl.get("fixed"):
            el.text = decl.get("fixed")
            return
        type_name = decl.get("type")
        complex_type = decl.find(f"{XS}complexType")
        if complex_type is None and type_name in self.complex:
            complex_type = self.complex[type_name]
        if complex_type is None:
            el.text = self.value(type_name, decl.find(f"{XS}simpleType/{XS}restriction"))
            return
        self.content(el, complex_type)

    def content(self, el: etree._Element, complex_type: etree._Element) -> None:
        attributes = complex_type.findall(f"{XS}attribute") + complex_type.findall(
            f"{XS}simpleContent/{XS}extension/{XS}attribute")
        for attribute in attributes:
            inline = attribute.find(f"{XS}simpleType/{XS}restriction")
            el.set(attribute.get("name"), self.value(attribute.get("type"), inline))
        simple = complex_type.find(f"{XS}simpleContent/{XS}extension")
        if simple is not None:
            el.text = self.value(simple.get("base"))
            return
        for group in complex_type:
            if group.tag in (f"{XS}sequence", f"{XS}all", f"{XS}choice"):
                self.group(el, group)

    def group(self, el: etree._Element, group: etree._Element) -> None:
        members = [m for m in group if m.tag in (f"{XS}element", f"{XS}choice", f"{XS}sequence")]
        if group.tag == f"{XS}choice":
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


def every_element(root: str = "report") -> etree._Element:
    return _Generator().document(root)
