"""Where the picture or video inside a file starts and ends, and what else the file is.

This is the one decision every way in shares — the provider API, ``/ispws``, what a reported
URL serves (the public form's reports), ``/api/v1/hash`` and ``balise scan`` — so that a file is
matched the same wherever it arrives. Known material must not escape matching because a few
bytes were added around it: decoders ignore such bytes, so the picture is still there for
whoever opens the file.

* :func:`locate` (cheap, no decoding, no libmagic: intake calls it in the request) finds the
  picture or video: at byte 0 by its signature, or else where a decoder that skips leading bytes
  would find it — a JPEG after any bytes (FFmpeg-based viewers decode a ``.jpg`` from its first
  SOI marker), a QuickTime/MP4 file whose first box is not ``ftyp`` (FFmpeg and QuickTime skip
  ``free``/``skip``/``wide`` boxes and accept ``moov``/``mdat`` first). PNG, GIF, WebP, BMP and
  TIFF decoders accept nothing before their signature, so they are not searched for.
* :func:`describe` (in the hashing child and the scan worker) adds where the picture ends, the
  bytes before and after it, whether a JPEG is cut short, and whether the file is also another
  format (a polyglot: a ZIP, a PDF, an HTML page... that another program would open). The bytes
  outside the picture are ignored for hashing and recorded as notes; a polyglot is flagged for
  the analyst. What those bytes are is named by libmagic (the ``file`` command's database).
"""

from __future__ import annotations

import io
import mmap
import re
import zipfile
from dataclasses import dataclass, field
from typing import Union

from balise.detection.adapters.hashing import sniff_media_type

# The whole file: in memory, or mapped read-only (both index to ints, slice to bytes, find).
Data = Union[bytes, bytearray, mmap.mmap]

# A JPEG starts with SOI followed by a marker; checking the marker segments up to the first
# scan (each a length the next one must follow) rules out chance byte patterns.
_SOI = b"\xff\xd8\xff"
_EOI = b"\xff\xd9"
# The marker that ends entropy-coded data: an FF followed by anything but 00, D0-D7 or FF.
_ENTROPY_END = re.compile(rb"\xff(?=[\x01-\xcf\xd8-\xfe])")
# Bounds the work spent on chance SOI patterns in large non-media files, and how far into a file
# a JPEG is looked for (more than the largest upload; a scan of a 3 GB disk image must not read
# it all for this).
MAX_JPEG_CANDIDATES = 64
JPEG_SEARCH_BYTES = 64 * 1024 * 1024
MAX_MARKERS = 512
# Top-level QuickTime/ISO-BMFF boxes FFmpeg's probe accepts first (libavformat/mov.c).
_LEADING_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"junk", b"pnot", b"uuid", b"pict"}
_MOVIE_BOXES = {b"moov", b"mdat", b"moof"}
# libmagic gets at most this much of a leading or trailing part to name it.
LABEL_BYTES = 64 * 1024
# libmagic MIME types that say "no particular format": such bytes are noted, not a polyglot.
_GENERIC = {"application/octet-stream", "text/plain", "application/x-empty", "inode/x-empty"}
# Five common signatures are short enough to be forged in front of a JPEG; they are believed
# only when the structure that follows them holds.
_DIB_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


@dataclass(frozen=True)
class Located:
    media_type: str  # "image" | "video" | "other"
    mime: str | None
    start: int = 0


@dataclass
class Layout:
    """What :func:`describe` found; offsets are in bytes from the start of the file."""

    media_type: str
    mime: str | None
    start: int
    end: int | None  # just past the picture's last byte when its format says where it ends
    size: int
    truncated: bool = False
    # For a cut JPEG: the bytes that decode, up to the last complete segment.
    usable_end: int | None = None
    also: list[str] = field(default_factory=list)  # other formats the file validly is
    notes: list[str] = field(default_factory=list)

    @property
    def polyglot(self) -> bool:
        return bool(self.also)

    @property
    def whole(self) -> bool:
        """True when the file is the media and nothing else: decode it as it is."""
        return self.start == 0 and not self.truncated and (self.end is None or self.end == self.size)

    def media_bytes(self, data: Data) -> bytes:
        """The picture or video alone, as its decoder should see it (a cut JPEG ends with EOI)."""
        if self.truncated and self.usable_end is not None:
            return bytes(data[self.start:self.usable_end]) + _EOI
        return bytes(data[self.start:self.end if self.end is not None else self.size])


