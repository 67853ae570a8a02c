"""RFC 3161 time-stamping: ask a time-stamping authority (TSA) to timestamp a digest, and read
a TimeStampToken back (docs/oversight.md). The token is kept as DER, as the TSA sent it, so that
``openssl ts -verify`` can check it against the TSA's certificate chain as well."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx
from asn1crypto import algos, cms, core, tsp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import load_der_x509_certificate

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class _TimeStampResp(core.Sequence):
    # asn1crypto's TimeStampResp requires the token; RFC 3161 leaves it out of a refusal.
    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]  # noqa: RUF012 - asn1crypto API


class TimestampError(RuntimeError):
    """The TSA could not be reached, refused, or answered with something that is not a token for
    the digest asked; the message says which."""


@dataclass(frozen=True)
class TokenInfo:
    hashed_message: bytes
    hash_algorithm: str
    gen_time: datetime
    serial_number: int
    nonce: int | None


def request_timestamp(url: str, digest: bytes, timeout_s: float = 10.0) -> bytes:
    """The DER TimeStampToken of a SHA-256 digest from the TSA at ``url``."""
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    })
    try:
        response = httpx.post(url, content=request.dump(), headers={"content-type": QUERY_TYPE}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise TimestampError(f"the time-stamping authority {url} could not be reached: {exc}") from exc
    if response.status_code != 200:
        raise TimestampError(f"the time-stamping authority {url} answered HTTP {response.status_code}")
    try:
        reply = _TimeStampResp.load(response.content)
        status = reply["status"]["status"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the time-stamping authority {url} sent something that is not a TimeStampResp") from exc
    if status not in ("granted", "granted_with_mods"):
        text = reply["status"]["status_string"].native or []
        raise TimestampError(f"the time-stamping authority {url} refused: {status}" + (f" ({'; '.join(text)})" if text else ""))
    token = reply["time_stamp_token"].dump()
    info = read_token(token)
    if info.hashed_message != digest or info.nonce != nonce:
        raise TimestampError(f"the time-stamping authority {url} returned a token for another request")
    return token


def read_token(token: bytes) -> TokenInfo:
    """What a TimeStampToken says it timestamps, once its CMS signature checks out against the
    certificate it carries. TimestampError when it is not a token or its signature fails."""
    try:
        info = cms.ContentInfo.load(token)
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("the token does not hold a TSTInfo")
        tst = encap["content"].parsed
        result = TokenInfo(hashed_message=tst["message_imprint"]["hashed_message"].native,
                           hash_algorithm=tst["message_imprint"]["hash_algorithm"]["algorithm"].native,
                           gen_time=tst["gen_time"].native, serial_number=tst["serial_number"].native,
                           nonce=tst["nonce"].native)
        _check_signature(signed, encap["content"].contents)
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise TimestampError(f"not an RFC 3161 TimeStampToken ({exc.__class__.__name__})") from exc
    return result


def _check_signature(signed: cms.SignedData, content: bytes) -> None:
    signer = signed["signer_infos"][0]
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"the token is signed with an unsupported digest {digest_name}")
    attrs = signer["signed_attrs"]
    expected = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None)
    if expected != hashlib.new(digest_name, content).digest():
        raise TimestampError("the token's signed digest does not match its TSTInfo (the token was altered)")
    certs = [c.chosen for c in signed["certificates"]] if signed["certificates"].native else []
    sid = signer["sid"].chosen
    cert = next((c for c in certs if isinstance(sid, cms.IssuerAndSerialNumber)
                 and c.serial_number == sid["serial_number"].native), certs[0] if certs else None)
    if cert is None:
        raise TimestampError("the token carries no certificate to check its signature with")
    key = load_der_x509_certificate(cert.dump()).public_key()
    data = b"\x31" + attrs.dump()[1:]  # the signature covers the attributes as a SET, not [0]
    signature = signer["signature"].native
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_HASHES[digest_name]()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), _HASHES[digest_name]())
        else:
            raise TimestampError(f"the token is signed with an unsupported key type {type(key).__name__}")
    except InvalidSignature as exc:
        raise TimestampError("the token's signature does not match (the token was altered)") from exc
