"""Derivatives of stored media: what the staff browser is given instead of the stored bytes.

Every function takes the decrypted content in memory and returns new bytes encoded here from
decoded pixels only: a PNG (or WebP) with no metadata (no EXIF, ICC profile, text or time), so
nothing the provider put in the file — comments, trailing data, a second format in a polyglot
— reaches the browser. Nothing is written to disk.

* :func:`picture_preview` — downscaled (long side ``PREVIEW_MAX_SIDE``), blurred, greyscale
  unless asked for colour. JPEGs are decoded at a reduced DCT scale (``Image.draft``), the
  fast path the hasher uses, so a 12 MP photo costs a fraction of a full decode.
* :func:`picture_source` — the preview before its blur (upright, downscaled, greyscale or
  colour), as a PNG: what is kept encrypted in the vault so that later previews cost a small
  decrypt, a blur and an encode (:func:`preview_from_source`). The hasher makes the greyscale
  one from the picture it decodes anyway (:func:`source_from_pixels`).
* :func:`picture_unblurred` — the picture as decoded, upright, in colour, at most
  ``REVEALED_MAX_SIDE``, as a WebP (what a reveal shows).
* :func:`video_contact_sheet` — up to ``CONTACT_SHEET_FRAMES`` keyframes spread over the
  video (PyAV, keyframes only), blurred like a picture preview, in one grid.

Only raster formats are decoded (the hasher's list); anything else raises
:class:`NotDecodable`. Callers decode only content that the isolated hasher already decoded
completely (docs/workbench.md), so these run in the web process.
"""

from __future__ import annotations

import io
import time
import warnings
from typing import Any

from PIL import Image, ImageFilter, ImageOps

from balise.detection.adapters.hashing import sniff_media_type
from balise.detection.adapters.media_layout import describe
from balise.domain.exposure import (
    CONTACT_SHEET_COLUMNS,
    CONTACT_SHEET_FRAMES,
    CONTACT_SHEET_THUMB,
    PREVIEW_MAX_SIDE,
    REVEALED_MAX_SIDE,
)

RASTER_FORMATS = ["JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF"]
try:  # HEIC/HEIF, when pillow-heif is there (the hasher registers it the same way)
    import pillow_heif

    pillow_heif.register_heif_opener()
    RASTER_FORMATS.append("HEIF")
except Exception:  # noqa: BLE001 - other formats keep working
    pass
MAX_PIXELS = 100_000_000
VIDEO_MAX_PIXELS = 8192 * 8192
VIDEO_MAX_SECONDS = 20.0


class NotDecodable(Exception):
    """The content is not a picture or video these functions decode; the message says why."""


def _encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    # A fresh image holds pixels only: no info dictionary, so no metadata is written.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if fmt == "PNG":
        clean.save(out, format="PNG", compress_level=3)
    elif fmt == "PNG-FAST":  # a source kept in the vault: written once, read at each view
        clean.save(out, format="PNG", compress_level=1)
    else:  # a full-size picture: lossy WebP is ten times faster to encode than PNG
        clean.save(out, format="WEBP", quality=88, method=0)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    layout = describe(data)
    if layout.media_type != "image":
        raise NotDecodable("not a picture")
    # The picture as the hasher saw it: bytes a decoder skips before it and data after it left
    # out, a cut JPEG closed after its last complete segment.
    data = layout.media_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=RASTER_FORMATS)
        except Exception as exc:  # noqa: BLE001 - any failure means: not shown
            raise NotDecodable(f"not a decodable picture: {type(exc).__name__}") from None
    w, h = image.size
    if w <= 0 or h <= 0 or w * h > MAX_PIXELS:
        raise NotDecodable(f"picture of {w}x{h} pixels is beyond the limit")
    return image


def _upright(image: Image.Image, reduce_to: int | None, mode: str) -> Image.Image:
    """The first frame, decoded (at a reduced JPEG scale when it is much larger than needed),
    turned upright by its EXIF orientation, alpha composited on white, in ``mode``."""
    try:
        if reduce_to and image.format in ("JPEG", "MPO"):
            # The DCT scale (1/2, 1/4, 1/8) that keeps the long side at least 3/4 of the size
            # wanted: a reveal stays sharp, a preview costs an eighth of a decode.
            w, h = image.size
            ratio = 0.75 * reduce_to / max(w, h)
            if ratio < 1:
                image.draft("L" if mode == "L" else "RGB", (max(1, int(w * ratio)), max(1, int(h * ratio))))
        image.seek(0)
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
            rgba = upright.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            upright = Image.alpha_composite(white, rgba)
        elif upright.mode.startswith("I;16"):
            upright = upright.convert("I").point(lambda v: v * (1 / 257))  # type: ignore[arg-type, operator]
        return upright.convert(mode)
    except NotDecodable:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise NotDecodable(f"not a decodable picture: {type(exc).__name__}") from None


def _blurred(image: Image.Image, max_side: int, blur: int) -> Image.Image:
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image.filter(ImageFilter.GaussianBlur(blur))


