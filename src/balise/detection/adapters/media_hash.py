"""Media hashing: decoding every image/video Balise accepts, safely, into PDQ / vPDQ hashes.

Entry points
------------
* :func:`hash_image` — PDQ (+ dihedral, + per-frame hashes of animated GIF/WebP) of one image.
* :func:`hash_video` — vPDQ-style per-frame PDQ hashes of a video (PyAV).
* :func:`hash_file` — JSON-ready dict for one file: exact hashes, media type by content,
  perceptual hashes or a precise error. What ``balise hash PATH...`` calls per file.
* :func:`hash_file_isolated` — the same in a child process with a wall-clock timeout and an
  address-space limit; a hang, crash or out-of-memory becomes an error result.
* :func:`iter_paths` — files under the given paths, recursively, sorted, not following symlinks.

Design decisions (measured with ``benchmarks/bench_hash.py`` and the shared vectors)
----------------------------------------------------------------------------------
* **Fast pipeline (default).** The PDQ filter (two box passes per axis, then sampling 64x64) is
  a linear map, so it equals ``R @ luma @ C.T`` with 64 x H and 64 x W matrices (see
  ``pdq.py``). A JPEG is decoded *in the DCT domain at 1/2, 1/4 or 1/8 scale* straight to its Y
  channel (``Image.draft("L", ...)``): Y is the JFIF BT.601 luma, the same weights PDQ uses, so no
  colour conversion and no chroma work. Each reduced pixel is (close to) the mean of an s x s
  block of full-resolution pixels, so instead of running PDQ on the small picture (which would
  change the window sizes and sampling grid) we apply the *full-resolution* filter matrices
  with their columns summed per block: the only approximation left is the variation inside a
  block, which the wide PDQ windows average out. The scale is the largest of 1/8, 1/4, 1/2 that
  keeps at least ``FAST_MIN_BLOCKS_PER_WINDOW`` blocks inside the smaller filter window and
  the reduced image's short side >= ``FAST_MIN_REDUCED_SIDE``; measured against the reference
  it stays within the benchmark's fidelity targets (p95 <= 8 bits, quality within 2).
  Other formats are decoded fully and large ones are box-reduced (``Image.reduce``, an exact
  block mean) with the same block-aware matrices.
* ``fast=False`` decodes at full resolution, computes float luma 0.299 R + 0.587 G + 0.114 B
  and applies the exact filter: the reference algorithm (within float rounding).
* **Alpha.** Transparent pixels are composited onto **white** (what a browser or image viewer
  shows on a default page), using straight alpha. An image that is fully opaque hashes exactly
  as its colour channels. Because shared hash lists are computed by tools that drop alpha, an
  image with any non-opaque pixel also reports ``pdq_alpha_ignored`` (the colour channels
  alone) so both can be matched.
* **16-bit grey** (``I;16``, ``I;16B``, ``I;16L``, 16-bit PNGs) is scaled to 8 bits as
  ``v / 257`` (0..65535 -> 0..255). The reference tools clip at 255 instead (Pillow's ``I;16`` ->
  ``RGB`` conversion); ``grey16="clip"`` reproduces that for conformance comparisons only.
  ``I`` (32-bit) images whose values fit 0..255 are used as is, 0..65535 as 16-bit, otherwise
  min-max scaled; ``F`` images in 0..1 are scaled by 255, otherwise as ``I``.
* CMYK (including Adobe-inverted CMYK JPEG, which Pillow un-inverts), palette (P, PA), 1-bit,
  LAB/HSV/YCbCr are converted to RGB with Pillow before luma; EXIF orientation (values 1-8) is
  applied to the luma (or, in the fast path, to the filter matrices) so a rotated file hashes
  like the upright picture.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import multiprocessing
import os
import resource
import stat
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from struct import error as struct_error
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from balise.detection.adapters.hashing import exact_hashes
from balise.detection.adapters.media_layout import describe
from balise.detection.adapters.pdq import (
    DIHEDRAL_NAMES,
    PDQ_DIM,
    _bits_to_hex,
    _dct16,
    _dihedral_coeffs,
    _filter_decimate_matrix,
    _quality,
    luma_from_rgb,
    single_threaded_blas,
)

try:  # HEIC/HEIF through pillow-heif's Pillow plugin.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = True
except Exception:  # noqa: BLE001 - hashing other formats must keep working
    _HEIF = False

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "QUALITY_THRESHOLD",
    "DihedralHash",
    "FrameHash",
    "ImageHash",
    "MediaError",
    "VpdqFrame",
    "hash_file",
    "hash_file_isolated",
    "hash_image",
    "hash_video",
    "iter_paths",
]

QUALITY_THRESHOLD = 50  # below: "low_quality" — too weak to match, reported explicitly
DEFAULT_MAX_PIXELS = 100_000_000  # per image / per frame, checked before decoding
DEFAULT_MAX_FRAMES = 1000  # animated images
DEFAULT_VIDEO_MAX_FRAMES = 100_000
DEFAULT_VIDEO_MAX_SECONDS = 600.0  # wall-clock decoding budget per video
DEFAULT_VIDEO_MAX_DURATION = 6 * 3600.0  # declared duration
DEFAULT_VIDEO_MAX_PIXELS = 8192 * 8192
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_BYTES = 3 * 1024**3

# Fast JPEG path: largest DCT scale (8, 4, 2) such that the smaller filter window of the
# full-resolution image still spans this many reduced pixels, and the short side of the
# reduced image stays at least this long. Chosen by measurement (see the module docstring).
FAST_MIN_BLOCKS_PER_WINDOW = 3.0
FAST_MIN_REDUCED_SIDE = 64
# Non-JPEG fast path: box-reduce only when the image is large enough to be worth it.
FAST_REDUCE_MIN_PIXELS = 4_000_000

Image.init()
ALLOWED_FORMATS = tuple(
    f for f in ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF") if f in Image.OPEN
)

_ORIENTATION_TAG = 0x0112
# EXIF orientation -> (transpose first, then flip rows (top-bottom), flip cols (left-right)),
# mapping the stored pixels to the upright picture.
_ORIENTATIONS = {
    1: (False, False, False),
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}


class MediaError(Exception):
    """A file that cannot be hashed; the message is the precise reason."""


@dataclass
class DihedralHash:
    transform: str
    pdq: str
    quality: int


@dataclass
class FrameHash:
    frame_number: int
    timestamp: float
    pdq: str
    quality: int


VpdqFrame = FrameHash


@dataclass
class ImageHash:
    pdq: str | None
    pdq_quality: int | None
    status: str  # "ok" | "low_quality" | "error"
    width: int | None = None
    height: int | None = None
    format: str | None = None
    mode: str | None = None
    dihedral: list[DihedralHash] | None = None
    frames: list[FrameHash] | None = None
    pdq_alpha_ignored: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    # Only when asked (``preview_side``): {"mode": "L", "size": [w, h], "pixels": bytes}; never
    # part of the JSON result.
    preview: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None and v != [] and k != "preview"}


# EXIF orientation -> the transposition that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def preview_pixels(im: Image.Image, orientation: int, side: int) -> dict[str, Any] | None:
    """The current (decoded) frame as raw greyscale pixels, upright, long side at most
    ``side``: alpha composited on white, 16-bit grey scaled to 8 bits. Raw pixels rather than
    an encoded file, so that whoever receives them decodes nothing. None if it cannot be made
    (the hash does not depend on it; the derivative is then made from the stored file)."""
    try:
        frame = im
        if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
            rgba = frame.convert("RGBA")
            frame = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        elif frame.mode.startswith("I;16"):
            frame = frame.convert("I").point(lambda v: v * (1 / 257))  # type: ignore[arg-type, operator]
        grey = frame.convert("L") if frame.mode != "L" else frame.copy()
        grey.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if orientation in _UPRIGHT:
            grey = grey.transpose(_UPRIGHT[orientation])
        return {"mode": "L", "size": [grey.width, grey.height], "pixels": grey.tobytes()}
    except Exception:  # noqa: BLE001 - a preview is optional
        return None


def _status(quality: int) -> str:
    return "ok" if quality >= QUALITY_THRESHOLD else "low_quality"


# --------------------------------------------------------------------------------------
# Filter matrices for a (possibly block-reduced, possibly mirrored) axis
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=128)
def _axis_matrix(full: int, scale: int, reduced: int, reverse: bool) -> np.ndarray:
    """64 x ``reduced`` matrix: the full-resolution PDQ filter+decimation of an axis of ``full``
    pixels (mirrored if ``reverse``), applied to pixels that are means of ``scale`` consecutive
    full-resolution pixels (stored order, blocks aligned at 0, the last one partial)."""
    m = _filter_decimate_matrix(full).astype(np.float64)
    if reverse:
        m = m[:, ::-1]
    if scale == 1:
        out = m
    else:
        pad = reduced * scale - full
        if pad < 0:
            raise ValueError("reduced size too small for scale")
        # Pixels past the end of a partial last block do not exist: the block mean is over the
        # pixels present, which is what the decoders/reduce() produce; weight them as is.
        padded = np.concatenate([m, np.zeros((PDQ_DIM, pad))], axis=1)
        out = padded.reshape(PDQ_DIM, reduced, scale).sum(axis=2)
    return np.ascontiguousarray(out, dtype=np.float32)


def _buffer_from_luma(
    luma: np.ndarray, orientation: int = 1, full_size: tuple[int, int] | None = None, scale: int = 1
) -> np.ndarray:
    """64x64 filtered buffer of the *upright* picture from stored-orientation luma.

    ``full_size`` (W, H) is the stored full-resolution size when ``luma`` is block-reduced by
    ``scale``; it defaults to the luma's own size.
    """
    if luma.ndim != 2 or luma.size == 0:
        raise MediaError(f"image has no pixels (shape {luma.shape})")
    h_red, w_red = luma.shape
    w_full, h_full = full_size if full_size else (w_red, h_red)
    transpose, flip_rows, flip_cols = _ORIENTATIONS.get(orientation, _ORIENTATIONS[1])
    # Upright picture O = flips(A) with A = L.T if transpose else L. The rows of A are stored
    # columns when transposed. Buffer = R @ A @ C.T with mirrored matrices for flipped axes.
    x = np.ascontiguousarray(luma, dtype=np.float32)
    with single_threaded_blas():
        if transpose:
            r = _axis_matrix(w_full, scale, w_red, flip_rows)  # acts on stored columns
            c = _axis_matrix(h_full, scale, h_red, flip_cols)  # acts on stored rows
            # R @ L.T @ C.T == (C @ L @ R.T).T
            buf = (c @ x @ r.T).T
        else:
            r = _axis_matrix(h_full, scale, h_red, flip_rows)
            c = _axis_matrix(w_full, scale, w_red, flip_cols)
            buf = r @ x @ c.T
    return np.asarray(buf, dtype=np.float64)


def _hash_buffer(buf: np.ndarray, dihedral: bool) -> tuple[str, int, list[DihedralHash] | None]:
    coeffs = _dct16(buf)
    quality = _quality(buf)
    pdq = _bits_to_hex(coeffs)
    dih = None
    if dihedral:
        dih = [
            DihedralHash(name, _bits_to_hex(c), quality)
            for name, c in zip(DIHEDRAL_NAMES, _dihedral_coeffs(coeffs))
        ]
    return pdq, quality, dih


# --------------------------------------------------------------------------------------
# Pixels -> luma for every mode
# --------------------------------------------------------------------------------------


def _grey16_to_float(arr: np.ndarray, grey16: str) -> np.ndarray:
    a = arr.astype(np.float32)
    if grey16 == "clip":
        return np.minimum(a, 255.0)
    return a / np.float32(257.0)


def _scale_wide_range(a: np.ndarray, grey16: str) -> np.ndarray:
    """Integer/float grey of unknown range -> 0..255 float32."""
    a = a.astype(np.float32)
    finite = np.isfinite(a)
    if not finite.all():
        a = np.where(finite, a, 0.0).astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0 and hi <= 255:
        return a
    if lo >= 0 and hi <= 65535:
        return _grey16_to_float(a, grey16)
    if hi == lo:
        return np.zeros_like(a)
    return (a - lo) * np.float32(255.0 / (hi - lo))


def _composite_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32) / np.float32(255.0)
    return rgb.astype(np.float32) * a + np.float32(255.0) * (1.0 - a)


def _luma_of(im: Image.Image, *, exact: bool, grey16: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(luma as displayed, luma of the colour channels ignoring alpha or None if opaque)."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return _grey16_to_float(np.asarray(im), grey16), None
    if mode == "I":
        return _scale_wide_range(np.asarray(im), grey16), None
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        finite = a[np.isfinite(a)]
        if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            return np.nan_to_num(a) * np.float32(255.0), None
        return _scale_wide_range(a, grey16), None
    if mode in ("L", "1"):
        g = im if mode == "L" else im.convert("L")
        return np.asarray(g, dtype=np.float32), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        arr = np.asarray(rgba)
        alpha = arr[..., 3]
        colour = luma_from_rgb(arr) if exact else np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32)
        if alpha.min() == 255:
            return colour, None
        return _composite_white(colour, alpha), colour
    if mode != "RGB":
        im = im.convert("RGB")
    if exact:
        return luma_from_rgb(np.asarray(im)), None
    return np.asarray(im.convert("L"), dtype=np.float32), None


# --------------------------------------------------------------------------------------
# Opening images safely
# --------------------------------------------------------------------------------------


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
        value = int(value)
    except Exception:  # noqa: BLE001 - unreadable EXIF: treat as upright
        return 1
    return value if value in _ORIENTATIONS else 1


def _open_image(source: Any, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(source, formats=list(ALLOWED_FORMATS))
        except Image.DecompressionBombError as exc:
            raise MediaError(f"decompression bomb: {exc}") from None
        except Image.UnidentifiedImageError:
            raise MediaError("not a supported image (content not recognised as JPEG, PNG, GIF, WebP, BMP, TIFF or HEIC)") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise MediaError(f"corrupt image header: {exc}") from None
    w, h = im.size
    if w <= 0 or h <= 0 or w * h > max_pixels:
        im.close()
        if w <= 0 or h <= 0:
            raise MediaError(f"invalid image dimensions {w}x{h}")
        raise MediaError(
            f"decompression bomb: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} pixels"
        )
    return im


def _load(im: Image.Image) -> None:
    # Relies on Pillow's default ImageFile.LOAD_TRUNCATED_IMAGES = False: a truncated file is
    # an error, never a partially grey picture.
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise MediaError(f"decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct_error) as exc:
        raise MediaError(f"truncated or corrupt image data: {exc}") from None


def _jpeg_draft_scale(w: int, h: int) -> int:
    """DCT scale for the fast JPEG path (see FAST_* constants)."""
    window = min((w + 127) // 128, (h + 127) // 128)
    for s in (8, 4, 2):
        if window / s >= FAST_MIN_BLOCKS_PER_WINDOW and min(w, h) // s >= FAST_MIN_REDUCED_SIDE:
            return s
    return 1


def _still_luma(
    im: Image.Image, *, fast: bool, grey16: str
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int], int]:
    """(luma, alpha-ignored luma or None, stored full size, block scale) of the current frame."""
    full = im.size
    scale = 1
    if fast and im.format in ("JPEG", "MPO") and im.mode in ("RGB", "L"):
        s = _jpeg_draft_scale(*full)
        if s > 1:
            # Decode the Y channel only (JFIF Y is BT.601 luma: PDQ's weights), scaled in the DCT
            # domain. Images too small for a reduction take the exact path below.
            im.draft("L", (full[0] // s, full[1] // s))
            scale = int((getattr(im, "decoderconfig", None) or (1,))[0] or 1)
            if im.mode == "L":
                _load(im)
                return np.asarray(im, dtype=np.float32), None, full, scale
    _load(im)
    luma, luma_no_alpha = _luma_of(im, exact=True, grey16=grey16)
    if fast and full[0] * full[1] >= FAST_REDUCE_MIN_PIXELS:
        s = _jpeg_draft_scale(*full)
        if s > 1:
            luma = _block_mean(luma, s)
            if luma_no_alpha is not None:
                luma_no_alpha = _block_mean(luma_no_alpha, s)
            scale = s
    return luma, luma_no_alpha, full, scale


def _block_mean(a: np.ndarray, s: int) -> np.ndarray:
    """Mean over s x s blocks (partial blocks at the right/bottom: mean of present pixels)."""
    h, w = a.shape
    hr, wr = -(-h // s), -(-w // s)
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    out = np.asarray(img.reduce(s), dtype=np.float32)
    assert out.shape == (hr, wr)
    return out


def _frame_count(im: Image.Image) -> int:
    try:
        return int(getattr(im, "n_frames", 1) or 1)
    except Exception:  # noqa: BLE001
        return 1


def hash_image(
    stream_or_path: str | os.PathLike[str] | BinaryIO,
    *,
    dihedral: bool = False,
    fast: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
    grey16: str = "scale",
    preview_side: int | None = None,
) -> ImageHash:
    """PDQ of an image as it looks (alpha on white, EXIF orientation applied).

    ``preview_side``: also give, in ``preview``, the first frame upright, greyscale and
    downscaled to that long side, made from the picture this call decoded anyway (for a JPEG,
    the reduced DCT-scale decode of the fast path): the source of the staff browser's blurred
    derivative, so that it costs no second decode (see :func:`preview_pixels`).

    Raises :class:`MediaError` with a precise reason for anything that cannot be hashed.
    Animated GIF/WebP: ``frames`` holds every frame's hash (up to ``max_frames``, and the total
    decoded pixels are bounded by ``max_pixels * max_frames``); the image hash is frame 0's.
    """
    if grey16 not in ("scale", "clip"):
        raise ValueError("grey16 must be 'scale' or 'clip'")
    source: Any = os.fspath(stream_or_path) if isinstance(stream_or_path, (str, os.PathLike)) else stream_or_path
    im = _open_image(source, max_pixels)
    try:
        fmt = im.format
        width, height = im.size
        mode = im.mode
        orientation = _orientation(im)
        n_frames = _frame_count(im) if fmt in ("GIF", "WEBP", "PNG", "TIFF", "HEIF", "MPO") else 1
        animated = n_frames > 1 and fmt in ("GIF", "WEBP", "PNG")
        luma, luma_no_alpha, full, scale = _still_luma(im, fast=fast and not animated, grey16=grey16)
        preview = preview_pixels(im, orientation, preview_side) if preview_side else None
        buf = _buffer_from_luma(luma, orientation, full, scale)
        pdq, quality, dih = _hash_buffer(buf, dihedral)
        result = ImageHash(
            pdq=pdq,
            pdq_quality=quality,
            status=_status(quality),
            width=width if orientation < 5 else height,
            height=height if orientation < 5 else width,
            format=fmt,
            mode=mode,
            dihedral=dih,
        )
        result.preview = preview
        if luma_no_alpha is not None:
            result.pdq_alpha_ignored = _hash_buffer(_buffer_from_luma(luma_no_alpha, orientation, full, scale), False)[0]
            result.notes.append("transparent pixels composited onto white; pdq_alpha_ignored hashes the colour channels alone")
        if orientation != 1:
            result.notes.append(f"EXIF orientation {orientation} applied")
        if animated:
            result.frames = _animated_frames(im, n_frames, max_frames, grey16)
        return result
    finally:
        im.close()


def _animated_frames(im: Image.Image, n_frames: int, max_frames: int, grey16: str) -> list[FrameHash]:
    if n_frames > max_frames:
        raise MediaError(f"animated image has {n_frames} frames, more than the limit of {max_frames}")
    frames: list[FrameHash] = []
    t_ms = 0.0
    for i in range(n_frames):
        try:
            im.seek(i)
        except EOFError:
            break
        except (OSError, ValueError) as exc:
            raise MediaError(f"corrupt animation frame {i}: {exc}") from None
        _load(im)
        luma, _, _, _ = _still_luma(im, fast=False, grey16=grey16)
        pdq, quality, _ = _hash_buffer(_buffer_from_luma(luma), False)
        frames.append(FrameHash(i, round(t_ms / 1000.0, 3), pdq, quality))
        t_ms += float(im.info.get("duration", 0) or 0)
    return frames


# --------------------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------------------


def hash_video(
    path: str | os.PathLike[str],
    *,
    max_frames: int = DEFAULT_VIDEO_MAX_FRAMES,
    max_seconds: float = DEFAULT_VIDEO_MAX_SECONDS,
    max_pixels: int = DEFAULT_VIDEO_MAX_PIXELS,
    max_duration: float = DEFAULT_VIDEO_MAX_DURATION,
    downscale: tuple[int, int] | None = None,
    use_luma_plane: bool = True,
    _declared_frames: list[int] | None = None,
) -> list[FrameHash]:
    """PDQ of every decoded frame of the first video stream (vPDQ), in decoding order.

    ``downscale=(128, 128)`` hashes frames resized to 128x128 like the reference ``-128x128``
    hashes. ``use_luma_plane`` hashes the Y plane expanded to full range instead of converting
    to RGB24 (faster; see the vPDQ conformance test for its fidelity).
    The stream's declared size, frame count and duration are checked before decoding; decoding
    stops with :class:`MediaError` past ``max_frames`` frames or ``max_seconds`` of wall time.
    """
    import av

    t0 = time.monotonic()
    try:
        container = av.open(os.fspath(path), mode="r", metadata_errors="ignore")
    except Exception as exc:  # noqa: BLE001 - av raises many error types
        raise MediaError(f"not a decodable video: {exc}") from None
    try:
        if not container.streams.video:
            raise MediaError("no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        w, h = int(ctx.width or 0), int(ctx.height or 0)
        if w <= 0 or h <= 0:
            raise MediaError(f"video stream declares invalid dimensions {w}x{h}")
        if w * h > max_pixels:
            raise MediaError(f"video frame {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels}")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        if duration is not None and (duration > max_duration or duration < 0):
            raise MediaError(f"video declares a duration of {duration:.0f} s, beyond the limit of {max_duration:.0f} s")
        if _declared_frames is not None and stream.frames:
            _declared_frames.append(int(stream.frames))
        if stream.frames and stream.frames > max_frames:
            raise MediaError(f"video declares {stream.frames} frames, more than the limit of {max_frames}")
        rate = float(stream.average_rate) if stream.average_rate else None
        stream.thread_type = "AUTO"
        frames: list[FrameHash] = []
        for i, frame in enumerate(container.decode(stream)):
            if i >= max_frames:
                raise MediaError(f"video has more than {max_frames} frames")
            if time.monotonic() - t0 > max_seconds:
                raise MediaError(f"video decoding exceeded {max_seconds:.0f} s of wall time after {i} frames")
            if frame.width * frame.height > max_pixels:
                raise MediaError(f"video frame {frame.width}x{frame.height} exceeds the limit of {max_pixels} pixels")
            luma = _frame_luma(frame, downscale, use_luma_plane)
            pdq, quality, _ = _hash_buffer(_buffer_from_luma(luma), False)
            if frame.time is not None:
                ts = float(frame.time)
            elif rate:
                ts = i / rate
            else:
                ts = 0.0
            frames.append(FrameHash(i, round(ts, 3), pdq, quality))
        if not frames:
            raise MediaError("video stream has no decodable frames")
        return frames
    except MediaError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt streams raise av.error.* / ValueError
        raise MediaError(f"corrupt video: {type(exc).__name__}: {exc}") from None
    finally:
        container.close()


def _frame_luma(frame: Any, downscale: tuple[int, int] | None, use_luma_plane: bool) -> np.ndarray:
    if downscale:
        rgb = frame.to_ndarray(format="rgb24", width=downscale[0], height=downscale[1], interpolation="BICUBIC")
        return luma_from_rgb(rgb)
    if use_luma_plane and frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12"):
        plane = frame.planes[0]
        y = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
        y = y.astype(np.float32)
        if frame.format.name != "yuvj420p" and getattr(frame, "color_range", 1) != 2:
            y = np.clip((y - 16.0) * np.float32(255.0 / 219.0), 0.0, 255.0)
        return y
    return luma_from_rgb(frame.to_ndarray(format="rgb24"))


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def _error_result(base: dict[str, Any], reason: str) -> dict[str, Any]:
    base.update(status="error", error=reason)
    return base


def hash_file(
    path: str | os.PathLike[str],
    *,
    dihedral: bool = False,
    fast: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    video_max_frames: int = DEFAULT_VIDEO_MAX_FRAMES,
    video_max_seconds: float = DEFAULT_VIDEO_MAX_SECONDS,
    video_downscale: tuple[int, int] | None = None,
    perceptual: bool = True,
    preview_side: int | None = None,
) -> dict[str, Any]:
    """JSON-ready result for one file; never raises for a bad file (status "error" + error).

    Keys: path, size, md5, sha1, sha256, media_type (image/video/other, by content), mime,
    status ("ok" | "low_quality" | "error"), and for images pdq, pdq_quality, width, height,
    format, mode (+ dihedral, frames, pdq_alpha_ignored), for videos vpdq (a list of
    {frame_number, timestamp, pdq, quality}) and frame_count, for errors error (the reason);
    notes (what was ignored or repaired, see media_layout.py) and polyglot (the other formats
    the file also is) when there are any. ``perceptual=False`` stops after the exact hashes and
    the media type (status "ok"). ``preview_side`` adds ``preview`` for a picture (raw pixels,
    not JSON: see :func:`hash_image`).
    """
    p = Path(path)
    result: dict[str, Any] = {"path": str(p)}
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            return _error_result(result, "not a regular file")
        with p.open("rb") as f:
            exact = exact_hashes(f)
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if exact.size else b""
    except OSError as exc:
        return _error_result(result, f"cannot read file: {exc.strerror or exc}")
    result.update(size=exact.size, md5=exact.md5, sha1=exact.sha1, sha256=exact.sha256)
    if exact.size == 0:
        result["media_type"] = "other"
        return _error_result(result, "empty file (0 bytes)")
    try:
        return _hash_data(result, data, p, dihedral=dihedral, fast=fast, max_pixels=max_pixels,
                          video_max_frames=video_max_frames, video_max_seconds=video_max_seconds,
                          video_downscale=video_downscale, perceptual=perceptual, preview_side=preview_side)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def _hash_data(result: dict[str, Any], data: Any, p: Path, *, dihedral: bool, fast: bool, max_pixels: int,
               video_max_frames: int, video_max_seconds: float, video_downscale: tuple[int, int] | None,
               perceptual: bool, preview_side: int | None = None) -> dict[str, Any]:
    try:
        layout = describe(data)
    except Exception as exc:  # noqa: BLE001 - a hostile file must never crash a batch
        return _error_result(result, f"unexpected failure reading the file's structure: {type(exc).__name__}: {exc}")
    result["media_type"] = layout.media_type
    result["mime"] = layout.mime
    notes = list(layout.notes)
    if layout.polyglot:
        result["polyglot"] = list(layout.also)
    if not perceptual:
        result["status"] = "ok"
        return _with_notes(result, notes)
    try:
        if layout.media_type == "image":
            source: Any = p if layout.whole else io.BytesIO(layout.media_bytes(data))
            ih = hash_image(source, dihedral=dihedral, fast=fast, max_pixels=max_pixels, preview_side=preview_side)
            d = ih.to_dict()
            result.update({k: v for k, v in d.items() if k != "notes"})
            if ih.preview:
                result["preview"] = ih.preview
            notes += ih.notes
        elif layout.media_type == "video":
            declared: list[int] = []
            frames = hash_video(
                p,
                max_frames=video_max_frames,
                max_seconds=video_max_seconds,
                downscale=video_downscale,
                _declared_frames=declared,
            )
            result["vpdq"] = [asdict(f) for f in frames]
            result["frame_count"] = len(frames)
            if declared and declared[0] > len(frames):
                notes.append(
                    f"only {len(frames)} of the {declared[0]} declared frames could be decoded (truncated or corrupt file)")
            good = sum(1 for f in frames if f.quality >= QUALITY_THRESHOLD)
            result["status"] = "ok" if good else "low_quality"
        else:
            head = bytes(data[:16])
            desc = head.decode("ascii", "replace") if head.isascii() else head[:8].hex()
            return _error_result(result, f"not an image or video: content not recognised (starts with {desc!r})")
    except MediaError as exc:
        return _with_notes(_error_result(result, str(exc)), notes)
    except MemoryError:
        return _with_notes(_error_result(result, "out of memory while decoding"), notes)
    except Exception as exc:  # noqa: BLE001 - a hostile file must never crash a batch
        return _with_notes(_error_result(result, f"unexpected decoder failure: {type(exc).__name__}: {exc}"), notes)
    return _with_notes(result, notes)


def _with_notes(result: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    if notes:
        result["notes"] = notes
    return result


def iter_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Regular files under ``paths`` (files as given, directories recursively), sorted by name
    within each directory; symbolic links inside directories are not followed."""
    for root in paths:
        p = Path(root)
        if p.is_dir():
            yield from _walk(p)
        elif p.exists():
            yield p


