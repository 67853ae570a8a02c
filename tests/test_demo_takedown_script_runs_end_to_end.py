"""`make demo-takedown` (scripts/demo_takedown.py) runs to its end on loopback only and shows
the removal, the NTD figures and two valid evidence packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "demo_takedown.py"


def test_the_takedown_demo_walks_a_url_to_its_verified_removal(tmp_path) -> None:
    # Its scratch Balise goes under tmp_path (mkdtemp honours TMPDIR); no setting of the
    # calling environment may leak into it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "matched a DEMO indicator: True" in out
    assert "host_notice" in out and "SMTP server received for abuse@demo-hosting.example" in out
    assert "takedown: removed;" in out
    assert "reported URLs: 1  host notified: 1  removed: 1" in out
    assert "removed within 2.5 days: 100.0 %" in out
    assert out.count("VALID: evidence package") == 2
    assert out.rstrip().splitlines()[-1].startswith("DEMO done. Scratch data left in " + str(tmp_path))