def locate(data: Data) -> Located:
    """The picture or video in ``data`` (the whole file) and where it starts."""
    media_type, mime = sniff_media_type(bytes(data[:64]))
    if media_type != "other" and _signature_holds(data, mime):
        return Located(media_type, mime, 0)
    if _quicktime_boxes(data) is not None:
        return Located("video", "video/quicktime", 0)
    start = _find_jpeg(data)
    if start is not None:
        return Located("image", "image/jpeg", start)
    if media_type != "other":
        # Nothing better found: let the decoder say what is wrong with it.
        return Located(media_type, mime, 0)
    return Located("other", None)


def _signature_holds(data: Data, mime: str | None) -> bool:
    if mime == "image/jpeg":
        return _jpeg_header_ok(data, 0) or _find_jpeg(data) is None
    if mime == "image/bmp":
        return len(data) >= 18 and int.from_bytes(data[14:18], "little") in _DIB_HEADER_SIZES
    if mime == "image/png":
        return bytes(data[12:16]) == b"IHDR"
    return True


def describe(data: Data, located: Located | None = None) -> Layout:
    """Where the media found by :func:`locate` ends and what the rest of the file is."""
    found = located or locate(data)
    size = len(data)
    layout = Layout(found.media_type, found.mime, found.start, None, size)
    if found.media_type == "other":
        return layout
    start = found.start
    if found.mime == "image/jpeg":
        end, usable = _jpeg_extent(data, start)
        layout.end = end
        if end is None:
            layout.truncated = True
            layout.usable_end = usable
            layout.notes.append(f"truncated: the JPEG ends without its end marker after {size - start} bytes; "
                                "the part that decodes was hashed")
    elif found.mime == "image/png":
        layout.end = _png_end(data, start)
    elif found.mime == "image/webp":
        layout.end = _riff_end(data, start)
    elif found.mime in ("video/mp4", "video/quicktime", "image/heif"):
        layout.end = _quicktime_boxes(data, require_movie=False)
    what = "picture" if found.media_type == "image" else "video"
    if start > 0:
        label, mime = _label(data[:start])
        layout.notes.append(f"the {what} starts after {start} bytes of {label}, which were ignored")
        # A JPEG cut inside its headers can still hold a whole one (its EXIF thumbnail): that
        # is the picture, smaller, not a second format.
        if mime not in _GENERIC and not (found.mime == "image/jpeg" and mime == "image/jpeg"):
            layout.also.append(label)
    if layout.end is not None and layout.end < size:
        label, mime = _label(data[layout.end:layout.end + LABEL_BYTES])
        note = f"{size - layout.end} bytes of {label} follow the {what}'s end at byte {layout.end} and were ignored"
        if found.mime == "image/jpeg" and mime == "image/jpeg":
            # Cameras and phones append pictures to their JPEGs (MPO, depth and gain maps): common
            # enough not to alarm anyone, though the further pictures are not hashed.
            note += " (a multi-picture JPEG: only its first picture was hashed)"
        elif mime not in _GENERIC:
            layout.also.append(label)
        layout.notes.append(note)
    if "Zip archive data" not in layout.also and _is_zip(data):
        layout.also.append("Zip archive data")
    if layout.also:
        layout.notes.append("polyglot: the file is also " + ", ".join(layout.also))
    return layout


# -- naming bytes -----------------------------------------------------------------------------


def _label(part: bytes) -> tuple[str, str]:
    """(what these bytes are, their MIME type by libmagic): a MIME type outside ``_GENERIC``
    means a format of its own rather than filler."""
    head = part[:LABEL_BYTES]
    if not head.strip(b"\x00"):
        return "NUL bytes", "application/octet-stream"
    if not head.strip(b"\x00 \t\r\n"):
        return "white space", "text/plain"
    import magic  # libmagic; imported here so that intake, which only locates, does not load it

    try:
        description = magic.from_buffer(head)
        mime = magic.from_buffer(head, mime=True)
    except Exception:  # noqa: BLE001 - libmagic failing to name bytes must not stop hashing
        return "unrecognised data", "application/octet-stream"
    return description.split(",")[0].strip() or "data", mime


