"""With the report number and secret the reporter sees a plain-language status; a wrong
secret or number gets one generic message. The secret is stored only as a keyed hash."""

from __future__ import annotations

from balise.adapters.db.models import ReportEvent
from balise.domain.states import ReportState
from tests.public_support import lookup, receipt, status_text, stored, submit

GENERIC = "We could not find a report with this number and secret code. Check them and try again."


def test_status_with_number_and_secret(client, balise):
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/s").text)
    r = lookup(client, number, secret)
    assert r.status_code == 200 and status_text(r.text) == "Received"
    balise.run_jobs()
    # Case, spaces and dashes do not matter; nor do O/0 and I/L/1 look-alikes.
    r = lookup(client, number.lower().replace("-", " "), secret.lower().replace("-", ""))
    assert status_text(r.text) == "Being looked at"
    r = lookup(client, number, secret, lang="de")
    assert status_text(r.text) == "Wird geprüft" and '<html lang="de">' in r.text


def test_police_and_closed_states_in_plain_words_without_internal_details(client, balise):
    number, secret = receipt(submit(client, "fr", url="https://benign.example.test/p").text)
    balise.run_jobs()
    _, report = stored(balise, number)
    with balise.db.transaction() as session:
        row = session.get(type(report), report.id)
        row.state = ReportState.FORWARDED_EUROPOL_AND_STATE.value
        row.decided_by = "analyst-secret-name"
        row.outcome_text = "INTERNAL NOTE"
        row.events.append(ReportEvent(from_state="in_assessment", to_state=row.state, actor_type="staff",
                                      actor_id="analyst-secret-name", reason="INTERNAL REASON"))
    r = lookup(client, number, secret, lang="fr")
    assert status_text(r.text) == "Transmis à la police"
    for hidden in ("analyst-secret-name", "INTERNAL", "forwarded", str(report.id)):
        assert hidden not in r.text
    with balise.db.transaction() as session:
        session.get(type(report), report.id).state = ReportState.MANIFESTLY_UNFOUNDED.value
    assert status_text(lookup(client, number, secret, lang="en").text) == "Closed"


def test_wrong_secret_and_wrong_number_get_the_same_generic_message(client, balise):
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/w").text)
    wrong_secret = lookup(client, number, "AAAA-BBBB-CCCC-DDDD")
    wrong_number = lookup(client, "BAL-ZZZZ-ZZZZ", secret)
    garbage = lookup(client, "<b>nonsense</b>", "x")
    for r in (wrong_secret, wrong_number, garbage):
        assert r.status_code == 404 and GENERIC in r.text and status_text(r.text) is None
    assert "&lt;b&gt;nonsense&lt;/b&gt;" in garbage.text


def test_secret_is_stored_only_as_a_keyed_hash(client, balise):
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/h").text)
    row, _ = stored(balise, number)
    plain = secret.replace("-", "")
    assert plain not in row.secret_hash and secret not in row.secret_hash and len(row.secret_hash) == 64
    import hashlib

    assert row.secret_hash != hashlib.sha256(plain.encode()).hexdigest()  # keyed, not a bare hash


def test_missing_number_or_secret_is_explained_per_field(client):
    from tests.public_support import field_error

    r = lookup(client, "", "", lang="de")
    assert r.status_code == 422
    assert field_error(r.text, "number") == "Bitte gib deine Meldungsnummer ein."
    assert field_error(r.text, "secret") == "Bitte gib deinen Geheimcode ein."
