"""What a file says of itself, read with bounds: EXIF camera make, model, serial, lens, GPS,
capture time and software; the XMP digital source type; a C2PA manifest signed in the test
(signer, claim generator, actions, AI source type). A corrupt EXIF block, a huge XMP packet and
a tampered C2PA manifest are recorded as problems, never raised, and quickly."""

from __future__ import annotations

import time

from balise.intelligence.adapters.file_leads import read_leads, read_leads_isolated
from tests.leads_support import SERIAL, tampered, with_c2pa, with_exif, with_xmp, xmp_packet


def _read(tmp_path, data: bytes, name: str = "f.jpg", **kw):
    path = tmp_path / name
    path.write_bytes(data)
    return read_leads(str(path), **kw)


def test_exif_xmp_and_a_signed_c2pa_manifest(tmp_path):
    signed = with_c2pa(with_xmp(with_exif(1), xmp_packet()))
    leads = _read(tmp_path, signed)
    assert leads["exif"] == {"make": "DEMO Camera Co", "model": "DEMO-1", "software": "DEMO Editor 2.0",
                             "serial": SERIAL, "lens": "DEMO 35mm f/2", "captured_at": "2026:11:20 10:00:00",
                             "gps": {"latitude": 48.856667, "longitude": 2.350833}}
    assert leads["xmp"] == {"digital_source_type": ["trainedAlgorithmicMedia"]}
    c2pa = leads["c2pa"]
    assert (c2pa["state"], c2pa["signer"], c2pa["issuer"]) == ("valid", "DEMO Generator Signer", "DEMO Test Signer")
    assert c2pa["claim_generator"] == "DEMO generator" and "c2pa.created" in c2pa["actions"]
    assert c2pa["digital_source_type"] == ["trainedAlgorithmicMedia"]
    assert leads["generative"] is True and leads["problems"] == []


def test_a_composite_is_generative_a_camera_picture_is_not(tmp_path):
    composite = _read(tmp_path, with_c2pa(with_exif(2), "compositeWithTrainedAlgorithmicMedia"))
    assert composite["generative"] is True and composite["xmp"] == {}
    camera = _read(tmp_path, with_xmp(with_exif(3), xmp_packet("digitalCapture")), "c.jpg")
    assert camera["generative"] is False and camera["c2pa"] == {}


def test_bad_metadata_is_recorded_as_such_within_bounds(tmp_path):
    bad_c2pa = _read(tmp_path, tampered(with_c2pa(with_exif(4))))
    assert bad_c2pa["c2pa"]["state"] == "invalid" and "c2pa_invalid" in bad_c2pa["problems"]
    assert "assertion.dataHash.mismatch" in bad_c2pa["c2pa"]["validation"]
    jpeg = with_exif(5)
    at = jpeg.index(b"Exif\x00\x00") + 6
    corrupt = jpeg[:at] + b"XX\xff\xff" + jpeg[at + 4:]  # the TIFF header of the EXIF block broken
    assert "exif_corrupt" in _read(tmp_path, corrupt, "x.jpg")["problems"]
    started = time.monotonic()
    huge = _read(tmp_path, with_xmp(with_exif(6), xmp_packet(padding=2_000_000)), "h.jpg", max_xmp_bytes=256 * 1024)
    assert "xmp_too_large" in huge["problems"] and huge["xmp"] == {} and huge["exif"]["serial"] == SERIAL
    assert time.monotonic() - started < 2
    not_xml = with_xmp(with_exif(7), b"<x:xmpmeta <<<&undefined;</x:xmpmeta>")
    assert "xmp_corrupt" in _read(tmp_path, not_xml, "n.jpg")["problems"]


def test_the_isolated_reader_answers_and_bounds_time(tmp_path):
    path = tmp_path / "i.jpg"
    path.write_bytes(with_exif(8))
    assert read_leads_isolated(str(path), timeout_s=30)["exif"]["serial"] == SERIAL
    started = time.monotonic()
    slow = read_leads_isolated(str(path), timeout_s=0.001)
    assert slow["problems"] == ["metadata_timeout"] and time.monotonic() - started < 10