def _is_zip(view: Data) -> bool:
    """Whether a ZIP reader opens the file: ZIP is read from its end, so it can sit after a
    picture and still open in every archive tool."""
    if b"PK\x05\x06" not in bytes(view[-(65536 + 22):]):
        return False
    # An mmap is a file object of its own; bytes are wrapped without a copy.
    source = view if isinstance(view, mmap.mmap) else io.BytesIO(view)
    try:
        with zipfile.ZipFile(source) as archive:
            return bool(archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    finally:
        if isinstance(view, mmap.mmap):
            view.seek(0)


# -- JPEG ---------------------------------------------------------------------------------------


def _find_jpeg(view: Data) -> int | None:
    position = 0
    limit = min(len(view), JPEG_SEARCH_BYTES)
    for _ in range(MAX_JPEG_CANDIDATES):
        position = view.find(_SOI, position + 1, limit)
        if position < 0:
            return None
        if _jpeg_header_ok(view, position):
            return position
    return None


def _jpeg_header_ok(view: Data, start: int) -> bool:
    """Marker segments from SOI chain up to a scan, with a frame header (SOFn) before it."""
    i, n, frame = start + 2, len(view), False
    for _ in range(MAX_MARKERS):
        while i < n and view[i] == 0xFF and i + 1 < n and view[i + 1] == 0xFF:
            i += 1  # fill bytes
        if i + 4 > n or view[i] != 0xFF:
            return False
        marker = view[i + 1]
        if marker == 0xDA:
            return frame
        if marker in (0x00, 0x01, 0xD8, 0xD9) or 0xD0 <= marker <= 0xD7:
            return False
        length = int.from_bytes(view[i + 2:i + 4], "big")
        if length < 2:
            return False
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = True
        i += 2 + length
    return False


def _jpeg_extent(view: Data, start: int) -> tuple[int | None, int]:
    """(offset just past EOI or None when the file ends first, offset up to which the data is
    complete enough to decode: the whole entropy-coded data read so far, never a cut header)."""
    i, n = start + 2, len(view)
    usable = start + 2
    while True:
        if i + 2 > n:
            return None, usable
        if view[i] != 0xFF:
            return None, usable  # not a marker where one must be: treat what precedes as the picture
        marker = view[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD9:
            return i + 2, i + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        if i + 4 > n:
            return None, usable
        length = int.from_bytes(view[i + 2:i + 4], "big")
        if i + 2 + length > n:
            return None, usable  # the file ends inside this segment's header: drop it
        i += 2 + length
        usable = i
        if marker == 0xDA:
            # Entropy-coded data runs to the next marker that is neither stuffing (FF 00), a
            # restart (FF D0-D7) nor fill (FF FF): found in C, not byte by byte.
            found = _ENTROPY_END.search(view, i)
            if found is None:
                return None, n
            i = found.start()
            usable = i


# -- PNG, WebP ----------------------------------------------------------------------------------


def _png_end(view: Data, start: int) -> int | None:
    i, n = start + 8, len(view)
    while i + 12 <= n:
        length = int.from_bytes(view[i:i + 4], "big")
        kind = bytes(view[i + 4:i + 8])
        i += 12 + length
        if kind == b"IEND":
            return i if i <= n else None
    return None


def _riff_end(view: Data, start: int) -> int | None:
    if len(view) < start + 12:
        return None
    length = int.from_bytes(view[start + 4:start + 8], "little")
    end = start + 8 + length + (length & 1)
    return end if end <= len(view) else None


# -- QuickTime / ISO base media -----------------------------------------------------------------


def _quicktime_boxes(view: Data, *, require_movie: bool = True) -> int | None:
    """Offset where the chain of top-level boxes from byte 0 ends, if the file starts with a
    box FFmpeg accepts first and (``require_movie``) holds a movie; None otherwise, and None
    too when the last box runs past the end of the file (a cut video: its end is unknown)."""
    n = len(view)
    if n < 16 or bytes(view[4:8]) not in _LEADING_BOXES:
        return None
    i, movie = 0, False
    while i + 8 <= n:
        length = int.from_bytes(view[i:i + 4], "big")
        kind = bytes(view[i + 4:i + 8])
        if not all(32 <= c < 127 for c in kind):
            break
        header = 8
        if length == 1:
            if i + 16 > n:
                break
            length, header = int.from_bytes(view[i + 8:i + 16], "big"), 16
        elif length == 0:
            length = n - i
        if length < header:
            break
        if i + length > n:
            return None if not require_movie else (n if movie or kind in _MOVIE_BOXES else None)
        movie = movie or kind in _MOVIE_BOXES
        i += length
    if require_movie and not movie:
        return None
    return i


__all__ = ["Layout", "Located", "describe", "locate"]
