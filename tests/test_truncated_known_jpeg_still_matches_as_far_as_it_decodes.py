"""A known JPEG cut short (a download interrupted, a file carved from a disk) still decodes in
part, as a viewer shows it: a progressive JPEG as a blurrier whole picture, a baseline one with
its last rows missing. It is hashed as far as it decodes and still matches through the provider
API and in `balise scan`, with a note that it was truncated. A JPEG cut before any picture data
is an error, and a picture cut so far that too little is left does not match."""

from __future__ import annotations

from tests.bypass_support import (
    app_for,
    assert_matched,
    assert_scan_matched,
    file_through_the_api,
    known_picture,
    scan_rows,
)


def cuts(baseline: bytes, progressive: bytes) -> dict[str, bytes]:
    return {
        # the last 8 % of the baseline picture's data missing: its bottom rows are grey
        "baseline-92": baseline[: len(baseline) * 92 // 100],
        # half of a progressive JPEG: the first scans give the whole picture, less sharp
        "progressive-50": progressive[: len(progressive) // 2],
        "progressive-30": progressive[: len(progressive) * 3 // 10],
    }


def test_truncated_known_jpeg_matches_through_the_provider_api(tmp_path, db_url):
    app = app_for(tmp_path, db_url)
    try:
        baseline, _ = known_picture(app, 620)
        progressive, _ = known_picture(app, 621, progressive=True)
        files = cuts(baseline, progressive)
        files["header-only"] = baseline[:300]
        files["baseline-40"] = baseline[: len(baseline) * 40 // 100]
        items = file_through_the_api(app, files)
        for name in cuts(baseline, progressive):
            assert_matched(items[name])
            assert any(note.startswith("truncated:") for note in items[name]["hash_notes"]), items[name]
        assert items["header-only"]["hash_status"] == "error" and items["header-only"]["hash_error"]
        assert not items["header-only"]["matched"]
        assert not items["baseline-40"]["matched"]  # 60 % of the picture grey: too far from it
    finally:
        app.close()


def test_truncated_known_jpeg_matches_in_scan(tmp_path):
    import io

    from PIL import Image

    from balise.demo import demo_image
    from balise.detection.adapters.media_hash import hash_image_bytes

    baseline = demo_image(622, (800, 600))
    out = io.BytesIO()
    Image.open(io.BytesIO(baseline)).save(out, "JPEG", quality=85, progressive=True)
    progressive = out.getvalue()
    files = {f"{name}.jpg": data for name, data in cuts(baseline, progressive).items()}
    rows_baseline = scan_rows(tmp_path / "b", {k: v for k, v in files.items() if k.startswith("baseline")},
                              hash_image_bytes(baseline).pdq)
    rows_progressive = scan_rows(tmp_path / "p", {k: v for k, v in files.items() if k.startswith("progressive")},
                                 hash_image_bytes(progressive).pdq)
    for row in (*rows_baseline.values(), *rows_progressive.values()):
        assert_scan_matched(row)
        assert any(note.startswith("truncated:") for note in row["notes"]), row
