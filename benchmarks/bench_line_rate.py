#!/usr/bin/env python3
"""Issue 19, the service at line rate: Balise over real HTTP on loopback, side by side in one
run with Meta's hasher-matcher-actioner (HMA, optional: --hma-venv) on the same random PDQ
hashes, on PostgreSQL.

Figures (each printed with the load average before and after, and the server's CPU seconds so
that throughput per CPU-second can be compared on a shared machine):

* import of N PDQ indicators (`balise indicators import`, COPY) and the snapshot rebuild, wall
  and CPU;
* match, one hash per request, C client threads with keep-alive, S seconds: req/s, p50, p99;
  then at half that rate (paced clients): p50, p99;
* match, 100 hashes per request: hashes/s;
* intake of hash-only reports, then of multipart reports with one distinct 0.8 MP JPEG each (8
  clients, S seconds each): reports/s, p99, and the count of 201 answers against the rows in
  the database (must be equal);
* HMA `/m/lookup` and `/m/raw_lookup` with the same client, same hashes (HMA has no bulk import
  API: its bank is loaded with COPY into its tables, which is not an HMA code path).

    python benchmarks/bench_line_rate.py --indicators 1000000 --workers 2 --seconds 20 \\
        --hma-venv /work/bench-venvs/hma
    python benchmarks/bench_line_rate.py --quick          # 20,000 indicators, 5 s per figure
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pickle
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Any
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from balise.accounts.actors import Actor  # noqa: E402
from balise.adapters.db.migrate import upgrade  # noqa: E402
from balise.adapters.db.models import Report  # noqa: E402
from balise.container import Balise  # noqa: E402
from balise.domain.grants import add_months, check_terms  # noqa: E402
from balise.domain.model import OrgKind, Scope  # noqa: E402
from balise.settings import Settings  # noqa: E402

BALISE = str(Path(sys.executable).parent / "balise")
ACTOR = Actor.system("benchmark")
REPORT = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "known_csam",
          "service": {"type": "hosting", "url": "https://example.test/u/1"},
          "awareness": {"source": "own_motion"}, "content_removed": True}


def machine() -> str:
    with open("/proc/cpuinfo") as fh:
        cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
    return f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}"


def load() -> str:
    return "{:.1f}".format(os.getloadavg()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, live ones only."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def tree_memory(pid: int) -> dict[str, int]:
    """Fields of /proc/<pid>/smaps_rollup in bytes, summed over a process tree."""
    total: dict[str, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                name, _, rest = line.partition(":")
                if rest.strip().endswith("kB"):
                    total[name] = total.get(name, 0) + int(rest.split()[0]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def tree_anonymous(pid: int) -> int:
    """Anonymous memory of a process tree: the processes' own heaps and stacks, without any
    page of the mapped snapshot (which `Private_*` counts when one process alone has read it)."""
    return tree_memory(pid).get("Anonymous", 0)


def tree_rss(pid: int) -> tuple[int, int]:
    """(RSS, private RSS) in bytes of a process tree: private = what is not shared (the mmapped
    snapshot pages are shared)."""
    m = tree_memory(pid)
    return m.get("Rss", 0), m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)


def wait_ready(url: str, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            host, port = url.split("//")[1].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {url} did not start")


class Connection(http.client.HTTPConnection):
    """http.client sends a request's headers and its body in two writes: with TCP_NODELAY set,
    as load generators (wrk, hey) do, the client adds no Nagle delay of its own. (The 40 ms a
    request measured before 2026-12-03 was the server's: src/balise/web/protocol.py.)"""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


CLIENT_PROCESSES = 1


class Load:
    """C client threads, each with one keep-alive connection, for ``seconds``; ``pace`` (req/s
    per thread) paces them (for the latency at a given load)."""

    def __init__(self, port: int, make_request, clients: int, seconds: float, pace: float | None = None):  # type: ignore[no-untyped-def]
        self.port, self.make_request, self.clients, self.seconds, self.pace = port, make_request, clients, seconds, pace
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.bodies: list[bytes] = []
        self.keep_bodies = False
        self._lock = threading.Lock()

    def _run(self, n: int, stop_at: float) -> None:
        conn = Connection("127.0.0.1", self.port, timeout=60)
        rng = random.Random(n)
        lat, statuses, bodies = [], {}, []
        # Each paced client starts at its own phase: started together, the clients sent their
        # requests in bursts of C at once, and the latency "at half the load" measured the
        # queue of a burst (p50 ~50 ms with 16 clients at any rate) rather than the service.
        next_at = time.monotonic() + (rng.random() / self.pace if self.pace else 0)
        while time.monotonic() < stop_at:
            if self.pace:
                next_at += 1 / self.pace
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            method, path, body, headers = self.make_request(rng)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = Connection("127.0.0.1", self.port, timeout=60)
                statuses[0] = statuses.get(0, 0) + 1
                continue
            lat.append(time.perf_counter() - t0)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if self.keep_bodies and response.status == 201:
                bodies.append(data)
        with self._lock:
            self.latencies += lat
            self.bodies += bodies
            for k, v in statuses.items():
                self.statuses[k] = self.statuses.get(k, 0) + v

    def run(self) -> float:
        stop_at = time.monotonic() + self.seconds
        t0 = time.perf_counter()
        processes = min(CLIENT_PROCESSES, self.clients)
        if processes > 1:
            self._run_in_processes(processes, stop_at)
        else:
            self._run_threads(range(self.clients), stop_at)
        return time.perf_counter() - t0

    def _run_threads(self, numbers: range, stop_at: float) -> None:
        threads = [threading.Thread(target=self._run, args=(n, stop_at)) for n in numbers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _run_in_processes(self, processes: int, stop_at: float) -> None:
        """The clients split over forked processes (``--client-processes``): in one process the
        client threads wait for each other's GIL, and that wait was counted in the latencies."""
        children = []
        for p in range(processes):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: its share of the clients, then its results on the pipe
                os.close(read_end)
                try:
                    self._run_threads(range(p, self.clients, processes), stop_at)
                    with os.fdopen(write_end, "wb") as out:
                        pickle.dump((self.latencies, self.statuses, self.bodies), out)
                finally:
                    os._exit(0)
            os.close(write_end)
            children.append((pid, read_end))
        for pid, read_end in children:
            with os.fdopen(read_end, "rb") as results:
                latencies, statuses, bodies = pickle.load(results)
            os.waitpid(pid, 0)
            self.latencies += latencies
            self.bodies += bodies
            for k, v in statuses.items():
                self.statuses[k] = self.statuses.get(k, 0) + v

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def measure(name: str, server_pid: int, load_: Load, unit_per_request: int = 1) -> dict[str, float]:
    before_load, cpu0 = load(), tree_cpu(server_pid)
    wall = load_.run()
    cpu = tree_cpu(server_pid) - cpu0
    ok = sum(v for k, v in load_.statuses.items() if 200 <= k < 300)
    rate = ok / wall
    per_cpu = ok * unit_per_request / cpu if cpu > 0 else float("nan")
    print(f"  {name:<44} {rate * unit_per_request:>9.0f}/s  p50 {load_.pct(0.5):6.1f} ms  p99 {load_.pct(0.99):7.1f} ms"
          f"  server CPU {cpu:5.1f} s ({per_cpu:6.0f} per CPU-s)  statuses {dict(sorted(load_.statuses.items()))}"
          f"  load {before_load}->{load()}", flush=True)
    return {"rate": rate, "p50": load_.pct(0.5), "p99": load_.pct(0.99), "cpu": cpu}


# -- Balise -----------------------------------------------------------------------------------


def _database(admin_url: str, name: str, create: bool = True) -> None:
    """A new empty database (create) or none (drop). Names carry this run's process id, so
    two runs on one server do not drop each other's database."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


RUN = os.getpid()


def in_own_database(system: str, figures: Any, args: argparse.Namespace, hashes: list[str],
                    queries: list[str]) -> None:
    """Runs ``figures`` on a database of its own, dropped afterwards whatever happens."""
    name = f"{system}_bench_line_rate_{RUN}"
    _database(args.postgres_url, name)
    try:
        figures(args, hashes, queries, name)
    finally:
        _database(args.postgres_url, name, create=False)


def balise_figures(args: argparse.Namespace, hashes: list[str], queries: list[str], name: str) -> None:
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    data_dir = Path(tempfile.mkdtemp(prefix="balise-line-rate-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(data_dir), BALISE_DATABASE_URL=url,
               BALISE_API_RATE_LIMIT="100000000/minute", BALISE_RUN_JOBS_IN_SERVER="false",
               BALISE_MAX_CONCURRENT_REQUESTS="0", BALISE_LOG_LEVEL="WARNING",
               BALISE_RATE_LIMIT_STORAGE=args.rate_limit_storage)
    upgrade(url)
    listing = data_dir / "indicators.txt"
    listing.write_text("".join(f"pdq {h}\n" for h in hashes))
    print(f"Balise (PostgreSQL, {args.workers} API processes, rate limits in {args.rate_limit_storage})", flush=True)
    before, t0 = load(), time.perf_counter()
    started = os.times()
    proc = subprocess.run([BALISE, "indicators", "import", str(listing), "--format", "te", "--source", "benchmark",
                           "--court", "DEMO court (benchmark)", "--reference", "bench_line_rate"],
                          env={**env, "BALISE_INDEX_SNAPSHOT_AFTER_CHANGES": "1"}, capture_output=True, text=True)
    ended = os.times()
    if proc.returncode:
        raise SystemExit(proc.stderr)
    cpu = (ended.children_user - started.children_user) + (ended.children_system - started.children_system)
    print(f"  import {len(hashes):,} PDQ indicators + snapshot   {time.perf_counter() - t0:7.1f} s wall, "
          f"{cpu:6.1f} s CPU (client; PostgreSQL's own CPU not counted)  load {before}->{load()}", flush=True)

    balise = Balise(Settings(env="development", data_dir=data_dir, database_url=url))
    with balise.db.transaction() as s:
        org = balise.organisations.create(s, ACTOR, name="Benchmark provider", kind=OrgKind.PROVIDER, country="FR")
        key = balise.organisations.issue_key(s, ACTOR, org, (Scope.MATCH, Scope.REPORTS_WRITE)).plaintext
        org_id = org.id
    now = balise.clock()
    from datetime import timedelta

    terms = check_terms(databases=("known_indicators",), operations=("match",), purpose="benchmark",
                        legal_basis="benchmark", order_reference=None, valid_from=now - timedelta(minutes=1),
                        valid_until=add_months(now, 1), max_months=balise.settings.grant_max_months, now=now)
    with balise.db.transaction() as s:
        grant = balise.grants.request(s, ACTOR, org_id, terms)
        balise.grants.approve(s, Actor.system("benchmark-admin"), grant.id, "benchmark")

    port = free_port()
    # The server's log is kept: an answer other than 200/201 in a figure is looked up there.
    server_log = (data_dir / "server.log").open("wb")
    server = subprocess.Popen([BALISE, "serve", "--port", str(port), "--workers", str(args.workers)], env=env,
                              stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        rss, private = tree_rss(server.pid)
        print(f"  server memory: {rss / 2**20:,.0f} MB resident, {private / 2**20:,.0f} MB not shared "
              f"({args.workers} API processes and their parent)", flush=True)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def one(rng: random.Random):  # type: ignore[no-untyped-def]
            return "POST", "/api/v1/match", json.dumps({"hashes": [{"type": "pdq", "value": rng.choice(queries)}]}), headers

        def hundred(rng: random.Random):  # type: ignore[no-untyped-def]
            return "POST", "/api/v1/match", json.dumps({"hashes": [{"type": "pdq", "value": rng.choice(queries)}
                                                                  for _ in range(100)]}), headers

        measure("warm-up", server.pid, Load(port, one, args.clients, 3))
        if args.only_batch:
            measure("match, 100 hashes/request (hashes/s)", server.pid,
                    Load(port, hundred, args.clients, args.seconds), 100)
            memory_after(server.pid)
            return
        if not args.only_intake:
            # One client, one request at a time: the latency of a request on an idle server.
            measure("match, 1 hash/request, one client in sequence", server.pid,
                    Load(port, one, 1, min(args.seconds, 10)))
            full = measure("match, 1 hash/request", server.pid, Load(port, one, args.clients, args.seconds))
            pace = full["rate"] / 2 / args.clients
            measure("match, 1 hash/request, at 50 % of that", server.pid,
                    Load(port, one, args.clients, args.seconds, pace))
            measure("match, 100 hashes/request (hashes/s)", server.pid,
                    Load(port, hundred, args.clients, args.seconds), 100)

        if args.only_match:
            memory_after(server.pid)
            return

        def report(rng: random.Random):  # type: ignore[no-untyped-def]
            body = {**REPORT, "items": [{"kind": "hash_only", "hashes": {"md5": uuid.UUID(int=rng.getrandbits(128)).hex}}]}
            return "POST", "/api/v1/reports", json.dumps(body), headers

        intake_figure(balise, "intake, hash-only reports, 8 clients", server.pid, Load(port, report, 8, args.seconds))

        picture = benign_jpeg()
        document = json.dumps({**REPORT, "type": "new_csam", "items": [{"kind": "media", "file": "f0"}]})
        boundary = "balise-bench-boundary"
        auth = {"Authorization": headers["Authorization"],
                "Content-Type": f"multipart/form-data; boundary={boundary}"}

        def multipart(rng: random.Random):  # type: ignore[no-untyped-def]
            # A distinct file each time (a comment segment after the JPEG's first marker), so that
            # every report stores, hashes and encrypts a new 0.8 MP picture.
            marker = uuid.UUID(int=rng.getrandbits(128)).bytes
            unique = picture[:2] + b"\xff\xfe\x00\x12" + marker + picture[2:]
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n"
                    f"Content-Type: application/json\r\n\r\n{document}\r\n"
                    f"--{boundary}\r\nContent-Disposition: form-data; name=\"f0\"; filename=\"demo.jpg\"\r\n"
                    f"Content-Type: image/jpeg\r\n\r\n").encode() + unique + f"\r\n--{boundary}--\r\n".encode()
            return "POST", "/api/v1/reports", body, auth

        intake_figure(balise, f"intake, multipart, one {len(picture) // 1024} kB 0.8 MP JPEG, 8 clients", server.pid,
                      Load(port, multipart, 8, args.seconds))
        propagation(balise, port, headers)
        memory_after(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
        server_log.close()
        balise.close()
        report_server_errors(data_dir / "server.log")


def memory_after(server_pid: int) -> None:
    """The server's memory once the figures have run: what it holds beyond the shared snapshot
    is its anonymous memory (the issue's figure: < 2 GB with 2 API processes at 10 M)."""
    rss, _ = tree_rss(server_pid)
    print(f"  server memory after the figures: {rss / 2**20:,.0f} MB resident, of which "
          f"{tree_anonymous(server_pid) / 2**20:,.0f} MB anonymous (beyond the mapped snapshot)", flush=True)


def report_server_errors(path: Path) -> None:
    """Print the tracebacks the server logged, if any (each ends with its exception's line)."""
    lines = path.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    if not starts:
        print("  server log: no traceback", flush=True)
        return
    print(f"  server log ({path}): {len(starts)} traceback(s); the first:", flush=True)
    first = starts[0]
    end = next((j for j in range(first + 1, len(lines)) if lines[j] and not lines[j].startswith((" ", "Traceback",
                "During", "The above"))), len(lines) - 1)
    for line in lines[max(0, first - 2): end + 1][-40:]:
        print("    " + line, flush=True)


def intake_figure(balise: Balise, name: str, server_pid: int, intake: Load) -> None:
    """Reports/s and latency, then the count of 201 answers against the new rows: every
    acknowledged report must be in the database."""
    with balise.db.sessions() as s:
        before_rows = s.scalar(select(func.count()).select_from(Report))
    intake.keep_bodies = True
    measure(name, server_pid, intake)
    with balise.db.sessions() as s:
        rows = s.scalar(select(func.count()).select_from(Report)) - before_rows
        ids = {str(r) for r in s.execute(select(Report.id)).scalars()}
    acked = [json.loads(b)["id"] for b in intake.bodies]
    missing = [i for i in acked if i not in ids]
    print(f"  intake: {len(acked)} answered 201, {rows} reports in the database, {len(missing)} acknowledged "
          "but missing", flush=True)
    if missing:
        raise SystemExit("an acknowledged report is missing")


def benign_jpeg() -> bytes:
    """A generated 1032x774 (0.8 MP) picture of smooth colours and noise, saved as JPEG: benign
    demo content of the size the issue names."""
    import io

    from PIL import Image

    rng = random.Random(774)
    small = Image.new("RGB", (43, 33))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(43 * 33)])
    picture = small.resize((1032, 774), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((1032, 774), 24).convert("RGB")
    out = io.BytesIO()
    Image.blend(picture, noise, 0.2).save(out, "JPEG", quality=90)
    return out.getvalue()


def propagation(balise: Balise, port: int, headers: dict[str, str]) -> None:
    """Time from the commit of a new indicator to the first of 20 answers in a row (spread by
    the kernel over every API process) that all match it, three times."""
    from balise.domain.indicators import Algorithm, IndicatorKind

    rng = random.Random(1919)
    delays = []
    for _ in range(3):
        value = f"{rng.getrandbits(256):064x}"
        body = json.dumps({"hashes": [{"type": "pdq", "value": value}]})
        with balise.db.transaction() as s:
            balise.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=value, kind=IndicatorKind.KNOWN_CSAM,
                                  provenance={"source": "benchmark"})
        t0 = time.perf_counter()
        while True:
            seen = 0
            for _ in range(20):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a new connection each time
                conn.request("POST", "/api/v1/match", body=body, headers=headers)
                if json.loads(conn.getresponse().read())["matched"] == 1:
                    seen += 1
                conn.close()
            if seen == 20:
                break
        delays.append(time.perf_counter() - t0)
    print(f"  a new indicator matched by every process after {', '.join(f'{d:.2f}' for d in delays)} s "
          f"(including the 20 confirming requests)  load {load()}", flush=True)


# -- HMA --------------------------------------------------------------------------------------

HMA_CONFIG = """
from OpenMediaMatch.storage.postgres.impl import DefaultOMMStore
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.content_type.photo import PhotoContent
DATABASE_URI = {uri!r}
PRODUCTION = True
ROLE_HASHER = False
ROLE_MATCHER = True
ROLE_CURATOR = True
UI_ENABLED = False
TASK_FETCHER = False
TASK_INDEXER = False
TASK_INDEX_CACHE = True
TASK_INDEX_CACHE_INTERVAL_SECONDS = 30
INDEX_CACHE_MAX_STALE_SEC = 3600
STORAGE_IFACE_INSTANCE = DefaultOMMStore(signal_types=[PdqSignal], content_types=[PhotoContent], exchange_types=[])
"""


def hma_figures(args: argparse.Namespace, hashes: list[str], queries: list[str], name: str) -> None:
    venv = Path(args.hma_venv)
    pg = make_url(args.postgres_url).set(database=name, drivername="postgresql+psycopg2")
    workdir = Path(tempfile.mkdtemp(prefix="hma-line-rate-"))
    (workdir / "omm_config.py").write_text(HMA_CONFIG.format(uri=pg.render_as_string(hide_password=False)))
    env = {**os.environ, "OMM_CONFIG": str(workdir / "omm_config.py"), "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    flask = [str(venv / "bin" / "flask"), "--app", "OpenMediaMatch.app"]
    migrations = subprocess.run([str(venv / "bin" / "python"), "-c", "import OpenMediaMatch, os; "
                                 "print(os.path.join(os.path.dirname(OpenMediaMatch.__file__), 'migrations'))"],
                                env=env, check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([*flask, "db", "upgrade", "--directory", migrations], env={**env, "MIGRATION_COMMAND": "1"},
                   check=True, capture_output=True, cwd=workdir)
    print("HMA (PostgreSQL, gunicorn, 1 sync worker as its image runs)", flush=True)
    t0, started = time.perf_counter(), os.times()
    engine = create_engine(pg.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bank (name, enabled_ratio) VALUES ('BENCH', 1.0)"))
        bank_id = conn.execute(text("SELECT id FROM bank WHERE name = 'BENCH'")).scalar_one()
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY bank_content (id, bank_id, disable_until_ts) FROM STDIN") as copy:
                for i in range(len(hashes)):
                    copy.write_row((i + 1, bank_id, 1))  # BankContentConfig.ENABLED
            with cur.copy("COPY content_signal (content_id, signal_type, signal_val, create_time) FROM STDIN") as copy:
                for i, h in enumerate(hashes):
                    copy.write_row((i + 1, "pdq", h, "2026-12-02 00:00:00"))
            cur.execute("SELECT setval(pg_get_serial_sequence('bank_content', 'id'), %s)", (len(hashes),))
    subprocess.run([*flask, "build_indices"], env=env, check=True, capture_output=True, cwd=workdir)
    ended = os.times()
    cpu = (ended.children_user - started.children_user) + (ended.children_system - started.children_system)
    print(f"  load {len(hashes):,} PDQ (COPY, not an HMA path) + build_indices {time.perf_counter() - t0:7.1f} s wall, "
          f"{cpu:6.1f} s CPU (index build)  load {load()}", flush=True)
    port = free_port()
    server = subprocess.Popen([str(venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "OpenMediaMatch.app:create_app()"], env=env, cwd=workdir, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", f"/m/lookup?signal_type=pdq&signal={queries[0]}")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        rss, private = tree_rss(server.pid)
        print(f"  server memory: {rss / 2**20:,.0f} MB resident, {private / 2**20:,.0f} MB not shared", flush=True)
        for endpoint in ("/m/lookup", "/m/raw_lookup"):
            def one(rng: random.Random, endpoint: str = endpoint):  # type: ignore[no-untyped-def]
                return "GET", f"{endpoint}?signal_type=pdq&signal={rng.choice(queries)}", None, {}

            measure("warm-up", server.pid, Load(port, one, args.clients, 3))
            measure(f"{endpoint}, 1 hash/request", server.pid, Load(port, one, args.clients, args.seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--hma-venv", help="a virtual environment with HMA installed from source (peer)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only-hma", action="store_true", help="skip Balise's figures (a re-run of the peer)")
    parser.add_argument("--only-intake", action="store_true", help="of Balise's figures, only intake (A/B runs)")
    parser.add_argument("--client-processes", type=int, default=1,
                        help="split the client threads over this many processes (default 1, as in every "
                             "run recorded before 2026-12-04)")
    parser.add_argument("--only-match", action="store_true", help="of Balise's figures, only the match ones")
    parser.add_argument("--only-batch", action="store_true",
                        help="of Balise's figures, only the 100-hash match (A/B runs)")
    parser.add_argument("--rate-limit-storage", default="memory://",
                        help="Balise's BALISE_RATE_LIMIT_STORAGE: memory:// (development) or redis://127.0.0.1:6379 "
                             "(what production with several API processes requires)")
    args = parser.parse_args()
    if args.quick:
        args.indicators, args.seconds = 20_000, 5
    global CLIENT_PROCESSES
    CLIENT_PROCESSES = max(1, args.client_processes)
    print(f"machine: {machine()}; load average {load()} at the start; client in {CLIENT_PROCESSES} "
          "process(es)", flush=True)
    rng = random.Random(19)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(args.indicators)]
    # Half the queries are stored hashes with a few bits flipped (matches), half random.
    queries = []
    for _ in range(2000):
        if rng.random() < 0.5:
            value = int(rng.choice(hashes), 16)
            for _ in range(rng.randint(0, 20)):
                value ^= 1 << rng.randrange(256)
            queries.append(f"{value:064x}")
        else:
            queries.append(f"{rng.getrandbits(256):064x}")
    if not args.only_hma:
        in_own_database("balise", balise_figures, args, hashes, queries)
    if args.hma_venv:
        in_own_database("hma", hma_figures, args, hashes, queries)
    print(f"load average {load()} at the end", flush=True)


if __name__ == "__main__":
    main()
