"""Exact hashes, streamed in constant memory, and media sniffing by content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ExactHashes:
    md5: str
    sha1: str
    sha256: str
    size: int


def exact_hashes(stream: BinaryIO) -> ExactHashes:
    md5, sha1, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha1(usedforsecurity=False), hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        md5.update(chunk)
        sha1.update(chunk)
        sha256.update(chunk)
        size += len(chunk)
    return ExactHashes(md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest(), size)


def sniff_media_type(head: bytes) -> tuple[str, str | None]:
    """(media type, MIME type) from a file's first bytes; never from its name."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head[:2] == b"BM":
        return "image", "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"):
            return "image", "image/heif"
        return "video", "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video", "video/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "video/x-msvideo"
    return "other", None
