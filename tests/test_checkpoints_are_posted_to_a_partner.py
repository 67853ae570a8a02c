"""With BALISE_CHECKPOINT_WEBHOOK_URL, each checkpoint (and its timestamp token) is POSTed to a
partner, whose copy verifies like the centre's own. A partner that fails does not stop the
checkpoint being written; the failure is reported and recorded."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from tests.checkpoint_support import add_events, checkpoint_balise, cli_env
from tests.cli_support import run_cli
from tests.tsa_server import local_tsa

SYSTEM = Actor.system("test")


@contextmanager
def partner(status: int = 204) -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append({"headers": dict(self.headers), "body": json.loads(body)})
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints", received
    finally:
        server.shutdown()
        server.server_close()


def test_the_partner_receives_the_file_and_token_and_its_copy_verifies(tmp_path, db_url):
    with partner() as (url, received), local_tsa() as tsa:
        balise = checkpoint_balise(tmp_path, db_url, checkpoint_webhook_url=url, tsa_url=tsa.url)
        try:
            add_events(balise, 3)
            written = balise.checkpoints.write(SYSTEM)
            assert written.delivered is True
            [post] = received
            assert post["headers"]["x-balise-checkpoint"] == written.path.name
            assert base64.b64decode(post["body"]["checkpoint"]) == written.path.read_bytes()
            assert base64.b64decode(post["body"]["timestamp_token"]) == written.path.with_suffix(".tsr").read_bytes()
            # The partner keeps its copy; verified against the centre's database it agrees.
            copy = tmp_path / "partner-copy"
            copy.mkdir()
            (copy / post["body"]["name"]).write_bytes(base64.b64decode(post["body"]["checkpoint"]))
            result = run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(copy))
            assert result.returncode == 0, result.stdout
        finally:
            balise.close()


def test_a_partner_answering_an_error_is_reported_and_the_file_is_still_written(tmp_path, db_url):
    with partner(status=503) as (url, received):
        balise = checkpoint_balise(tmp_path, db_url, checkpoint_webhook_url=url)
        try:
            written = balise.checkpoints.write(SYSTEM)
            assert written.path.exists() and written.delivered is False and len(received) == 1
            assert "answered HTTP 503" in written.problems[0]
            with balise.db.sessions() as s:
                event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "audit:checkpoint")).scalar_one()
            assert event.details["delivered"] is False
        finally:
            balise.close()


def test_an_unreachable_partner_is_reported_by_the_cli(tmp_path, db_url):
    balise = checkpoint_balise(tmp_path, db_url)
    try:
        env = {**cli_env(balise), "BALISE_CHECKPOINT_WEBHOOK_URL": "http://127.0.0.1:9/checkpoints",
               "BALISE_WEBHOOK_TIMEOUT_SECONDS": "2"}
        result = run_cli(env, "audit", "checkpoint")
        assert result.returncode == 0 and "NOT delivered" in result.stdout
        assert "not delivered to the partner" in result.stderr
    finally:
        balise.close()
