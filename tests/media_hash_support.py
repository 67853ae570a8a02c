"""Shared by the media.hash job tests."""

from __future__ import annotations

import io

from PIL import Image

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.indicators import Algorithm, IndicatorKind


def known_copy(app: Balise, seed: int) -> bytes:
    """A DEMO picture whose PDQ is a confirmed known-CSAM indicator; returns a re-encoded,
    resized copy of it (other bytes, same picture: only perceptual hashing can match it)."""
    original = demo_image(seed, (800, 600))
    with app.db.transaction() as s:
        app.indicators.add(s, Actor.system("test"), algorithm=Algorithm.PDQ, value=hash_image_bytes(original).pdq,
                           kind=IndicatorKind.KNOWN_CSAM, provenance={"test": True},
                           classification={"ncmec_category": "A2"})
    out = io.BytesIO()
    Image.open(io.BytesIO(original)).resize((640, 480)).save(out, "JPEG", quality=75)
    return out.getvalue()
