"""Every accepted image format hashes (JPEG, PNG, GIF incl. all animation frames, WebP incl.
animation, BMP, TIFF, HEIC) and files are identified by content, not by extension."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from balise.detection.adapters.media_hash import hash_file, hash_image
from balise.detection.adapters.pdq import hamming

LOSSY_BITS = 12


def picture(seed: int = 3, size=(480, 360)) -> Image.Image:
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.dstack([
        128 + 100 * np.sin(x / w * 4 + seed) * np.cos(y / h * 3),
        128 + 90 * np.cos(x / w * 2 - y / h * 5 + seed),
        128 + 80 * np.sin((x - y) / (w + h) * 9),
    ])
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(8):
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(15, 80))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return img


@pytest.fixture(scope="module")
def pic() -> Image.Image:
    return picture()


@pytest.fixture(scope="module")
def reference(pic) -> str:
    buf = io.BytesIO()
    pic.save(buf, "PNG")
    buf.seek(0)
    return hash_image(buf, fast=False).pdq


def save(img: Image.Image, path: Path, fmt: str, **kw) -> Path:
    img.save(path, fmt, **kw)
    return path


@pytest.mark.parametrize(
    "fmt, ext, kw, bits",
    [
        ("JPEG", "jpg", {"quality": 90}, LOSSY_BITS),
        ("PNG", "png", {}, 0),
        ("WEBP", "webp", {"quality": 90}, LOSSY_BITS),
        ("WEBP", "webp", {"lossless": True}, 0),
        ("BMP", "bmp", {}, 0),
        ("TIFF", "tif", {}, 0),
        ("TIFF", "tiff", {"compression": "tiff_lzw"}, 0),
        ("GIF", "gif", {}, 16),  # 256-colour quantisation
    ],
)
def test_still_formats_hash_like_the_picture(pic, reference, tmp_path, fmt, ext, kw, bits):
    path = save(pic, tmp_path / f"pic.{ext}", fmt, **kw)
    h = hash_image(path)
    assert h.format == fmt and h.status == "ok" and (h.width, h.height) == pic.size
    assert hamming(h.pdq, reference) <= bits
    record = hash_file(path)
    assert record["status"] == "ok" and record["media_type"] == "image" and record["pdq"] == h.pdq


def test_heic_hashes_like_the_picture(pic, reference, tmp_path):
    import pillow_heif  # a hard dependency of Balise: missing it must fail, not skip
    path = tmp_path / "pic.heic"
    pillow_heif.from_pillow(pic).save(path, quality=90)
    h = hash_image(path)
    assert h.format == "HEIF" and h.status == "ok"
    assert hamming(h.pdq, reference) <= LOSSY_BITS
    record = hash_file(path)
    assert record["media_type"] == "image" and record["mime"] == "image/heif" and record["pdq"] == h.pdq


def frames_for_animation() -> list[Image.Image]:
    return [picture(seed) for seed in (3, 21, 42)]


@pytest.mark.parametrize("fmt, ext, kw", [("GIF", "gif", {}), ("WEBP", "webp", {"lossless": True})])
def test_animated_images_hash_the_first_frame_and_every_frame(tmp_path, fmt, ext, kw):
    frames = frames_for_animation()
    path = tmp_path / f"anim.{ext}"
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **kw)
    h = hash_image(path)
    assert h.frames is not None and len(h.frames) == 3
    assert [f.frame_number for f in h.frames] == [0, 1, 2]
    assert [f.timestamp for f in h.frames] == [0.0, 0.1, 0.2]
    assert h.frames[0].pdq == h.pdq
    for frame, src in zip(h.frames, frames):
        buf = io.BytesIO()
        src.save(buf, "PNG")
        buf.seek(0)
        assert hamming(frame.pdq, hash_image(buf).pdq) <= 16  # GIF: palette quantisation
    # The three pictures are different: their hashes are far apart.
    assert hamming(h.frames[0].pdq, h.frames[1].pdq) > 64
    record = hash_file(path)
    assert len(record["frames"]) == 3 and record["pdq"] == h.pdq


@pytest.mark.parametrize("fmt, real_ext, fake_ext", [("PNG", "png", "jpg"), ("JPEG", "jpg", "png"), ("WEBP", "webp", "gif")])
def test_wrong_extension_is_identified_by_content(pic, tmp_path, fmt, real_ext, fake_ext):
    real = save(pic, tmp_path / f"real.{real_ext}", fmt)
    fake = tmp_path / f"disguised.{fake_ext}"
    fake.write_bytes(real.read_bytes())
    h = hash_image(fake)
    assert h.format == fmt
    assert h.pdq == hash_image(real).pdq
    record = hash_file(fake)
    assert record["status"] == "ok"
    assert record["mime"] == Image.MIME[fmt]
    assert record["md5"] == hash_file(real)["md5"]


def test_image_with_no_extension_and_from_a_stream(pic, tmp_path):
    path = save(pic, tmp_path / "noext", "PNG")
    assert hash_image(path).format == "PNG"
    with path.open("rb") as f:
        assert hash_image(f).pdq == hash_image(path).pdq


def test_dihedral_hashes_of_a_rotated_file_contain_the_original(pic, tmp_path):
    upright = save(pic, tmp_path / "up.png", "PNG")
    rotated = save(pic.transpose(Image.Transpose.ROTATE_90), tmp_path / "rot.png", "PNG")
    h_up = hash_image(upright, dihedral=True)
    h_rot = hash_image(rotated)
    assert hamming(h_rot.pdq, h_up.pdq) > 64
    assert min(hamming(h_rot.pdq, d.pdq) for d in h_up.dihedral) <= 8
    record = hash_file(upright, dihedral=True)
    assert len(record["dihedral"]) == 8 and record["dihedral"][0]["pdq"] == record["pdq"]
