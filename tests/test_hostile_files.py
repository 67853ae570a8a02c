"""Hostile and broken files never crash or hang the hasher: each gives a per-file result with
status "error" and a precise reason. Hashing runs in the isolated child process (timeout and
address-space limit), as the batch hasher does; assertions are on the results, never on time."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from balise.detection.adapters.media_hash import (
    MediaError,
    hash_file,
    hash_file_isolated,
    hash_image,
)
from tests.vectors import vectors_dir

TIMEOUT_S = 120.0  # generous: a bound, not a measurement


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height 8-bit grey pixels (a few hundred bytes:
    one compressed row stands in for the whole would-be image)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * min(width + 1, 1 << 16), 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_bytes(size=(800, 600), quality=90) -> bytes:
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    arr = np.dstack([(x * 255 // size[0]), (y * 255 // size[1]), ((x + y) % 256)]).astype(np.float32)
    arr += rng.normal(0, 6, arr.shape)
    buf = io.BytesIO()
    Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def isolated(path: Path, **kw) -> dict:
    result = hash_file_isolated(path, timeout_s=TIMEOUT_S, **kw)
    assert result["path"] == str(path)
    return result


def assert_error(result: dict, *words: str) -> None:
    assert result["status"] == "error", result
    reason = result["error"].lower()
    for word in words:
        assert word in reason, (word, result["error"])


def test_decompression_bomb_png_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(100_000, 100_000))
    assert path.stat().st_size < 2000
    result = isolated(path)
    assert_error(result, "decompression bomb")
    assert result["sha256"] and result["size"] == path.stat().st_size  # still identified exactly


def test_image_over_the_configured_pixel_limit_is_refused(tmp_path):
    # 12000 x 9000 = 108 MP: under Pillow's own hard limit, over Balise's default 100 MP.
    path = tmp_path / "big.png"
    path.write_bytes(png_declaring(12_000, 9_000))
    assert_error(isolated(path), "decompression bomb", "100000000")
    # The limit is configurable, and checked before any pixel is decoded.
    small = tmp_path / "small-limit.png"
    small.write_bytes(png_declaring(2000, 2000))
    assert_error(hash_file(small, max_pixels=1_000_000), "decompression bomb", "2000x2000")


def test_a_truncated_jpeg_is_hashed_as_far_as_it_decodes_and_one_cut_in_its_header_is_an_error(tmp_path):
    data = jpeg_bytes()
    half = tmp_path / "half.jpg"
    half.write_bytes(data[: len(data) // 2])
    result = isolated(half)
    assert result["status"] != "error" and len(result["pdq"]) == 64, result
    assert any("truncated" in note for note in result["notes"])
    header_only = tmp_path / "header-only.jpg"
    header_only.write_bytes(data[:200])
    assert_error(isolated(header_only))


def test_truncated_large_jpeg_in_the_reduced_decoding_path(tmp_path):
    data = jpeg_bytes((2400, 1800))
    path = tmp_path / "big-third.jpg"
    path.write_bytes(data[: len(data) // 3])
    result = isolated(path)
    assert result["status"] != "error" and result["width"] == 2400, result
    assert any("truncated" in note for note in result["notes"])


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    result = isolated(path)
    assert_error(result, "empty file")
    assert result["size"] == 0


def test_polyglot_jpeg_followed_by_zip_is_hashed_and_flagged(tmp_path):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hidden.txt", "benign payload")
    path = tmp_path / "polyglot.jpg"
    path.write_bytes(jpeg_bytes() + archive.getvalue())
    assert zipfile.is_zipfile(path)
    result = isolated(path)
    assert result["status"] == "ok" and len(result["pdq"]) == 64  # the picture is hashed for matching
    assert result["polyglot"] == ["Zip archive data"]
    assert any("polyglot" in note for note in result["notes"])


def test_polyglot_png_followed_by_zip_is_hashed_and_flagged(tmp_path):
    img = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(img, "PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "x")
    path = tmp_path / "poly.png"
    path.write_bytes(img.getvalue() + archive.getvalue())
    result = isolated(path)
    assert result["status"] != "error" and result["polyglot"] == ["Zip archive data"]


def test_text_with_jpg_extension(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 10)
    result = isolated(path)
    assert_error(result, "not an image or video")
    assert result["media_type"] == "other"
    with pytest.raises(MediaError, match="not a supported image"):
        hash_image(path)


def test_garbage_after_a_valid_signature(tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    result = isolated(path)
    assert_error(result)
    assert result["media_type"] == "image"


def patch_u32_after(data: bytearray, box: bytes, offset: int, value: int) -> int:
    """Set the big-endian u32 at ``offset`` bytes after every version-0 ``box`` type tag."""
    count, k = 0, 0
    while (k := data.find(box, k)) >= 0:
        if data[k + 4] == 0:
            data[k + offset : k + offset + 4] = struct.pack(">I", value)
            count += 1
        k += 4
    return count


def test_video_with_absurd_declared_duration(tmp_path):
    data = bytearray((vectors_dir() / "tmk/sample-videos/doorknob-hd-no-bar.mp4").read_bytes())
    # Durations in the movie, track and media headers, the edit list and the sample table:
    # every sample now lasts 2**24 ticks of 1/15360 s, ~36 hours in all.
    assert patch_u32_after(data, b"mvhd", 20, 0x7FFFFFF0) == 1
    assert patch_u32_after(data, b"tkhd", 24, 0x7FFFFFF0) >= 1
    assert patch_u32_after(data, b"mdhd", 20, 0x7FFFFFF0) >= 1
    elst = data.find(b"elst")
    if elst > 0:
        for e in range(struct.unpack(">I", data[elst + 8 : elst + 12])[0]):
            data[elst + 12 + 12 * e : elst + 16 + 12 * e] = struct.pack(">I", 0x7FFFFFF0)
    stts = data.find(b"stts")
    for e in range(struct.unpack(">I", data[stts + 8 : stts + 12])[0]):
        o = stts + 12 + 8 * e
        data[o + 4 : o + 8] = struct.pack(">I", 1 << 24)
    path = tmp_path / "endless.mp4"
    path.write_bytes(bytes(data))
    result = isolated(path)
    assert result["media_type"] == "video"
    assert_error(result, "duration")


def mjpeg_avi(tmp_path: Path) -> bytearray:
    import av

    path = tmp_path / "small.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for k in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * k, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return bytearray(path.read_bytes())


@pytest.mark.parametrize("dims", [(16_000, 16_000), (60_000, 60_000)])
def test_video_with_absurd_declared_dimensions(tmp_path, dims):
    data = mjpeg_avi(tmp_path)
    w, h = dims
    strf = data.find(b"strf")
    data[strf + 12 : strf + 20] = struct.pack("<ii", w, h)  # BITMAPINFOHEADER width/height
    avih = data.find(b"avih")
    data[avih + 40 : avih + 48] = struct.pack("<II", w, h)
    k = 0
    while (k := data.find(b"\xff\xc0", k)) >= 0:  # every JPEG frame's SOF0 too
        data[k + 5 : k + 9] = struct.pack(">HH", h, w)
        k += 2
    path = tmp_path / "huge.avi"
    path.write_bytes(bytes(data))
    result = isolated(path)
    assert result["media_type"] == "video"
    assert_error(result)
    assert "dimensions" in result["error"] or "pixels" in result["error"]


def test_truncated_video_gives_an_error(tmp_path):
    data = (vectors_dir() / "tmk/sample-videos/pattern-sd-grey-bar.mp4").read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    result = isolated(path)
    assert result["media_type"] == "video"
    assert result["status"] in ("error", "ok", "low_quality")
    if result["status"] != "error":  # index first: the frames present are hashed, the gap noted
        assert result["frame_count"] < 206
        assert any("truncated" in n for n in result["notes"])
    else:
        assert result["error"]


def test_isolated_runner_turns_a_timeout_into_an_error_result():
    path = vectors_dir() / "tmk/sample-videos/chair-22-sd-grey-bar.mp4"  # 420 frames
    result = hash_file_isolated(path, timeout_s=0.05)
    assert_error(result, "timeout")
    assert result["md5"] and result["sha256"]


def test_isolated_runner_turns_out_of_memory_into_an_error_result(tmp_path):
    # A legitimate 40 MP image whose decoding needs far more than a 300 MB address space
    # leaves (the interpreter and libraries already use most of it).
    path = tmp_path / "large.png"
    Image.new("RGB", (8000, 5000), (120, 80, 40)).save(path, "PNG", compress_level=1)
    result = hash_file_isolated(path, timeout_s=TIMEOUT_S, memory_bytes=300 * 1024 * 1024)
    assert_error(result)
    assert "memory" in result["error"] or "worker" in result["error"]
    ok = hash_file_isolated(path, timeout_s=TIMEOUT_S)  # the default limit is enough
    assert ok["status"] != "error", ok


def test_isolated_result_equals_in_process_result():
    path = vectors_dir() / "pdq/data/bridge-mods/aaa-orig.jpg"
    assert hash_file_isolated(path, timeout_s=TIMEOUT_S) == hash_file(path)
