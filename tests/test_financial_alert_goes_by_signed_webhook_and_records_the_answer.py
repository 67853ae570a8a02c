"""An analyst alerts a DEMO payment partner about one payment identifier of a report: the
`financial_alert` notice carries only the identifier, the report reference, the reason and a
confirmation request, is delivered to the partner's webhook signed with its secret, and the
partner's answer is recorded (audited) and counted. An unvalidated identifier, a partner that
is not financial, an unknown reason or outcome are refused and store nothing."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, FinancialAlert, Notice
from balise.intelligence.financial import AlertError
from balise.takedown.adapters.webhook import verify_webhook_signature
from tests.cli_support import run_cli
from tests.entities_support import BAD_BTC, CARD, WALLET, file_report
from tests.servers import clean_env
from tests.takedown_support import answer_receipt

ANALYST = Actor.staff("00000000-0000-0000-0000-0000000000a1", "ana")
SECRET = "DEMO-shared-secret-for-the-payment-partner"


@pytest.fixture
def partner_hook():
    received: list[tuple[dict, dict]] = []

    class Partner(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            verify_webhook_signature(SECRET, self.headers.get("Balise-Signature"), body)
            received.append((dict(self.headers), json.loads(body)))
            answer_receipt(self, "DEMO-PSP-7")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()


def test_alert_is_minimal_signed_delivered_and_answered(balise, client, provider, partner_hook, tmp_path, db_url):
    url, received = partner_hook
    _, key = provider
    report = file_report(client, key, [{"role": "reported_user", "display_name": "DEMO suspect name",
                                        "identifiers": [{"type": "crypto_wallet", "value": WALLET},
                                                        {"type": "crypto_wallet", "value": BAD_BTC},
                                                        {"type": "payment", "value": CARD},
                                                        {"type": "email", "value": "suspect@demo.example"}]}])
    balise.run_jobs()
    with balise.db.transaction() as s:
        psp = balise.partners.create(s, Actor.system("test"), kind="payment_provider", country="FR",
                                     name="DEMO Payment Provider", channel="webhook", endpoint=url,
                                     languages=["en"], webhook_secret=SECRET, verified=True)
        hotline = balise.partners.create(s, Actor.system("test"), kind="hotline", country="FR", name="DEMO Hotline",
                                         channel="email", endpoint="hotline@demo.example", languages=["fr"])
        psp_id, hotline_id = psp.id, hotline.id
        identifiers = {m.kind: m.search_key for m in balise.financial.identifiers(s, report)}
    assert set(identifiers) == {"monero", "card_bin"}  # the bad wallet and the e-mail are not payment identifiers
    refusals = [
        (dict(identifier_key="0" * 64, partner_id=psp_id, reason="payment_for_csam"), "identifier"),
        (dict(identifier_key=identifiers["monero"], partner_id=hotline_id, reason="payment_for_csam"), "partner"),
        (dict(identifier_key=identifiers["monero"], partner_id=psp_id, reason="because"), "reason"),
        (dict(identifier_key=identifiers["monero"], partner_id=psp_id, reason="other"), "reason_note"),
    ]
    for kwargs, field in refusals:
        with pytest.raises(AlertError) as refused, balise.db.transaction() as s:
            balise.financial.send(s, ANALYST, report_id=report, **kwargs)
        assert refused.value.field == field
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(FinancialAlert)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Notice)).scalar_one() == 0

    with balise.db.transaction() as s:
        alert = balise.financial.send(s, ANALYST, report_id=report, identifier_key=identifiers["monero"],
                                      partner_id=psp_id, reason="sextortion_payment")
        reference = alert.reference
    with pytest.raises(AlertError, match="already sent"), balise.db.transaction() as s:
        balise.financial.send(s, ANALYST, report_id=report, identifier_key=identifiers["monero"],
                              partner_id=psp_id, reason="sextortion_payment")
    balise.run_jobs()
    (headers, delivery), = received
    text = json.dumps(delivery)
    assert reference in text and WALLET in text and str(report) in text and "confirm" in text.lower()
    for private in ("suspect@demo.example", "DEMO suspect name", BAD_BTC, "411111"):
        assert private not in text  # only what the partner needs
    with balise.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.reference == reference)).scalar_one()
        assert (notice.kind, notice.status) == ("financial_alert", "acknowledged")

    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    bad = run_cli(env, "financial", "answer", reference, "--outcome", "vanished")
    assert bad.returncode == 2 and "outcome" in bad.stderr
    ok = run_cli(env, "financial", "answer", reference, "--outcome", "account_frozen", "--note", "DEMO frozen")
    assert ok.returncode == 0, ok.stderr
    listed = run_cli(env, "financial", "list", "--report", str(report))
    assert reference in listed.stdout and "account_frozen" in listed.stdout
    with balise.db.sessions() as s:
        assert balise.financial.figures(s) == {"alerts": 1, "account_frozen": 1}
        events = [e.event_type for e in s.execute(select(AuditRecord).where(
            AuditRecord.event_type.like("financial:%")).order_by(AuditRecord.seq)).scalars()]
    assert events == ["financial:alert", "financial:answer"]


def test_an_analyst_decides_the_alert_on_the_links_page(balise, client, provider):
    from fastapi.testclient import TestClient

    from balise.web.app import create_app
    from tests.helpers import csrf_token, make_user, sign_in

    _, key = provider
    report = file_report(client, key, [{"role": "reported_user", "identifiers": [
        {"type": "crypto_wallet", "value": WALLET}]}])
    balise.run_jobs()
    with balise.db.transaction() as s:
        bank = balise.partners.create(s, Actor.system("test"), kind="crypto_exchange", country="FR",
                                      name="DEMO Exchange", channel="email", endpoint="alerts@exchange.demo.example",
                                      languages=["fr"])
        bank_id = bank.id
        (wallet,) = balise.financial.identifiers(s, report)
        wallet_key = wallet.search_key
    make_user(balise, "ana", "analyst")
    make_user(balise, "lea", "le-liaison")
    form = {"identifier": wallet_key, "partner": str(bank_id), "reason": "payment_for_csam"}
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "lea")
        token = csrf_token(c.get("/ui/intelligence").text)
        assert c.post(f"/ui/reports/{report}/financial-alerts", data={**form, "csrftoken": token},
                      follow_redirects=False).status_code == 403
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "ana")
        token = csrf_token(c.get(f"/ui/reports/{report}").text)
        page = c.post(f"/ui/reports/{report}/entities", data={"purpose": "decide an alert", "csrftoken": token})
        assert "DEMO Exchange (crypto-currency exchange)" in page.text and "Send the alert" in page.text
        sent = c.post(f"/ui/reports/{report}/financial-alerts", data={**form, "csrftoken": token},
                      follow_redirects=False)
        assert sent.status_code == 303 and "queued" in c.get(sent.headers["location"]).text
        page = c.post(f"/ui/reports/{report}/entities", data={"purpose": "check the alert", "csrftoken": token})
        assert "paid for child sexual abuse material" in page.text and "awaiting" in page.text
    with balise.db.sessions() as s:
        (alert,) = s.execute(select(FinancialAlert)).scalars().all()
        notice = s.execute(select(Notice).where(Notice.reference == alert.reference)).scalar_one()
    assert notice.language == "fr" and notice.channel == "email" and alert.decided_by.startswith("staff:")
