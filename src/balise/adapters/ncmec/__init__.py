"""CyberTipline XML: safe parsing, validation against NCMEC's published schema (``report.xsd``,
kept verbatim beside this module and served at ``GET /ispws/xsd``), and the response documents.

Parsing is hostile-input parsing: only UTF-8; a DOCTYPE is refused before lxml sees the
document (so no DTD, no entity declaration, no external entity, no "billion laughs"); lxml runs
with entity substitution, DTD loading and network access off and ``huge_tree`` off. The caller
bounds the number of bytes before calling :func:`parse_document`.
"""

from __future__ import annotations

import codecs
import re
import threading
from pathlib import Path

from lxml import etree

from balise.domain.ispws import DESCRIPTIONS, Code, IspwsError

SCHEMA_PATH = Path(__file__).with_name("report.xsd")
MAX_SCHEMA_ERRORS = 5
MAX_ERROR_CHARS = 400

_XML_DECL = re.compile(rb"^<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([^"']*)["']""")
_UTF16_OR_32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

_schema: etree.XMLSchema | None = None
_schema_lock = threading.Lock()
# XMLSchema keeps the last validation's errors on the object: one validation at a time.
_validate_lock = threading.Lock()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, collect_ids=False)


def schema() -> etree.XMLSchema:
    """The CyberTipline schema, loaded once per process."""
    global _schema
    with _schema_lock:
        if _schema is None:
            _schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _parser()))
        return _schema


def schema_bytes() -> bytes:
    return SCHEMA_PATH.read_bytes()


def _malformed(detail: str) -> IspwsError:
    return IspwsError(Code.MALFORMED_XML, detail)


def _check_encoding(body: bytes, content_type: str | None) -> str:
    """The document as text, or a precise refusal when it is not UTF-8."""
    if body.startswith(_UTF16_OR_32) or body[:2] in (b"<\x00", b"\x00<"):
        raise _malformed("the document is UTF-16 or UTF-32; only UTF-8 is accepted")
    if content_type:
        match = re.search(r"charset\s*=\s*\"?([^\";\s]+)", content_type, re.I)
        if match and match.group(1).lower() != "utf-8":
            raise _malformed(f"Content-Type says charset={match.group(1)}; only UTF-8 is accepted")
    raw = body[3:] if body.startswith(codecs.BOM_UTF8) else body
    declaration = _XML_DECL.match(raw)
    declared = None
    if declaration:
        found = _ENCODING.search(declaration.group(0))
        if found:
            declared = found.group(1).decode("ascii", "replace")
            if declared.lower() != "utf-8":
                raise _malformed(f'the document declares encoding="{declared}"; only UTF-8 is accepted '
                                 '(send UTF-8 and declare encoding="UTF-8" or no encoding)')
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        where = f"byte 0x{bad} at offset {exc.start + len(body) - len(raw)}"
        if declared:
            raise _malformed(f"the document declares UTF-8 but is not valid UTF-8 ({where})") from exc
        raise _malformed(f"the document declares no encoding, so it must be UTF-8, and it is not valid UTF-8 "
                         f"({where})") from exc


def _refuse_doctype(text: str) -> None:
    """Walk the prolog (XML declaration, comments, processing instructions, white space) and
    refuse a DOCTYPE before the parser sees it."""
    pos = 1 if text.startswith("\ufeff") else 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            pos = len(text) if end < 0 else end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            pos = len(text) if end < 0 else end + 3
        elif text.startswith("<!", pos) and text[pos + 2:pos + 9].upper() == "DOCTYPE":
            raise _malformed("a DOCTYPE is not allowed: CyberTipline documents have no DTD and no entity declarations")
        else:
            return


def parse_document(body: bytes, root: str, content_type: str | None = None) -> etree._Element:
    """Parse and validate one document whose root element must be ``root`` (``report`` or
    ``fileDetails``). Raises :class:`IspwsError` 4110 (not well-formed, not UTF-8, DOCTYPE) or
    4100 (wrong root, namespace or schema errors, each with its line)."""
    if not body.strip():
        raise _malformed(f"the body is empty; send one <{root}> document")
    text = _check_encoding(body, content_type)
    _refuse_doctype(text)
    try:
        element = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise _malformed(f"not well-formed XML: {exc}") from exc
    info = element.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None:
        raise _malformed("a DOCTYPE is not allowed")
    qname = etree.QName(element)
    if qname.namespace:
        raise IspwsError(Code.VALIDATION_FAILED,
                         f'the root element <{qname.localname}> is in namespace "{qname.namespace}"; '
                         "CyberTipline documents use no namespace")
    if qname.localname != root:
        raise IspwsError(Code.VALIDATION_FAILED, f"expected a <{root}> document, got <{qname.localname}>")
    checker = schema()
    with _validate_lock:
        valid = checker.validate(element)
        errors = [] if valid else [(e.line, e.message) for e in checker.error_log][:MAX_SCHEMA_ERRORS]
    if not valid:
        parts = [f"line {line}: {message[:MAX_ERROR_CHARS]}" for line, message in errors]
        raise IspwsError(Code.VALIDATION_FAILED, "; ".join(parts) or "the document does not follow the schema")
    return element


def _serialise(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


# Characters XML 1.0 cannot carry; error descriptions may quote what a client sent.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def report_response(code: Code, description: str | None = None, *, report_id: int | None = None,
                    file_id: str | None = None, md5: str | None = None) -> bytes:
    """A ``<reportResponse>`` (the XSD's shape: responseCode, responseDescription, then the
    optional reportId, fileId, hash)."""
    root = etree.Element("reportResponse")
    etree.SubElement(root, "responseCode").text = str(int(code))
    etree.SubElement(root, "responseDescription").text = xml_safe(DESCRIPTIONS[code] if description is None else description)
    if report_id is not None:
        etree.SubElement(root, "reportId").text = str(report_id)
    if file_id is not None:
        etree.SubElement(root, "fileId").text = xml_safe(file_id)
    if md5 is not None:
        etree.SubElement(root, "hash").text = md5
    return _serialise(root)


def done_response(report_id: int, file_ids: list[str]) -> bytes:
    """A ``<reportDoneResponse>``: responseCode 0, the report id and the ids of its files."""
    root = etree.Element("reportDoneResponse")
    etree.SubElement(root, "responseCode").text = str(int(Code.SUCCESS))
    etree.SubElement(root, "reportId").text = str(report_id)
    files = etree.SubElement(root, "files")
    for file_id in file_ids:
        etree.SubElement(files, "fileId").text = file_id
    return _serialise(root)


def parse_stored(body: bytes) -> etree._Element:
    """A document Balise accepted earlier (it passed :func:`parse_document`), read back from
    the vault; parsed with the same hostile-input settings."""
    return etree.fromstring(body, _parser())
