"""A local RFC 3161 time-stamping authority on 127.0.0.1: the stand-in for a qualified TSA on
the internet, which tests cannot reach. It speaks the real protocol (DER TimeStampReq in, DER
TimeStampResp out over HTTP POST), signs TSTInfo in CMS SignedData with an ECDSA P-256 key and a
certificate marked for time stamping, like a real TSA. ``mode`` makes it refuse or answer for
another digest, for the tests of what Balise does then."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.55555.1.1"  # a private-arc policy id: a test TSA, not a real one


@dataclass
class LocalTsa:
    url: str = ""
    mode: str = "grant"  # grant | reject | other-digest
    requests: list[bytes] = field(default_factory=list)
    serial: int = 0

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Balise test TSA (loopback, not trusted)")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=30))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert = asn1_x509.Certificate.load(self.cert_der)

    def respond(self, body: bytes) -> bytes:
        self.requests.append(body)
        request = tsp.TimeStampReq.load(body)
        if self.mode == "reject":
            status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["policy not accepted"],
                                        "fail_info": {"unaccepted_policy"}}).dump()
            # TimeStampResp without a token (asn1crypto's type wants one, the RFC does not).
            return b"\x30" + bytes([len(status)]) + status
        imprint = request["message_imprint"]
        if self.mode == "other-digest":
            imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": "sha256"},
                                          "hashed_message": hashlib.sha256(b"something else").digest()})
        self.serial += 1
        tst = tsp.TSTInfo({"version": "v1", "policy": POLICY, "message_imprint": imprint,
                           "serial_number": self.serial, "gen_time": datetime.now(UTC).replace(microsecond=0),
                           "nonce": request["nonce"].native})
        tst_der = tst.dump()
        attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}),
            cms.CMSAttribute({"type": "signing_certificate_v2",
                              "values": [{"certs": [{"cert_hash": hashlib.sha256(self.cert_der).digest()}]}]}),
        ])
        signature = self.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": self.cert.issuer, "serial_number": self.cert.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        })
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": tst},
            "certificates": [self.cert] if request["cert_req"].native else [],
            "signer_infos": [signer],
        })
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


@contextmanager
def local_tsa(mode: str = "grant") -> Iterator[LocalTsa]:
    tsa = LocalTsa(mode=mode)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-type") != "application/timestamp-query":
                self.send_response(415)
                self.end_headers()
                return
            reply = tsa.respond(body)
            self.send_response(200)
            self.send_header("content-type", "application/timestamp-reply")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
