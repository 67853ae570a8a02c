"""`balise worker` whose perceptual hashing never ends, for the kill -9 test.

Everything is the real worker (job claim and lease, the vault read and its audit, the private
temporary copy) except the hashing itself: when it is handed the copy, it writes the copy's
path to the file named by HASH_GATE_MARKER (the test's signal that the worker is mid-hash)
and then waits for ever, until the test kills the process.

    python tests/gated_hash_worker.py      # with the worker's BALISE_* environment
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from balise.cli.main import app
from balise.container import Balise


def hashing_that_never_ends(self: Balise, path: str, **_options: object) -> dict:
    marker = Path(os.environ["HASH_GATE_MARKER"])
    partial = marker.with_name(marker.name + ".partial")
    partial.write_text(path)
    partial.rename(marker)  # the test sees the whole path or nothing
    threading.Event().wait()
    raise AssertionError("unreachable")


Balise.media_hasher = hashing_that_never_ends  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv = ["balise", "worker", "--poll", "0.2"]
    app()