def picture_preview(data: bytes, *, blur: int, greyscale: bool = True, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    image = _upright(_open(data), max_side, "L" if greyscale else "RGB")
    return _encoded(_blurred(image, max_side, blur))


def picture_source(data: bytes, *, greyscale: bool = True, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    """What :func:`picture_preview` blurs, as a PNG without metadata (fast to encode, lossless)."""
    image = _upright(_open(data), max_side, "L" if greyscale else "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return _encoded(image, "PNG-FAST")


def source_from_pixels(pixels: Any, *, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    """The hasher's raw greyscale pixels (``{"mode": "L", "size": [w, h], "pixels": bytes}``,
    made in its child process) as a source PNG; :class:`NotDecodable` if they are not that."""
    try:
        mode, (w, h), raw = pixels["mode"], pixels["size"], pixels["pixels"]
        w, h = int(w), int(h)
    except (KeyError, TypeError, ValueError):
        raise NotDecodable("not preview pixels") from None
    if mode != "L" or not (0 < w <= max_side and 0 < h <= max_side) or not isinstance(raw, bytes) or len(raw) != w * h:
        raise NotDecodable("not preview pixels of the expected size")
    return _encoded(Image.frombytes("L", (w, h), raw), "PNG-FAST")


def preview_from_source(source: bytes, *, blur: int, greyscale: bool = True,
                        max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    """:func:`picture_preview` from a kept source (a PNG Balise encoded): blur and encode only."""
    try:
        image = Image.open(io.BytesIO(source), formats=["PNG"])
        image.load()
    except Exception as exc:  # noqa: BLE001
        raise NotDecodable(f"not a preview source: {type(exc).__name__}") from None
    mode = "L" if greyscale else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    return _encoded(_blurred(image, max_side, blur))


def picture_unblurred(data: bytes, *, max_side: int = REVEALED_MAX_SIDE) -> bytes:
    """The picture in colour, upright, re-encoded as WebP (no metadata)."""
    image = _upright(_open(data), max_side, "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _encoded(image, "WEBP")


def video_contact_sheet(data: bytes, *, blur: int, greyscale: bool = True, frames: int = CONTACT_SHEET_FRAMES,
                        columns: int = CONTACT_SHEET_COLUMNS, thumb: int = CONTACT_SHEET_THUMB,
                        max_seconds: float = VIDEO_MAX_SECONDS) -> bytes:
    """Up to ``frames`` keyframes spread over the video, each blurred, in a grid."""
    if sniff_media_type(data[:64])[0] != "video":
        raise NotDecodable("not a video")
    pictures = _keyframes(data, frames, max_seconds)
    mode = "L" if greyscale else "RGB"
    shots = []
    for frame in pictures:
        frame = frame.convert(mode)
        shots.append(_blurred(frame, thumb, max(2, blur * thumb // PREVIEW_MAX_SIDE)))
    rows = -(-len(shots) // columns)
    cols = min(columns, len(shots))
    gap = 4
    sheet = Image.new(mode, (cols * thumb + (cols - 1) * gap, rows * thumb + (rows - 1) * gap),
                      255 if mode == "L" else (255, 255, 255))
    for i, shot in enumerate(shots):
        x = (i % columns) * (thumb + gap) + (thumb - shot.width) // 2
        y = (i // columns) * (thumb + gap) + (thumb - shot.height) // 2
        sheet.paste(shot, (x, y))
    return _encoded(sheet)


def _keyframes(data: bytes, wanted: int, max_seconds: float) -> list[Image.Image]:
    import av

    started = time.monotonic()
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except Exception as exc:  # noqa: BLE001 - av raises many error types
        raise NotDecodable(f"not a decodable video: {type(exc).__name__}") from None
    try:
        if not container.streams.video:
            raise NotDecodable("no video stream")
        stream = container.streams.video[0]
        w, h = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
        if w <= 0 or h <= 0 or w * h > VIDEO_MAX_PIXELS:
            raise NotDecodable(f"video of {w}x{h} pixels is beyond the limit")
        stream.codec_context.skip_frame = "NONKEY"
        duration = _duration(container, stream)
        found: list[Image.Image] = []
        if duration and stream.time_base:
            for k in range(wanted):
                if time.monotonic() - started > max_seconds:
                    break
                target = int((duration * (k + 0.5) / wanted) / stream.time_base)
                container.seek(target, stream=stream, backward=True, any_frame=False)
                frame = next(iter(container.decode(stream)), None)
                if frame is not None:
                    found.append(_frame_picture(frame))
        if not found:  # no duration, or seeking failed: the first keyframes in order
            container.seek(0)
            for frame in container.decode(stream):
                found.append(_frame_picture(frame))
                if len(found) >= wanted or time.monotonic() - started > max_seconds:
                    break
        if not found:
            raise NotDecodable("no decodable keyframe")
        return found
    except NotDecodable:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt streams raise av.error.* / ValueError
        raise NotDecodable(f"not a decodable video: {type(exc).__name__}") from None
    finally:
        container.close()


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _frame_picture(frame: Any) -> Image.Image:
    if frame.width * frame.height > VIDEO_MAX_PIXELS:
        raise NotDecodable("video frame beyond the limit")
    scale = max(frame.width, frame.height) / (CONTACT_SHEET_THUMB * 2)
    if scale > 1:
        return frame.to_image(width=max(1, int(frame.width / scale)), height=max(1, int(frame.height / scale)))
    return frame.to_image()
