"""Shared by the two resume tests: a tree big enough to interrupt mid-way, and the checks."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from balise.demo import demo_image
from tests.scan_support import SCAN, csv_rows, run_scan

N_FILES = 1500


def make_tree(root: Path) -> None:
    # 500 distinct small pictures, each present 3 times (copies in other directories)
    for d in range(3):
        sub = root / f"dir{d}"
        sub.mkdir(parents=True)
        for s in range(N_FILES // 3):
            (sub / f"p{s:04d}.jpg").write_bytes(demo_image(s, (96, 72)))


def done_count(out: Path) -> int:
    try:
        with sqlite3.connect(f"file:{out / 'state.sqlite'}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM files WHERE state='done' AND parent IS NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def interrupt_mid_way(root: Path, out: Path, sig: int) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    log = open(out.parent / f"interrupted-{sig}.log", "wb")  # not a pipe: orphans could hold it open
    proc = subprocess.Popen([*SCAN, str(root), "--out", str(out), "--workers", "1", "--no-progress"], env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if done_count(out) >= N_FILES // 5:
            proc.send_signal(sig)
            break
        time.sleep(0.02)
    proc.wait(timeout=120)
    log.close()
    return proc.returncode


def check_resume(tmp_path: Path, sig: int, expected_rc: int) -> None:
    root = tmp_path / "seized"
    make_tree(root)
    reference = tmp_path / "reference"
    run_scan(root, "--out", reference, "--workers", "1")
    out = tmp_path / "out"
    rc = interrupt_mid_way(root, out, sig)
    assert rc == expected_rc, (rc, (out.parent / f"interrupted-{sig}.log").read_text(errors="replace")[-3000:])
    done = done_count(out)
    assert 0 < done < N_FILES, f"the interruption came too late or too early ({done} of {N_FILES} done)"
    r = run_scan(root, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    # the results equal those of an uninterrupted run
    assert csv_rows(out) == csv_rows(reference)
    assert (out / "vics.json").read_text() == (reference / "vics.json").read_text()
    with sqlite3.connect(out / "state.sqlite") as c:
        # every file's content was hashed exactly once over both runs
        counts = c.execute("SELECT MIN(hash_count), MAX(hash_count), COUNT(*) FROM files").fetchone()
        assert counts == (1, 1, N_FILES)
        # and the second run hashed only what the first had not finished
        rerun = c.execute("SELECT hashed, unchanged FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        assert rerun == (N_FILES - done, done)
