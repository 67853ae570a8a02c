"""CyberTipline XML: safe parsing, validation against NCMEC's published schema (``report.xsd``,
kept verbatim beside this module and served at ``GET /ispws/xsd``), and the response documents.

Parsing is hostile-input parsing: the encoding must be one of :data:`ACCEPTED_ENCODINGS`,
stated consistently and matched by the bytes; a DOCTYPE is refused before lxml sees the
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


# Encodings a CyberTipline client may use, by Python codec name: every one is ASCII-compatible
# (so its XML declaration can be read before decoding) except UTF-16, which needs its
# byte-order mark. Each is decoded the same way by lxml (libxml2 with iconv) and by Python,
# which checks the bytes first. UTF-32, UTF-7, EBCDIC and the like are refused.
ACCEPTED_ENCODINGS = frozenset(
    ["utf-8", "utf-16", "ascii"]
    + [f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)]
    + [f"cp{n}" for n in range(1250, 1259)]
    + ["koi8-r", "koi8-u", "shift_jis", "euc_jp", "euc_kr", "gb2312", "gbk", "gb18030", "big5"]
)
_UTF16 = ("utf-16", "utf-16-le", "utf-16-be")
_ENC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,39}")  # the XML 1.0 EncName production, bounded
_DECLARATION_TEXT = re.compile(r"""^<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


def _codec(name: str) -> str | None:
    """Python's canonical name of an encoding label, or None when there is no such encoding."""
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _family(codec: str) -> str:
    return "utf-16" if codec in _UTF16 else codec


def _invalid(body: bytes, text_start: int, encoding: str, exc: UnicodeDecodeError, why: str) -> IspwsError:
    bad = body[text_start + exc.start:text_start + exc.start + 1].hex()
    return _malformed(f"{why} is not valid {encoding} (byte 0x{bad} at offset {text_start + exc.start})")


def _check_encoding(body: bytes, content_type: str | None) -> str:
    """The document as text, or a precise refusal: an encoding that is unknown or not
    accepted, bytes that are not valid in the encoding the document says it uses, or two
    statements of the encoding (byte-order mark, XML declaration, HTTP charset) that
    disagree. The bytes themselves are never changed: they are stored as received."""
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or body[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"):
        raise _malformed("the document is UTF-32, which is not accepted; send UTF-8 (or UTF-16 with a byte-order mark)")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        order = "utf-16-le" if body.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        start, label, why = 2, "UTF-16", "the document (UTF-16 by its byte-order mark)"
        try:
            text = body[2:].decode(order)
        except UnicodeDecodeError as exc:
            raise _invalid(body, 2, "UTF-16", exc, why) from exc
        match = _DECLARATION_TEXT.match(text)
        declared = match.group(1) if match else None
        if declared is not None and _family(_codec(declared) or "") != "utf-16":
            raise _malformed(f'the document begins with a UTF-16 byte-order mark but declares encoding="{declared[:40]}"')
        effective, source = "utf-16", "UTF-16 by its byte-order mark"
    elif body[:2] in (b"<\x00", b"\x00<"):
        raise _malformed("the document is UTF-16 without a byte-order mark; a UTF-16 document must begin with one")
    else:
        bom = body.startswith(codecs.BOM_UTF8)
        start = 3 if bom else 0
        declaration = _XML_DECL.match(body[start:])
        found = _ENCODING.search(declaration.group(0)) if declaration else None
        declared = found.group(1).decode("ascii", "replace") if found else None
        if declared is None:
            effective, label = "utf-8", "UTF-8"
            source = "UTF-8 by its byte-order mark" if bom else "UTF-8, since it declares no encoding"
            why = "the document " + ("(UTF-8 by its byte-order mark)" if bom else "declares no encoding, so it must be "
                                     "UTF-8, and it")
        else:
            codec = _codec(declared) if _ENC_NAME.fullmatch(declared) else None
            if codec is None:
                raise _malformed(f'the document declares encoding="{declared[:40]}", which is not a known encoding')
            if codec not in ACCEPTED_ENCODINGS or _family(codec) == "utf-16":
                if _family(codec) == "utf-16":
                    raise _malformed(f'the document declares encoding="{declared[:40]}" but has no UTF-16 '
                                     "byte-order mark (and its bytes are not UTF-16)")
                raise _malformed(f'the document declares encoding="{declared[:40]}", which is not accepted; use UTF-8 '
                                 "(or UTF-16, ISO-8859-*, Windows-125*, or another encoding listed in docs/ncmec-api.md)")
            if bom and codec != "utf-8":
                raise _malformed(f'the document begins with a UTF-8 byte-order mark but declares encoding="{declared[:40]}"')
            effective, label, source = codec, declared[:40], f'{declared[:40]} as it declares'
            why = f'the document declares {declared[:40]} but'
        try:
            text = body[start:].decode(effective)
        except UnicodeDecodeError as exc:
            raise _invalid(body, start, label, exc, why) from exc
    if content_type:
        match = re.search(r"charset\s*=\s*\"?([^\";\s]+)", content_type, re.I)
        if match:
            charset = match.group(1)[:40]
            said = _codec(charset)
            if said is None:
                raise _malformed(f"Content-Type says charset={charset}, which is not a known encoding")
            # ASCII is a subset of UTF-8: charset=us-ascii fits a UTF-8 document of ASCII only.
            fits = _family(said) == _family(effective) or (said == "ascii" and effective == "utf-8" and text.isascii())
            if not fits:
                raise _malformed(f"Content-Type says charset={charset} but the document is {source}; make them agree "
                                 "(or send no charset)")
    return text


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
    ``fileDetails``). Raises :class:`IspwsError` 4110 (not well-formed, encoding, DOCTYPE) or
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
