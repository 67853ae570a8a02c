#!/usr/bin/env python3
"""CPU and wall time of short `balise` commands, before and after a change, in one run.

"before" is the tree of a git ref (default 83834c3, the CLI before its imports were made lazy),
extracted to a temp dir; "after" is this checkout. Both run as real processes of the same
interpreter, the same way (`python -c "from balise.cli.main import app; app()" ARGS` with
PYTHONPATH=<tree>/src), alternately, each on its own fresh SQLite database migrated by its own
code in a temp dir (BALISE_ENV=development, BALISE_DATA_DIR, BALISE_DATABASE_URL), holding one
PDQ indicator and its index snapshot. Commands:

* ``balise --help``
* ``balise hash <a small generated PNG>`` (hashes in a child of multiprocessing's fork server)
* ``balise match pdq <hex64>`` (opens the PDQ index snapshot; one match)
* ``balise jobs list`` (empty queue)
* ``balise clocks rules`` (no database, no media: what --help costs plus running a command)

CPU time is user + system of the command and of every process it started, from
getrusage(RUSAGE_CHILDREN) deltas. The fork server that `balise hash` starts outlives the
command for a moment; this process makes itself a child subreaper (Linux) so that the fork
server and the hashing child are reaped here and counted. Wall time is until the command
itself exits. Each command runs once untimed per tree first (bytecode compiled, files cached;
PYTHONDONTWRITEBYTECODE is dropped, as an installed package has its .pyc), then --repeat
times; the table shows medians.

    .venv/bin/python benchmarks/bench_cli_startup.py
    .venv/bin/python benchmarks/bench_cli_startup.py --before-ref main --repeat 21
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAUNCH = "from balise.cli.main import app; app(prog_name='balise')"
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Tree:
    name: str
    src: Path
    data: Path
    env: dict[str, str] = field(default_factory=dict)


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_descendants(deadline_s: float = 10.0) -> None:
    """Wait for the orphans re-parented to this process (the fork server) so that their CPU
    time is in RUSAGE_CHILDREN."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > end:
                raise RuntimeError("a process started by the command is still running after 10 s")
            time.sleep(0.005)


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(tree: Tree, args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of `balise ARGS` on this tree."""
    with tempfile.TemporaryFile() as err:
        cpu0 = cpu_of_children()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], env=tree.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, _ = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        reap_descendants()
        cpu = cpu_of_children() - cpu0
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{tree.name}: balise {' '.join(args)} exited {proc.returncode}:\n"
                             f"{err.read().decode(errors='replace')[-2000:]}")
    return cpu, wall


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def extract(ref: str, into: Path) -> Path:
    """The ref's src/ in a throw-away directory (no worktree to clean up if interrupted)."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "src"], check=True, stdout=out)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into / "src"


def prepare(tree: Tree, pdq: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(tree.src), BALISE_ENV="development", BALISE_DATA_DIR=str(tree.data),
               BALISE_DATABASE_URL=f"sqlite:///{tree.data / 'balise.sqlite3'}")
    tree.env = env
    where = subprocess.run([sys.executable, "-c", "import balise; print(balise.__file__)"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(tree.src.resolve()):
        raise SystemExit(f"{tree.name}: PYTHONPATH={tree.src} imports balise from {where}")
    run(tree, ["db", "upgrade"])
    run(tree, ["indicators", "add", "pdq", pdq, "--court", "DEMO court (benchmark)", "--reference", "bench_cli_startup"])
    run(tree, ["indicators", "snapshot"])


def small_png(path: Path, seed: int) -> Path:
    from PIL import Image

    rng = random.Random(seed)
    image = Image.new("RGB", (160, 120))
    image.putdata([(x * 255 // 160, y * 255 // 120, rng.randrange(256)) for y in range(120) for x in range(160)])
    image.save(path, "PNG")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before-ref", default="83834c3", help="git ref of the 'before' code (default 83834c3)")
    ap.add_argument("--repeat", type=int, default=11, help="timed runs per command and tree (default 11)")
    ap.add_argument("--quick", action="store_true", help="3 timed runs")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    counted = become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="balise-bench-cli-"))
    try:
        before_sha = git("rev-parse", "--short", f"{args.before_ref}^{{commit}}")
        after_sha = git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if git("status", "--porcelain", "src") else "")
        (work / "before").mkdir()
        trees = [Tree("before", extract(args.before_ref, work / "before"), work / "before-data"),
                 Tree("after", REPO / "src", work / "after-data")]
        pdq = "".join(random.Random(12).choice("0123456789abcdef") for _ in range(64))
        png = small_png(work / "small.png", 12)
        commands = {"balise --help": ["--help"], "balise hash small.png": ["hash", str(png)],
                    "balise match pdq <hex64>": ["match", "pdq", pdq], "balise jobs list": ["jobs", "list"],
                    "balise clocks rules": ["clocks", "rules"]}
        for tree in trees:
            prepare(tree, pdq)
            for argv in commands.values():
                run(tree, argv)  # untimed: .pyc written, files cached
        cpu: dict[tuple[str, str], list[float]] = {}
        wall: dict[tuple[str, str], list[float]] = {}
        for _ in range(repeat):
            for label, argv in commands.items():
                for tree in trees:  # alternately, so that load on the machine falls on both alike
                    c, w = run(tree, argv)
                    cpu.setdefault((label, tree.name), []).append(c)
                    wall.setdefault((label, tree.name), []).append(w)
        load = os.getloadavg()
        print("# Balise CLI start-up, before and after")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
              f"Python {platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"before: {args.before_ref} ({before_sha}); after: this checkout ({after_sha}); "
              f"{repeat} timed runs of each, medians")
        if not counted:
            print("warning: not a child subreaper: CPU of the fork server `balise hash` leaves behind is not counted")
        b, a = trees[0].name, trees[1].name
        print(f"{'command':<26} {'before CPU s':>12} {'after CPU s':>12} {'saved':>7} {'ratio':>6} "
              f"{'before wall s':>13} {'after wall s':>12}")
        for label in commands:
            cb, ca = statistics.median(cpu[label, b]), statistics.median(cpu[label, a])
            wb, wa = statistics.median(wall[label, b]), statistics.median(wall[label, a])
            print(f"{label:<26} {cb:>12.3f} {ca:>12.3f} {cb - ca:>7.3f} {cb / ca:>5.1f}x {wb:>13.3f} {wa:>12.3f}")
        print("CPU min-max, before | after: " + "; ".join(
            f"{label.split()[1]} {min(cpu[label, b]):.2f}-{max(cpu[label, b]):.2f} | {min(cpu[label, a]):.2f}-{max(cpu[label, a]):.2f}"
            for label in commands))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
