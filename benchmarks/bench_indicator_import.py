"""Reading a hash list of millions of lines: Balise's streamed reader (balise.detection.formats,
the one `balise indicators import` and `balise scan` use) beside python-threatexchange's
LocalFileSignalExchangeAPI (which HMA's file exchange uses) on the same ThreatExchange-lines file.
Each reader runs in its own child process; the figures are its wall time and peak resident
memory (ru_maxrss). A third row imports the same file into a SQLite database with
`Indicators.import_stream` (parse, check, batched INSERTs, one transaction).

    python benchmarks/bench_indicator_import.py [--lines 2000000] [--import-lines 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
t = time.perf_counter()
n = 0
if which == "balise":
    from balise.detection import formats
    from balise.domain.indicators import IndicatorKind
    rep = formats.ImportReport()
    with open(path, "rb") as f:
        for _ in formats.read("te", formats.open_input(f), IndicatorKind.KNOWN_CSAM, rep):
            n += 1
elif which == "threatexchange":
    from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
    from threatexchange.signal_type.pdq.signal import PdqSignal
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="bench", filename=path))
    for delta in api.fetch_iter([PdqSignal], None):
        n += len(delta.updates)
else:
    import os
    from balise.container import Balise
    from balise.settings import Settings
    from balise.accounts.actors import Actor
    from balise.adapters.db.migrate import upgrade
    url = "sqlite:///" + sys.argv[3]
    upgrade(url)
    b = Balise(Settings(env="development", data_dir=sys.argv[4], database_url=url))
    t = time.perf_counter()
    with open(path, "rb") as f, b.db.transaction() as s:
        n = b.indicators.import_stream(s, Actor.system("bench"), f, fmt="te", source="bench").imported
    b.close()
print(json.dumps({"n": n, "seconds": time.perf_counter() - t,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_list(path: Path, lines: int) -> None:
    with open(path, "w") as f:
        for i in range(lines):
            f.write(f"pdq {i:064x}\n")


def run(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True,
                         env={**os.environ})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--import-lines", type=int, default=200_000)
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.txt", Path(tmp) / "small.txt"
        write_list(big, a.lines)
        write_list(small, a.import_lines)
        print(f"file: {a.lines:,} PDQ lines, {big.stat().st_size / 2**20:.0f} MiB; load {os.getloadavg()[0]:.1f}")
        print(f"{'reader':<44} {'lines':>10} {'seconds':>8} {'lines/s':>10} {'peak MiB':>9}")
        for label, args in (("Balise formats.read (streamed)", ("balise", str(big))),
                            ("python-threatexchange LocalFileSignalExchangeAPI", ("threatexchange", str(big))),
                            (f"Balise import_stream into SQLite ({a.import_lines:,})",
                             ("import", str(small), str(Path(tmp) / "b.sqlite3"), str(Path(tmp) / "data")))):
            r = run(*args)
            print(f"{label:<44} {r['n']:>10,} {r['seconds']:>8.1f} {r['n'] / r['seconds']:>10,.0f} {r['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
