"""Bytes in front of known material that decoders skip do not hide it. FFmpeg-based viewers
decode a `.jpg` from its first JPEG marker when what precedes it holds no JPEG marker (text, an
HTML page, NUL bytes, a ZIP archive), and FFmpeg and QuickTime play an MP4 whose first box is a `free` box
instead of `ftyp`. Such a known picture or video matches through the provider API and in
`balise scan`; the leading bytes are noted, and a polyglot is flagged."""

from __future__ import annotations

import os

import av

from balise.accounts.actors import Actor
from balise.detection.adapters.media_layout import locate
from balise.domain.indicators import IndicatorKind
from tests.bypass_support import (
    app_for,
    assert_matched,
    assert_scan_matched,
    file_through_the_api,
    known_picture,
    scan_rows,
    zip_archive,
)
from tests.test_video_matching import frames_of
from tests.vectors import vectors_dir

# name -> (bytes in front, whether they make a polyglot)
PREFIXES = {
    "text": (b"These bytes are not a picture.\n" * 20, False),
    "html": (b"<!DOCTYPE html><html><body><p>a page</p></body></html>\n", True),
    "nul": (b"\x00" * 4096, False),
    "zip": (zip_archive(), True),
}


def video_without_ftyp() -> bytes:
    """The vPDQ sample video with its `ftyp` box renamed `free` (same length: no offset moves)."""
    data = bytearray((vectors_dir() / "tmk" / "sample-videos" / "chair-19-sd-bar.mp4").read_bytes())
    assert data[4:8] == b"ftyp"
    data[4:8] = b"free"
    return bytes(data)


def test_ffmpeg_decodes_these_files_so_a_viewer_would_show_the_known_material(tmp_path):
    from balise.demo import demo_image

    picture = demo_image(612)
    for name, (prefix, _) in PREFIXES.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(prefix + picture)
        with av.open(str(path)) as container:
            assert len(list(container.decode(video=0))) == 1, name
    path = tmp_path / "video.mp4"
    path.write_bytes(video_without_ftyp())
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 100


def test_known_material_after_leading_bytes_matches_through_the_provider_api(tmp_path, db_url):
    app = app_for(tmp_path, db_url)
    try:
        picture, _ = known_picture(app, 613)
        with app.db.transaction() as s:
            app.indicators.add_vpdq(s, Actor.system("test"), frames=frames_of("chair-19-sd-bar"),
                                    kind=IndicatorKind.KNOWN_CSAM, provenance={"test": "vectors"})
        files = {name: prefix + picture for name, (prefix, _) in PREFIXES.items()}
        files["video"] = video_without_ftyp()
        items = file_through_the_api(app, files)
        for name, (prefix, polyglot) in PREFIXES.items():
            item = items[name]
            assert item["media_type"] == "image", item
            assert_matched(item)
            assert item["polyglot"] is polyglot, (name, item)
            assert any(f"the picture starts after {len(prefix)} bytes of" in note for note in item["hash_notes"]), item
        video = items["video"]
        assert video["media_type"] == "video" and video["matched"], video
        assert video["matches"][0]["algorithm"] == "vpdq"
    finally:
        app.close()


def test_known_material_after_leading_bytes_matches_in_scan(tmp_path):
    from balise.demo import demo_image
    from balise.detection.adapters.media_hash import hash_image_bytes
    from tests.scan_support import by_path, run_scan

    picture = demo_image(614, (800, 600))
    # In scan a file starting with a ZIP archive is an archive: its members are scanned.
    files = {f"{name}.jpg": prefix + picture for name, (prefix, _) in PREFIXES.items() if name != "zip"}
    rows = scan_rows(tmp_path / "pictures", files, hash_image_bytes(picture).pdq)
    for name in files:
        row = rows[name]
        assert_scan_matched(row)
        assert any("the picture starts after" in note for note in row["notes"]), row
    root, out = tmp_path / "videos", tmp_path / "videos-out"
    root.mkdir()
    (root / "clip.bin").write_bytes(video_without_ftyp())
    frames = vectors_dir() / "vpdq" / "sample-hashes" / "chair-19-sd-bar.txt"
    run_scan(root, "--out", out, "--indicators", frames)
    (row,) = by_path(out).values()
    assert row["media_type"] == "video" and row["known"] and row["match_algorithm"] == "vpdq", row


def test_chance_jpeg_signatures_in_other_files_are_not_pictures():
    # The three bytes of a JPEG start inside random data or text are not enough: the marker
    # segments that follow must chain up to a scan.
    noise = bytearray(os.urandom(1 << 20))
    for offset in range(1000, len(noise) - 10, 50_000):
        noise[offset:offset + 4] = b"\xff\xd8\xff\xe0"
    assert locate(bytes(noise)).media_type == "other"
