"""deploy/Caddyfile, as compose.yaml runs it, in front of two real `balise serve` processes on
loopback (the two API containers): requests are shared between both, each gets the request id
Caddy sets, and /metrics is not reachable through the proxy (Prometheus scrapes each process)."""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import ExitStack
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import clean_env, free_port, running_server, wait_for

CADDYFILE = Path(__file__).resolve().parents[1] / "deploy" / "Caddyfile"
TOKEN = "caddy-test-metrics-token-" + "c" * 20


def healthz_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "balise_http_requests_total" and s.labels["route"] == "/healthz")


def test_caddy_shares_requests_between_two_api_processes(tmp_path, db_url):
    caddy = shutil.which("caddy")
    assert caddy, "Caddy is needed for this test (scripts/services installs it: apt-get install caddy)"
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_RUN_JOBS_IN_SERVER="false",
                    BALISE_METRICS_TOKEN=TOKEN)
    with ExitStack() as stack:
        apis = [stack.enter_context(running_server(env))[0] for _ in range(2)]
        port = free_port()
        caddy_env = {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")},
                     "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "caddy-data"),
                     "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
                     "BALISE_SITE_ADDRESS": f"http://127.0.0.1:{port}",
                     "BALISE_UPSTREAMS": " ".join(a.removeprefix("http://") for a in apis)}
        proxy = subprocess.Popen([caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"], env=caddy_env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stack.callback(lambda: (proxy.terminate(), proxy.wait(timeout=30)))
        front = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proxy.poll() is None, proxy.stderr.read() if proxy.stderr else ""
            try:
                return httpx.get(f"{front}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        assert wait_for(up, 30), "Caddy did not start"
        before = [healthz_count(a) for a in apis]
        ids = set()
        for _ in range(10):
            answer = httpx.get(f"{front}/healthz", headers={"X-Request-ID": "client-chosen"})
            assert answer.status_code == 200
            ids.add(answer.headers["x-request-id"])
        after = [healthz_count(a) for a in apis]
        through_proxy = httpx.get(f"{front}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    served = [b - a for a, b in zip(before, after, strict=True)]
    # The first readiness probe may land anywhere; round robin then alternates.
    assert sum(served) >= 10 and min(served) >= 4, served
    # Caddy's id for each request (a UUID), not the client's: one id per request in both logs.
    assert len(ids) == 10 and all(len(i) == 36 for i in ids)
    assert through_proxy.status_code == 404
