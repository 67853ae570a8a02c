"""--dask runs the same scan on a Dask distributed cluster (here a local one on 127.0.0.1) with
results identical to the local run."""

from __future__ import annotations

import zipfile

import pytest

from balise.demo import demo_image
from tests.scan_support import near_duplicate, run_scan, write_images


@pytest.fixture
def cluster():
    from distributed import LocalCluster

    with LocalCluster(host="127.0.0.1", protocol="tcp", n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0") as c:
        assert c.scheduler_address.startswith("tcp://127.0.0.1:")
        yield c


def test_dask_equals_local(tmp_path, cluster):
    root = tmp_path / "seized"
    write_images(root / "a", range(40), (160, 120))
    (root / "b").mkdir()
    for s in range(10):
        (root / "b" / f"near{s}.jpg").write_bytes(near_duplicate(demo_image(s, (160, 120)), 1))
        (root / "b" / f"copy{s}.jpg").write_bytes(demo_image(s, (160, 120)))
    with zipfile.ZipFile(root / "c.zip", "w") as z:
        z.writestr("x/in.jpg", demo_image(500, (160, 120)))
    (root / "notes.txt").write_text("benign")
    local, dask = tmp_path / "local", tmp_path / "dask"
    r1 = run_scan(root, "--out", local, "--workers", "2")
    r2 = run_scan(root, "--out", dask, "--dask", cluster.scheduler_address)
    assert r1.returncode == r2.returncode == 0
    assert (local / "results.csv").read_bytes() == (dask / "results.csv").read_bytes()
    assert (local / "results.jsonl").read_bytes() == (dask / "results.jsonl").read_bytes()
    assert (local / "vics.json").read_bytes() == (dask / "vics.json").read_bytes()
    bad = run_scan(root, "--out", tmp_path / "x", "--dask", "tcp://127.0.0.1:1", check_codes=None)
    assert bad.returncode == 2 and "Dask scheduler" in bad.stderr
