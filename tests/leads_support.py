"""Generated pictures carrying EXIF, XMP and a real C2PA manifest signed with a test
certificate made here (a DEMO CA and signer, valid for a day): no file comes from outside."""

from __future__ import annotations

import datetime
import io
import json
import struct

from balise.demo import demo_image

SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SERIAL = "SN-DEMO-0042"


def with_exif(seed: int, serial: str = SERIAL) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(demo_image(seed, size=(160, 120))))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "DEMO Camera Co", "DEMO-1", "DEMO Editor 2.0"
    sub = exif.get_ifd(0x8769)
    sub[0xA431], sub[0xA434], sub[0x9003] = serial, "DEMO 35mm f/2", "2026:11:20 10:00:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 24.0), "E", (2.0, 21.0, 3.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=85)
    return out.getvalue()


def xmp_packet(source_type: str = "trainedAlgorithmicMedia", padding: int = 0) -> bytes:
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            f'Iptc4xmpExt:DigitalSourceType="{SOURCE}{source_type}"/></rdf:RDF>'
            f'{" " * padding}</x:xmpmeta>').encode()


def with_xmp(jpeg: bytes, packet: bytes) -> bytes:
    """The packet in APP1 segments right after SOI (split when over one segment's 64 KB, as a
    hostile file could; a reader must still bound what it reads)."""
    header = b"http://ns.adobe.com/xap/1.0/\x00"
    segments, step = b"", 65000
    for start in range(0, len(packet), step):
        body = header + packet[start:start + step]
        segments += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    return jpeg[:2] + segments + jpeg[2:]


def test_signer() -> tuple[bytes, bytes]:
    """A DEMO CA and an end-entity certificate (ES256) for C2PA: PEM chain and PEM key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DEMO Test Signer")])

    now = datetime.datetime.now(datetime.timezone.utc)
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("DEMO Test CA")).issuer_name(name("DEMO Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("DEMO Generator Signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    return chain, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())


def with_c2pa(jpeg: bytes, source_type: str = "trainedAlgorithmicMedia") -> bytes:
    import c2pa

    chain, key = test_signer()
    manifest = {"claim_generator_info": [{"name": "DEMO generator", "version": "1.0"}], "title": "DEMO picture",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": SOURCE + source_type}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    builder = c2pa.Builder(json.dumps(manifest))
    out = io.BytesIO()
    builder.sign(signer, "image/jpeg", io.BytesIO(jpeg), out)
    return out.getvalue()


def tampered(signed: bytes) -> bytes:
    """One byte of the picture's data changed after signing: the manifest's hash no longer holds."""
    data = bytearray(signed)
    data[-200] ^= 0xFF
    return bytes(data)
