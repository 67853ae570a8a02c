"""vPDQ: every frame of the sample videos hashed, matching the published per-frame hashes
(vpdq/sample-hashes/<video>.txt: frame_number,quality,pdq_hex64,timestamp_seconds).

Rule (vectors README): hash every frame; each frame with quality >= 50 is within 31 bits of the
expected frame hash. Frame numbers must be identical and timestamps within 0.01 s (the expected
files round to milliseconds). Checked for the default pipeline (Y plane expanded from limited
to full range), for RGB24 conversion (the reference's route) and for the -128x128 variants
(frames resized to 128x128 before hashing).
"""

from __future__ import annotations

import pytest

from balise.detection.adapters.media_hash import hash_file, hash_video
from balise.detection.adapters.pdq import hamming
from tests.vectors import vectors_dir

MATCH_BITS = 31
QUALITY_MIN = 50
TIMESTAMP_TOLERANCE_S = 0.01


V = vectors_dir()
VIDEOS = sorted(p.stem for p in (V / "tmk/sample-videos").glob("*.mp4"))
WITH_HASHES = [v for v in VIDEOS if (V / "vpdq/sample-hashes" / f"{v}.txt").is_file()]
WITH_128 = [v for v in VIDEOS if (V / "vpdq/sample-hashes" / f"{v}-128x128.txt").is_file()]


def expected(name: str) -> list[tuple[int, int, str, float]]:
    rows = []
    for line in (V / "vpdq/sample-hashes" / f"{name}.txt").read_text().splitlines():
        if line.strip():
            n, q, h, t = line.strip().split(",")
            rows.append((int(n), int(q), h, float(t)))
    return rows


def test_the_sample_set_is_complete():
    assert len(VIDEOS) == 14
    assert len(WITH_HASHES) == 14 and len(WITH_128) == 13  # test-padded-dimensions has no 128x128


def check(frames, rows) -> None:
    assert len(frames) == len(rows), (len(frames), len(rows))
    compared = 0
    for frame, (number, quality, pdq, ts) in zip(frames, rows):
        assert frame.frame_number == number
        assert abs(frame.timestamp - ts) <= TIMESTAMP_TOLERANCE_S, (number, frame.timestamp, ts)
        if quality >= QUALITY_MIN:
            compared += 1
            assert hamming(frame.pdq, pdq) <= MATCH_BITS, (number, hamming(frame.pdq, pdq))
    assert compared > 0


@pytest.mark.parametrize("video", WITH_HASHES)
def test_every_frame_matches_the_reference_vpdq(video):
    check(hash_video(V / "tmk/sample-videos" / f"{video}.mp4"), expected(video))


@pytest.mark.parametrize("video", ["chair-19-sd-bar", "doorknob-hd-no-bar", "pattern-hd-no-bar", "test-padded-dimensions"])
def test_rgb24_conversion_route_matches_too(video):
    check(hash_video(V / "tmk/sample-videos" / f"{video}.mp4", use_luma_plane=False), expected(video))


@pytest.mark.parametrize("video", WITH_128)
def test_128x128_variant_matches_the_reference(video):
    frames = hash_video(V / "tmk/sample-videos" / f"{video}.mp4", downscale=(128, 128))
    check(frames, expected(f"{video}-128x128"))


def test_hash_file_reports_vpdq_frames_json_ready():
    record = hash_file(V / "tmk/sample-videos/doorknob-hd-no-bar.mp4")
    assert record["media_type"] == "video" and record["status"] == "ok"
    assert record["frame_count"] == len(record["vpdq"]) == 120
    first = record["vpdq"][0]
    assert set(first) == {"frame_number", "timestamp", "pdq", "quality"}
    assert first["frame_number"] == 0 and first["timestamp"] == 0.0 and len(first["pdq"]) == 64
