"""A video with a sound track is shown by default as a contact sheet of blurred keyframes: a
PNG made from pixels only, which carries no sound (nor any stream of the stored file); the
revealed video plays muted (the page's video element: tests/test_queue_and_report_pages_in_
chromium_show_words_and_no_stored_bytes.py)."""

from __future__ import annotations

import io

import av
import numpy as np
from PIL import Image

from tests.exposure_support import analyst, claim, file_report, workbench


def video_with_sound() -> bytes:
    """Two seconds of benign grey frames with a sine tone (AAC), as an MP4."""
    out = io.BytesIO()
    container = av.open(out, mode="w", format="mp4")
    video = container.add_stream("mpeg4", rate=10)
    video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
    audio = container.add_stream("aac", rate=8000)
    for i in range(20):
        frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 40 + i * 8, np.uint8), format="rgb24")
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    tone = av.AudioFrame.from_ndarray((np.sin(np.arange(16000) / 5) * 0.3).astype(np.float32).reshape(1, -1),
                                      format="fltp", layout="mono")
    tone.sample_rate = 8000
    for packet in [*audio.encode(tone), *audio.encode()]:
        container.mux(packet)
    container.close()
    return out.getvalue()


def test_the_contact_sheet_of_a_video_with_sound_is_a_silent_png(tmp_path, db_url):
    data = video_with_sound()
    with av.open(io.BytesIO(data)) as stored:
        assert len(stored.streams.audio) == 1  # the stored file does have sound
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item,) = file_report(balise, key, [("clip.mp4", data, "video/mp4")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            sheet = ana.get(f"/ui/items/{item}/media")
            assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/png"
            picture = Image.open(io.BytesIO(sheet.content))
            assert picture.format == "PNG" and picture.size[0] > 0
            assert set(picture.info) <= {"dpi"}  # no text, no metadata chunk
            # Nothing a media player would play: not a container with any stream, let alone sound.
            try:
                with av.open(io.BytesIO(sheet.content)) as opened:
                    assert not opened.streams.audio
            except av.error.FFmpegError:
                pass
            assert data[-4096:] not in sheet.content
