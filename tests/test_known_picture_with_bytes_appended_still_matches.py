"""A known picture followed by other bytes — a ZIP archive (or just its signature and zeros), a
PDF, an HTML page, NUL padding — is still matched through the provider API and by `balise
scan`: the picture is hashed alone, the tail is noted on the item, and a tail that is a format
of its own makes the item a polyglot flagged for the analyst. Nothing of it is an error."""

from __future__ import annotations

from tests.bypass_support import (
    app_for,
    assert_matched,
    assert_scan_matched,
    file_through_the_api,
    known_picture,
    scan_rows,
    stored_items,
    zip_archive,
)

PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
       b"endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
HTML = b"<!DOCTYPE html>\n<html><head><title>benign</title></head><body><p>hello</p></body></html>\n"
# tail name -> (bytes appended, what the note calls them, whether that makes a polyglot)
TAILS = {
    "zip": (zip_archive(), "Zip archive data", True),
    "zip-signature": (b"PK\x03\x04" + b"\x00" * 64, "Zip archive data", True),
    "pdf": (PDF, "PDF document", True),
    "html": (HTML, "HTML document", True),
    "nul": (b"\x00" * 4096, "NUL bytes", False),
}


def test_known_picture_with_a_tail_matches_through_the_provider_api(tmp_path, db_url):
    app = app_for(tmp_path, db_url)
    try:
        picture, _ = known_picture(app, 610)
        items = file_through_the_api(app, {name: picture + tail for name, (tail, _, _) in TAILS.items()})
        for name, (tail, label, polyglot) in TAILS.items():
            item = items[name]
            assert_matched(item)
            assert item["polyglot"] is polyglot, (name, item)
            assert any(f"{len(tail)} bytes of {label} follow the picture's end at byte {len(picture)}" in note
                       for note in item["hash_notes"]), (name, item["hash_notes"])
        stored = {item.position: item for item in stored_items(app)}
        assert [stored[i].polyglot for i in range(len(TAILS))] == [p for _, _, p in TAILS.values()]
    finally:
        app.close()


def test_known_picture_with_a_tail_matches_in_scan(tmp_path):
    from balise.demo import demo_image
    from balise.detection.adapters.media_hash import hash_image_bytes

    picture = demo_image(611, (800, 600))
    rows = scan_rows(tmp_path, {f"{name}.jpg": picture + tail for name, (tail, _, _) in TAILS.items()},
                     hash_image_bytes(picture).pdq)
    for name, (_, label, polyglot) in TAILS.items():
        row = rows[f"{name}.jpg"]
        assert_scan_matched(row)
        assert row["status"] == "ok" and any(label in note for note in row["notes"]), row
        assert bool(row["polyglot"]) is polyglot, row


def test_a_multi_picture_jpeg_is_noted_but_not_flagged_as_a_polyglot(tmp_path):
    # Cameras and phones append pictures to JPEGs (MPO, depth and gain maps): not an alarm.
    import io

    from PIL import Image

    from balise.demo import demo_image
    from balise.detection.adapters.media_hash import hash_file

    first, second = (Image.open(io.BytesIO(demo_image(seed))) for seed in (612, 613))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    path = tmp_path / "camera.jpg"
    path.write_bytes(out.getvalue())
    result = hash_file(path)
    assert result["status"] == "ok" and "polyglot" not in result, result
    assert "multi-picture JPEG" in result["notes"][0]
