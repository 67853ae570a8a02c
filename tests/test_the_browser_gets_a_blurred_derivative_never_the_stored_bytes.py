"""By default the staff browser receives a derivative made on the server: a small, blurred,
greyscale PNG with no metadata, re-encoded from decoded pixels; never the stored bytes. A video
is a contact sheet of blurred keyframes. Each view is audited as media:preview with its purpose."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from balise.demo import demo_image
from balise.domain.exposure import PREVIEW_MAX_SIDE
from tests.exposure_support import (
    analyst,
    claim,
    events,
    file_report,
    sample_video,
    sha256,
    token_of,
    workbench,
)


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, i = [], 8
    while i < len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        chunks.append(data[i + 4:i + 8])
        i += 12 + length
    return chunks


def jpeg_with_metadata() -> bytes:
    """A DEMO picture carrying what a derivative must drop: EXIF (a rotation, a camera, a
    GPS-like comment), an ICC profile and a JPEG comment."""
    picture = Image.open(io.BytesIO(demo_image(51, (640, 480))))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to be upright
    exif[0x010F] = "DEMO camera maker"
    exif[0x9286] = "DEMO user comment 48.85N 2.35E"
    icc = b"\x00" * 128 + b"DEMO-ICC-PROFILE"
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92, exif=exif.tobytes(), icc_profile=icc, comment=b"DEMO comment")
    return out.getvalue()


def sharpness(image: Image.Image) -> float:
    a = np.asarray(image.convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean())


def test_pictures_and_videos_reach_the_browser_only_as_small_blurred_greyscale_pngs(tmp_path, db_url):
    picture, video = jpeg_with_metadata(), sample_video()
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (picture_id, video_id) = file_report(
            balise, key, [("photo.jpg", picture, "image/jpeg"), ("clip.mp4", video, "video/mp4")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            page = ana.get(f"/ui/reports/{report_id}").text
            assert f'src="/ui/items/{picture_id}/media"' in page and f'src="/ui/items/{video_id}/media"' in page
            got = {item: ana.get(f"/ui/items/{item}/media") for item in (picture_id, video_id)}

        for item, stored in ((picture_id, picture), (video_id, video)):
            r = got[item]
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert r.headers["cache-control"].startswith("no-store")
            body = r.content
            assert sha256(body) != sha256(stored) and stored[:4096] not in body and body not in stored
            # Nothing but pixels: no EXIF, ICC profile, text, time or any other ancillary chunk.
            assert set(png_chunks(body)) == {b"IHDR", b"IDAT", b"IEND"}
            for marker in (b"DEMO camera", b"DEMO user comment", b"DEMO-ICC", b"DEMO comment", b"Exif"):
                assert marker not in body
            image = Image.open(io.BytesIO(body))
            image.load()
            assert image.format == "PNG" and image.mode == "L" and not image.info.get("exif")
            assert "icc_profile" not in image.info and not getattr(image, "text", {})

        preview = Image.open(io.BytesIO(got[picture_id].content))
        # Small, and upright: the EXIF rotation was applied to the pixels, then dropped.
        assert max(preview.size) <= PREVIEW_MAX_SIDE and preview.size[1] > preview.size[0]
        # Blurred: far less detail than the same picture merely made as small.
        sharp = Image.open(io.BytesIO(picture)).rotate(-90, expand=True).convert("L")
        sharp.thumbnail(preview.size)
        assert sharpness(preview) < sharpness(sharp) / 4
        sheet = Image.open(io.BytesIO(got[video_id].content))
        assert max(sheet.size) <= 3 * PREVIEW_MAX_SIDE

        previews = events(balise, "media:preview")
        assert [(e.subject_id, e.details["item"], e.details["view"]) for e in previews] == [
            (sha256(picture), str(picture_id), "picture"), (sha256(video), str(video_id), "video")]
        assert all(e.purpose == f"blurred preview while assessing report {report_id}" for e in previews)
        # Nothing was decrypted for the analyst but these previews (the hasher's reads are the system's).
        assert [e.actor_type for e in events(balise, "media:read")] == ["system", "system"]


def test_the_blur_and_colour_preferences_set_the_strength_never_remove_the_blur(tmp_path, db_url):
    picture = demo_image(52, (800, 600))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", picture, "image/jpeg")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            strong = Image.open(io.BytesIO(ana.get(f"/ui/items/{item_id}/media").content))
            r = ana.post("/ui/settings", data={"csrftoken": token_of(ana), "blur": "16", "greyscale": "",
                                               "locale": "en", "break_minutes": "50", "reveal_seconds": "10"})
            assert r.status_code in (200, 303)
            weakest = ana.get(f"/ui/items/{item_id}/media")
        light = Image.open(io.BytesIO(weakest.content))
        assert light.mode == "RGB" and strong.mode == "L"  # colour when the analyst chose it
        sharp = Image.open(io.BytesIO(picture)).convert("L")
        sharp.thumbnail(light.size)
        # The weakest blur allowed is weaker than the default, and still a blur.
        assert sharpness(strong) < sharpness(light) < sharpness(sharp) / 2
        assert sha256(weakest.content) != sha256(picture)
        assert [e.details["blur"] for e in events(balise, "media:preview")] == [12, 8]
