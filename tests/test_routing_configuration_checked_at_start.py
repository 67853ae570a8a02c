"""A bad BALISE_GEO_OVERRIDES_FILE stops `balise worker` at start, naming the setting and the
entry; the worker also refuses unsafe production settings like `balise serve`."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.servers import BALISE, clean_env


@pytest.mark.parametrize(("content", "expected"), [
    ("not json", "BALISE_GEO_OVERRIDES_FILE"),
    (json.dumps({"network": "127.0.0.0/8"}), "expected a JSON list"),
    (json.dumps([{"network": "300.0.0.0/8", "country": "NL"}]), "entry 1"),
    (json.dumps([{"network": "127.0.0.0/8", "country": "Netherlands"}]), "alpha-2"),
    (json.dumps([{"network": "127.0.0.0/8", "abuse_email": "nobody"}]), "abuse_email"),
])
def test_a_bad_overrides_file_stops_the_worker_naming_the_problem(tmp_path, content, expected) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(content)
    env = clean_env(tmp_path / "data", BALISE_GEO_OVERRIDES_FILE=str(path))
    run = subprocess.run([BALISE, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and expected in run.stderr, run.stderr


def test_the_worker_refuses_unsafe_production_settings(tmp_path) -> None:
    env = {**clean_env(tmp_path / "data"), "BALISE_ENV": "production"}
    run = subprocess.run([BALISE, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "BALISE_SECRET_KEY" in run.stderr, run.stderr