def _walk(directory: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            yield Path(entry.path)


# --------------------------------------------------------------------------------------
# Isolation: child process with a timeout and an address-space limit
# --------------------------------------------------------------------------------------


def _child(conn: Any, path: str, memory_bytes: int | None, kwargs: dict[str, Any]) -> None:
    try:
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        result = hash_file(path, **kwargs)
    except MemoryError:
        result = {"path": path, "status": "error", "error": "out of memory while decoding"}
    except BaseException as exc:  # noqa: BLE001
        result = {"path": path, "status": "error", "error": f"worker failure: {type(exc).__name__}: {exc}",
                  "trace": traceback.format_exc(limit=3)}
    try:
        conn.send(result)
    finally:
        conn.close()


def _mp_context() -> Any:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["balise.detection.adapters.media_hash"])
    return ctx


_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start children without re-running the parent's main module in them.

    A forkserver/spawn child normally re-imports ``__main__`` by path (the ``balise`` console
    script, uvicorn, pytest…), which costs hundreds of milliseconds per file and is useless
    here: the child only needs this module, which the fork server preloads. multiprocessing
    decides from ``__main__.__file__``/``__spec__``; they are hidden while the child starts,
    under a lock so that concurrent starts restore them correctly."""
    main = sys.modules.get("__main__")
    with _START_LOCK:
        saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if main is not None and name in main.__dict__}
        try:
            if main is not None:
                main.__dict__.pop("__file__", None)
                main.__dict__["__spec__"] = None
            yield
        finally:
            if main is not None:
                main.__dict__.pop("__spec__", None)
                main.__dict__.update(saved)


def hash_file_isolated(
    path: str | os.PathLike[str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`hash_file` in a child process: at most ``timeout_s`` seconds of wall time and
    ``memory_bytes`` of address space (RLIMIT_AS). A timeout, crash or out-of-memory yields an
    error result (with the exact hashes, computed here in streaming constant memory) instead of
    an exception."""
    p = Path(path)
    ctx = _mp_context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, str(p), memory_bytes, kwargs), daemon=True)
    with _main_module_hidden():
        proc.start()
    child.close()
    result: dict[str, Any] | None = None
    timed_out = False
    try:
        if parent.poll(timeout_s):
            try:
                result = parent.recv()
            except (EOFError, OSError):
                result = None  # the child died without answering
        else:
            timed_out = True
        proc.join(timeout=5)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()
    if result is not None:
        return result
    if timed_out:
        reason = f"timeout: hashing took longer than {timeout_s:g} s"
    elif proc.exitcode is not None and proc.exitcode < 0:
        reason = f"worker crashed (signal {-proc.exitcode}) while decoding"
    else:
        reason = f"worker exited with status {proc.exitcode} (out of memory or crash) while decoding"
    fallback: dict[str, Any] = {"path": str(p)}
    try:
        with p.open("rb") as f:
            exact = exact_hashes(f)
        fallback.update(size=exact.size, md5=exact.md5, sha1=exact.sha1, sha256=exact.sha256)
    except OSError:
        pass
    return _error_result(fallback, reason)


def hash_image_bytes(data: bytes, **kwargs: Any) -> ImageHash:
    return hash_image(io.BytesIO(data), **kwargs)
