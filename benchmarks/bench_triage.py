#!/usr/bin/env python3
"""Triage figures on a DEMO corpus: how many items are resolved without any human view.

Builds a throw-away embedded Balise (SQLite, temp dir), makes K benign "known" images and adds
their PDQ as confirmed indicators, then files N single-image reports through the real intake
(exact hashes, exact matching, vault, audit; the answer a provider waits for) where a share of
the images are re-encoded, resized copies of known images and the rest are new; runs the
media.hash jobs (decrypt, hash in child processes, match) and then the triage jobs they queue;
and counts the items triage resolved by re-using a confirmed assessment (never shown to an
analyst). Prints the intake latency (what a provider's request costs) and the end-to-end
throughput (filed, hashed, matched and triaged).

    .venv/bin/python benchmarks/bench_triage.py                 # 1,000 reports, 90 % known
    .venv/bin/python benchmarks/bench_triage.py --reports 200 --known-share 0.9
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from PIL import Image  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from balise.accounts.actors import Actor  # noqa: E402
from balise.adapters.db.migrate import upgrade  # noqa: E402
from balise.adapters.db.models import Item, Report  # noqa: E402
from balise.container import Balise  # noqa: E402
from balise.demo import demo_image  # noqa: E402
from balise.detection.adapters.media_hash import hash_image_bytes  # noqa: E402
from balise.detection.media_hashing import MEDIA_HASH_JOB  # noqa: E402
from balise.domain.indicators import Algorithm, IndicatorKind  # noqa: E402
from balise.domain.model import OrgKind, Scope  # noqa: E402
from balise.intake.filing import UploadedFile, request_fingerprint  # noqa: E402
from balise.intake.report_schema import ReportIn  # noqa: E402
from balise.settings import Settings  # noqa: E402


def variant(image: bytes, rng: random.Random) -> bytes:
    img = Image.open(io.BytesIO(image))
    scale = rng.uniform(0.5, 0.9)
    img = img.resize((int(img.width * scale), int(img.height * scale)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=rng.randint(60, 90))
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--known", type=int, default=100, help="distinct known images (indicators)")
    ap.add_argument("--known-share", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=1, help="threads running the media.hash jobs (as worker processes would)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="balise-bench-triage-"))
    settings = Settings(env="development", data_dir=work, index_refresh_seconds=0.0)
    upgrade(settings.sqlalchemy_url)
    balise = Balise(settings)
    actor = Actor.system("bench")
    known = [demo_image(10_000 + k, (640, 480)) for k in range(args.known)]
    with balise.db.transaction() as s:
        org = balise.organisations.create(s, actor, name="DEMO bench provider", kind=OrgKind.PROVIDER, country="FR")
        balise.organisations.issue_key(s, actor, org, [Scope.REPORTS_WRITE])
        org_id, org_actor = org.id, Actor.organisation(str(org.id), org.name)
        for image in known:
            balise.indicators.add(s, actor, algorithm=Algorithm.PDQ, value=hash_image_bytes(image).pdq,
                                  kind=IndicatorKind.KNOWN_CSAM, provenance={"bench": True},
                                  classification={"ncmec_category": "A2"})
    n_known = 0
    latencies: list[float] = []
    t0 = time.perf_counter()
    for n in range(args.reports):
        is_known = rng.random() < args.known_share
        n_known += is_known
        image = variant(rng.choice(known), rng) if is_known else demo_image(50_000 + n, (640, 480))
        document = {
            "reported_at": "2026-11-23T10:00:00+01:00", "signature": "DEMO", "type": "known_csam",
            "service": {"type": "hosting"}, "awareness": {"source": "own_motion"}, "content_removed": True,
            "user_decision": "suspend", "reported_elsewhere": {"reported": False},
            "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}},
            "items": [{"kind": "media", "file": "f"}],
        }
        upload = UploadedFile(part="f", stream=io.BytesIO(image), filename="demo.jpg", content_type="image/jpeg")
        started = time.perf_counter()
        report = ReportIn.model_validate(document)
        balise.intake.prepare_files(report, {"f": upload})
        balise.intake.file(actor=org_actor, organisation_id=org_id, report=report, files={"f": upload},
                           fingerprint=request_fingerprint(document, {"f": upload}), idempotency_key=None, is_demo=True)
        latencies.append(time.perf_counter() - started)
    intake_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    handlers = {MEDIA_HASH_JOB: balise.media_hashing.handle}
    counts = [0] * args.workers

    def work(n: int) -> None:
        counts[n] = balise.jobs.run_until_idle(handlers, worker=f"bench-{n}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hash_jobs = sum(counts)
    hash_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    jobs = balise.run_jobs()
    triage_s = time.perf_counter() - t2
    with balise.db.sessions() as s:
        items = s.execute(select(func.count()).select_from(Item)).scalar_one()
        reused = s.execute(select(func.count()).select_from(Item).where(Item.assessment_source.like("reuse:%"))).scalar_one()
        matched = s.execute(select(func.count()).select_from(Item).where(Item.matched.is_(True))).scalar_one()
        queued = s.execute(select(func.count()).select_from(Report).where(Report.state == "in_assessment")).scalar_one()
        needing_view = s.execute(select(func.count()).select_from(Item).where(Item.outcome.is_(None))).scalar_one()
    print("# Balise triage on a DEMO corpus")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"reports {args.reports}, items {items}, of which re-encoded known images {n_known} ({n_known / items:.0%})")
    latencies.sort()
    print(f"intake (exact hashes, exact match, vault, audit; no decoding): {intake_s:.1f} s = "
          f"{args.reports / intake_s:.1f} reports/s; latency median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.1f} ms")
    print(f"media.hash jobs (decrypt, hash in child process, match), {args.workers} worker(s): {hash_jobs} in {hash_s:.1f} s = "
          f"{hash_jobs / hash_s:.1f} items/s")
    print(f"triage jobs: {jobs} in {triage_s:.1f} s")
    total = intake_s + hash_s + triage_s
    print(f"end to end (filed, hashed, matched, triaged): {total:.1f} s = "
          f"{args.reports / total:.1f} reports/s")
    print(f"items matched: {matched} ({matched / items:.1%}); resolved by re-use, never shown: "
          f"{reused} ({reused / items:.1%}); left for a human: {needing_view} ({needing_view / items:.1%})")
    print(f"reports in the queue (a human still decides every report): {queued}")
    balise.close()


if __name__ == "__main__":
    main()
