"""Signed webhook deliveries to a real HTTP receiver on loopback: what it receives, what comes
back, and how each kind of answer is classified for the retry queue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from balise.ports import DeliveryError
from balise.takedown.adapters.webhook import HttpWebhookSender, verify_webhook_signature
from tests.servers import free_port
from tests.tls_support import make_pki

SECRET = "demo-endpoint-secret-not-secret"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
PAYLOAD = {"notice": "BAL-N-20261123-ABCDEFGH", "urls": ["https://host.example/demo"], "demo": True}


class Receiver(BaseHTTPRequestHandler):
    """Each path answers in one way; every request is recorded with its verification result."""

    server: ReceiverServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            verify_webhook_signature(SECRET, self.headers.get("Balise-Signature"), body, now=NOW)
            verified = True
        except ValueError:
            verified = False
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                     "verified": verified})
        getattr(self, "answer_" + self.path.strip("/").replace("-", "_"))()

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer_ack(self) -> None:
        self.reply(200, json.dumps({"received": True, "reference": "HOTLINE-DEMO-7"}).encode(),
                   {"Content-Type": "application/json"})

    def answer_empty(self) -> None:
        self.reply(204)

    def answer_error(self) -> None:
        self.reply(500, b"DEMO internal error")

    def answer_unavailable(self) -> None:
        self.reply(503, b"", {"Retry-After": format_datetime(NOW + timedelta(seconds=90), usegmt=True)})

    def answer_bad(self) -> None:
        self.reply(400, b'{"error": "DEMO unknown field"}')

    def answer_gone(self) -> None:
        self.reply(410)

    def answer_request_timeout(self) -> None:
        self.reply(408)

    def answer_busy(self) -> None:
        self.reply(429, b"slow down", {"Retry-After": "120"})

    def answer_moved(self) -> None:
        self.reply(302, b"", {"Location": "/ack"})

    def answer_huge(self) -> None:
        self.reply(200, b'{"received": true, "padding": "' + b"x" * 200_000 + b'"}')

    def answer_slow(self) -> None:
        # Answers only when the test is over: the sender must give up on its own.
        self.server.release.wait(10)
        self.reply(200)

    def answer_drip(self) -> None:
        # Headers at once, then one byte every 50 ms for 2 s: each read is quick, the whole
        # is four times the sender's overall deadline (a sender without one gets a 200).
        self.send_response(200)
        self.send_header("Content-Length", "40")
        self.end_headers()
        for _ in range(40):
            if self.server.release.wait(0.05):
                return
            self.wfile.write(b" ")
            self.wfile.flush()


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Receiver)
        self.requests: list[dict[str, object]] = []
        self.release = threading.Event()


@pytest.fixture
def receiver() -> Iterator[tuple[ReceiverServer, str]]:
    server = ReceiverServer(free_port())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def sender(**options: object) -> HttpWebhookSender:
    options.setdefault("timeout_s", 5.0)
    return HttpWebhookSender(clock=lambda: NOW, **options)  # type: ignore[arg-type]


def send(url: str, delivery_id: str = "delivery-0001", **options: object):  # type: ignore[no-untyped-def]
    return sender(**options).send(url, SECRET, "notice.host_notice", PAYLOAD, delivery_id)


def test_receiver_gets_a_signed_json_body_with_event_and_delivery_headers(receiver):
    server, base = receiver
    send(f"{base}/ack")
    [request] = server.requests
    assert request["verified"] is True
    headers = request["headers"]
    assert headers["Balise-Event"] == "notice.host_notice"
    assert headers["Balise-Delivery"] == "delivery-0001"
    assert headers["Content-Type"] == "application/json"
    assert headers["Balise-Signature"].startswith(f"t={int(NOW.timestamp())},v1=")
    body = json.loads(request["body"])
    assert body == {"event": "notice.host_notice", "delivery": "delivery-0001", "sent_at": "2026-11-23T10:00:00Z",
                    "data": PAYLOAD}


def test_the_acknowledgement_in_the_answer_is_returned(receiver):
    server, base = receiver
    result = send(f"{base}/ack")
    assert result.channel == "webhook" and result.status == 200 and result.message_id == "delivery-0001"
    assert result.receipt == {"received": True, "reference": "HOTLINE-DEMO-7"}


def test_a_success_without_a_body_has_no_receipt(receiver):
    _, base = receiver
    result = send(f"{base}/empty")
    assert result.status == 204 and result.receipt is None


def test_a_retried_delivery_carries_the_same_delivery_id(receiver):
    server, base = receiver
    send(f"{base}/ack", delivery_id="delivery-0042")
    send(f"{base}/ack", delivery_id="delivery-0042")
    assert [r["headers"]["Balise-Delivery"] for r in server.requests] == ["delivery-0042", "delivery-0042"]


def test_an_answer_over_the_size_cap_is_not_read_and_the_delivery_still_counts(receiver):
    _, base = receiver
    result = send(f"{base}/huge", max_response_bytes=1024)
    assert result.status == 200 and result.receipt is None
    assert "not read" in result.response


def test_500_is_retryable(receiver):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/error")
    assert err.value.retryable and err.value.code == "http_5xx" and err.value.status == 500
    assert "DEMO internal error" in err.value.message


def test_503_with_an_http_date_retry_after_exposes_the_delay(receiver):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/unavailable")
    assert err.value.retryable and err.value.status == 503 and err.value.retry_after == 90


def test_429_is_retryable_and_exposes_retry_after(receiver):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/busy")
    assert err.value.retryable and err.value.code == "http_429" and err.value.retry_after == 120


def test_408_is_retryable(receiver):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/request-timeout")
    assert err.value.retryable and err.value.code == "http_408"


@pytest.mark.parametrize(("path", "status"), [("bad", 400), ("gone", 410)])
def test_other_4xx_are_permanent(receiver, path, status):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/{path}")
    assert not err.value.retryable and err.value.code == "http_4xx" and err.value.status == status


def test_a_redirect_is_not_followed_and_is_permanent(receiver):
    server, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/moved")
    assert not err.value.retryable and err.value.code == "redirect" and "/ack" in err.value.message
    assert [r["path"] for r in server.requests] == ["/moved"]


def test_a_slow_receiver_times_out_and_is_retryable(receiver):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/slow", timeout_s=0.3)
    assert err.value.retryable and err.value.code == "timeout"


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_overall_deadline(receiver):
    _, base = receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/drip", timeout_s=5.0, overall_timeout_s=0.5)
    assert err.value.retryable and err.value.code == "timeout"


@pytest.fixture
def tls_receiver(tmp_path) -> Iterator[tuple[ReceiverServer, str, object]]:  # type: ignore[no-untyped-def]
    pki = make_pki(tmp_path / "pki")
    server = ReceiverServer(free_port())
    server.socket = pki.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"https://127.0.0.1:{server.server_address[1]}", pki
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_https_delivery_to_a_receiver_with_a_trusted_certificate(tls_receiver):
    server, base, pki = tls_receiver
    result = send(f"{base}/ack", ca_file=pki.ca_file)
    assert result.receipt == {"received": True, "reference": "HOTLINE-DEMO-7"}
    assert server.requests[0]["verified"] is True


def test_an_untrusted_certificate_is_permanent_and_nothing_is_received(tls_receiver):
    server, base, _ = tls_receiver
    with pytest.raises(DeliveryError) as err:
        send(f"{base}/ack")  # the system store does not know the test CA
    assert not err.value.retryable and err.value.code == "tls_verify"
    assert server.requests == []


def test_an_unreachable_receiver_is_retryable():
    with pytest.raises(DeliveryError) as err:
        send(f"http://127.0.0.1:{free_port()}/ack")
    assert err.value.retryable and err.value.code == "connect"


@pytest.mark.parametrize(("endpoint", "secret", "event", "payload", "delivery_id", "code"), [
    ("http://192.0.2.10/hook", SECRET, "notice.host_notice", PAYLOAD, "d-1", "invalid_endpoint"),
    ("ftp://127.0.0.1/hook", SECRET, "notice.host_notice", PAYLOAD, "d-1", "invalid_endpoint"),
    ("https://user:pw@partner.example/hook", SECRET, "notice.host_notice", PAYLOAD, "d-1", "invalid_endpoint"),
    ("not a url", SECRET, "notice.host_notice", PAYLOAD, "d-1", "invalid_endpoint"),
    ("http://127.0.0.1:1/hook", "", "notice.host_notice", PAYLOAD, "d-1", "invalid_secret"),
    ("http://127.0.0.1:1/hook", SECRET, "Notice Host", PAYLOAD, "d-1", "invalid_event"),
    ("http://127.0.0.1:1/hook", SECRET, "notice.host_notice", PAYLOAD, "d 1\r\nX-Evil: 1", "invalid_delivery_id"),
    ("http://127.0.0.1:1/hook", SECRET, "notice.host_notice", PAYLOAD, "d-1\n", "invalid_delivery_id"),
    ("http://127.0.0.1:1/hook", SECRET, "notice.host_notice\n", PAYLOAD, "d-1", "invalid_event"),
    ("http://127.0.0.1:1/hook", SECRET, "notice.host_notice", {"when": datetime(2026, 1, 1)}, "d-1", "invalid_payload"),
    ("http://127.0.0.1:1/hook", SECRET, "notice.host_notice", {"x": float("nan")}, "d-1", "invalid_payload"),
    ("http://127.0.0.1:1/hook", SECRET, "notice.host_notice", ["not", "a", "dict"], "d-1", "invalid_payload"),
])
def test_bad_input_is_refused_permanently_before_any_request(endpoint, secret, event, payload, delivery_id, code):
    # Port 1 and 192.0.2.10 (TEST-NET) have no receiver: a request would have failed as "connect".
    with pytest.raises(DeliveryError) as err:
        sender().send(endpoint, secret, event, payload, delivery_id)  # type: ignore[arg-type]
    assert not err.value.retryable and err.value.code == code
