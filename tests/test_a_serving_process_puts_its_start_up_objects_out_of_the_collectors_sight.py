"""An API process of `balise serve` freezes the objects alive once it has started (web/app.py,
`settle_heap`): a full cyclic garbage collection then walks only what requests created since,
instead of the ~240,000 start-up objects (measured in an API process under load: a full
collection took 70–290 ms before, 15–37 ms after; during it the process answers nothing). A
process of its own: freezing is for the whole interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import gc, json
from balise.web.app import app_from_environment
app_from_environment()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def test_the_objects_of_start_up_are_frozen_and_a_collection_no_longer_walks_them(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(tmp_path / "data"),
               BALISE_DATABASE_URL=f"sqlite:///{tmp_path / 'balise.sqlite3'}")
    subprocess.run([sys.executable, "-m", "balise.cli.main", "db", "upgrade"], env=env, check=True,
                   capture_output=True)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    # The application, its routes and every module: well over a hundred thousand objects.
    assert counts["frozen"] > 100_000
    # What a collection still walks: what was made after (the probe's own few), a sliver.
    assert counts["tracked"] < counts["frozen"] / 20, counts
