"""Every colour mode hashes as the picture looks, and EXIF orientation is applied.

The cases are built here from a generated, benign photo-like picture (gradients, shapes,
texture, noise): the same picture saved as CMYK JPEG, palette PNG, 1-bit, 16-bit grey, RGBA
with opaque alpha, LA, ... must hash within a few bits of the RGB original. Known
implementations hash CMYK ~254 bits off (they read C, M, Y as R, G, B) and palette images ~38
bits off (they hash palette indices); the tests also show that naive reading is far off, so they
would catch a regression to it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from balise.detection.adapters.media_hash import hash_image
from balise.detection.adapters.pdq import hamming, luma_from_rgb, pdq_from_luma

FEW_BITS = 10  # "within a few bits": measured 0-6 for these cases
PIPELINES = {"fast": True, "full_resolution": False}


def photo_like(size=(640, 480), seed=7) -> Image.Image:
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 120 + 90 * np.sin(x / w * 3.1 + 0.5) * np.cos(y / h * 2.3)
    g = 110 + 80 * np.cos(x / w * 4.7 - y / h * 1.9)
    b = 100 + 70 * np.sin((x + y) / (w + h) * 6.0)
    img = Image.fromarray(np.dstack([r, g, b]).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        cx, cy, rad = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(h // 20, h // 5))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), fill=colour)
        else:
            draw.rectangle((cx - rad, cy - rad // 2, cx + rad, cy + rad // 2), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def encode(img: Image.Image, fmt: str, **kw) -> io.BytesIO:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    buf.seek(0)
    return buf


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return photo_like()


@pytest.fixture(scope="module")
def original_hash(picture) -> str:
    h = hash_image(encode(picture, "PNG"), fast=False)
    assert h.status == "ok" and h.mode == "RGB"
    return h.pdq


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_cmyk_jpeg_hashes_like_the_rgb_picture(picture, original_hash, pipeline):
    data = encode(picture.convert("CMYK"), "JPEG", quality=95)
    reopened = Image.open(data)
    assert reopened.mode == "CMYK"
    assert "adobe" in reopened.info  # Pillow writes Adobe APP14 (inverted CMYK) and un-inverts it
    data.seek(0)
    h = hash_image(data, fast=PIPELINES[pipeline])
    assert h.mode == "CMYK"
    assert hamming(h.pdq, original_hash) <= FEW_BITS
    # What a naive reader hashes (C, M, Y taken as R, G, B) is far away.
    naive, _ = pdq_from_luma(luma_from_rgb(np.asarray(reopened)[..., :3]))
    assert hamming(naive, original_hash) > 64


def test_cmyk_tiff_hashes_like_the_rgb_picture(picture, original_hash):
    h = hash_image(encode(picture.convert("CMYK"), "TIFF"))
    assert h.mode == "CMYK" and hamming(h.pdq, original_hash) <= FEW_BITS


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_palette_png_hashes_like_the_rgb_picture(picture, original_hash, pipeline):
    pal = picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    h = hash_image(encode(pal, "PNG"), fast=PIPELINES[pipeline])
    assert h.mode == "P"
    assert hamming(h.pdq, original_hash) <= FEW_BITS
    naive, _ = pdq_from_luma(np.asarray(pal).astype(np.float32))  # palette indices as grey
    assert hamming(naive, original_hash) > hamming(h.pdq, original_hash) + 16


def test_palette_with_transparent_index_is_composited_onto_white(picture):
    pal = picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=255)
    pal.putpalette(pal.getpalette()[: 255 * 3] + [0, 0, 0])  # index 255: black, made transparent
    box = (40, 40, 300, 200)
    ImageDraw.Draw(pal).rectangle(box, fill=255)
    h = hash_image(encode(pal, "PNG", transparency=255))
    assert h.mode == "P" and h.pdq_alpha_ignored is not None
    on_white = pal.convert("RGB")
    ImageDraw.Draw(on_white).rectangle(box, fill=(255, 255, 255))
    assert hamming(h.pdq, hash_image(encode(on_white, "PNG")).pdq) <= 2


def test_one_bit_image_hashes_like_its_grey_picture(picture):
    grey = picture.convert("L")
    grey_hash = hash_image(encode(grey, "PNG")).pdq
    h = hash_image(encode(grey.convert("1"), "PNG"))  # Floyd-Steinberg dithered
    assert h.mode == "1"
    assert hamming(h.pdq, grey_hash) <= 24  # dithering noise; far below the 31-bit match threshold


def test_one_bit_image_without_dithering_equals_black_and_white(picture):
    bw = picture.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    expected, _ = pdq_from_luma(np.where(np.asarray(picture.convert("L")) >= 128, 255.0, 0.0))
    assert hash_image(encode(bw, "PNG")).pdq == expected


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_grey_scaled_to_eight_bits(picture, original_hash, fmt):
    grey8 = np.asarray(picture.convert("L")).astype(np.uint16)
    grey16 = Image.fromarray(grey8 * 257)  # full 16-bit range
    assert grey16.mode.startswith("I;16")
    h = hash_image(encode(grey16, fmt))
    assert h.mode.startswith("I")
    assert h.pdq == hash_image(encode(picture.convert("L"), "PNG")).pdq
    assert hamming(h.pdq, original_hash) <= FEW_BITS


def test_sixteen_bit_big_endian_grey(picture):
    grey8 = np.asarray(picture.convert("L")).astype(np.uint16) * 257
    im = Image.frombytes("I;16B", grey8.shape[::-1], grey8.astype(">u2").tobytes())
    h = hash_image(encode(im, "TIFF"))
    assert h.pdq == hash_image(encode(picture.convert("L"), "PNG")).pdq


def test_float_and_int32_grey(picture):
    grey = np.asarray(picture.convert("L")).astype(np.float32)
    reference = hash_image(encode(picture.convert("L"), "PNG")).pdq
    as_float = Image.fromarray(grey / 255.0, mode="F")
    assert hamming(hash_image(encode(as_float, "TIFF")).pdq, reference) <= 2
    as_int = Image.fromarray(grey.astype(np.int32) * 257, mode="I")
    assert hamming(hash_image(encode(as_int, "TIFF")).pdq, reference) <= 2


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_rgba_with_opaque_alpha_and_la_hash_like_the_picture(picture, original_hash, pipeline):
    fast = PIPELINES[pipeline]
    rgba = hash_image(encode(picture.convert("RGBA"), "PNG"), fast=fast)
    assert rgba.mode == "RGBA" and rgba.pdq == hash_image(encode(picture, "PNG"), fast=fast).pdq
    assert rgba.pdq_alpha_ignored is None  # fully opaque: nothing to composite
    la = hash_image(encode(picture.convert("LA"), "PNG"), fast=fast)
    assert la.mode == "LA"
    assert hamming(la.pdq, original_hash) <= FEW_BITS


def test_transparency_is_composited_onto_white(picture):
    rgba = picture.convert("RGBA")
    alpha = Image.new("L", rgba.size, 255)
    ImageDraw.Draw(alpha).rectangle((0, 0, rgba.width // 2, rgba.height), fill=0)  # left half transparent
    rgba.putalpha(alpha)
    h = hash_image(encode(rgba, "PNG"))
    on_white = Image.new("RGB", rgba.size, (255, 255, 255))
    on_white.paste(rgba, mask=alpha)
    assert hamming(h.pdq, hash_image(encode(on_white, "PNG")).pdq) <= 2
    # The colour channels alone (what alpha-dropping tools hash) are reported too.
    assert h.pdq_alpha_ignored == hash_image(encode(picture, "PNG")).pdq
    assert hamming(h.pdq, h.pdq_alpha_ignored) > 16


# EXIF orientation -> the transform a viewer applies to the stored pixels to show them upright.
VIEWER_TRANSFORM = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
INVERSE = {
    Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
}


def stored_with_orientation(upright: Image.Image, orientation: int, fmt: str) -> io.BytesIO:
    t = VIEWER_TRANSFORM[orientation]
    stored = upright if t is None else upright.transpose(INVERSE.get(t, t))
    exif = Image.Exif()
    exif[0x0112] = orientation
    kw = {"quality": 92} if fmt == "JPEG" else {}
    return encode(stored, fmt, exif=exif.tobytes(), **kw)


@pytest.fixture(scope="module")
def large_upright() -> Image.Image:
    # Large enough that the fast pipeline decodes at reduced DCT scale (orientation is then
    # applied to the block-aware filter matrices, not to pixels).
    return photo_like((1600, 1200), seed=11)


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_hashes_like_the_upright_picture(large_upright, orientation, pipeline):
    fast = PIPELINES[pipeline]
    upright = hash_image(encode(large_upright, "JPEG", quality=92), fast=fast)
    data = stored_with_orientation(large_upright, orientation, "JPEG")
    # Sanity: the file really is stored rotated/flipped and Pillow's viewer transform fixes it.
    shown = ImageOps.exif_transpose(Image.open(data))
    assert shown.size == large_upright.size
    data.seek(0)
    h = hash_image(data, fast=fast)
    assert (h.width, h.height) == large_upright.size
    assert hamming(h.pdq, upright.pdq) <= 8, orientation
    if orientation in (2, 4, 5, 6, 7, 8):
        data.seek(0)
        stored = Image.open(data)
        stored.load()
        plain = hash_image(encode(stored.convert("RGB"), "PNG"))  # no EXIF: stored pixels as is
        assert hamming(plain.pdq, upright.pdq) > 64  # the orientation made the difference


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_in_png_and_webp(picture, original_hash, orientation):
    for fmt in ("PNG", "WEBP"):
        kw = {"lossless": True} if fmt == "WEBP" else {}
        t = VIEWER_TRANSFORM[orientation]
        stored = picture.transpose(INVERSE.get(t, t))
        exif = Image.Exif()
        exif[0x0112] = orientation
        h = hash_image(encode(stored, fmt, exif=exif.tobytes(), **kw))
        assert hamming(h.pdq, original_hash) <= FEW_BITS, fmt
