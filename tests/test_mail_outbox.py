"""The embedded default keeps notice emails as .eml files under the data directory: one file
per notice, written atomically, readable only by the service."""

from __future__ import annotations

import email
import email.policy
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from balise.domain.mail import parse_sender
from balise.ports import DeliveryError, OutgoingEmail
from balise.takedown.adapters.mail_outbox import TEMP_PREFIX, OutboxMailer

SENDER = parse_sender("Balise DEMO Centre <notices@centre.example>")
REFERENCE = "BAL-N-20261123-ABCDEFGH"


def notice(**overrides: object) -> OutgoingEmail:
    values: dict[str, object] = {
        "to": "abuse@host.example",
        "subject": f"Meldung – Ref. {REFERENCE}",
        "body": "DEMO: keine Inhalte, nur Referenzen.\n",
        "reference": REFERENCE,
        "language": "de",
    }
    values.update(overrides)
    return OutgoingEmail(**values)  # type: ignore[arg-type]


def outbox(tmp_path: Path, when: datetime = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)) -> OutboxMailer:
    return OutboxMailer(tmp_path / "outbox", SENDER, lambda: when)


def test_each_message_is_an_eml_file_named_by_its_reference(tmp_path):
    result = outbox(tmp_path).send(notice())
    path = tmp_path / "outbox" / f"{REFERENCE}.eml"
    assert result.channel == "outbox" and str(path) in result.response
    assert result.message_id == f"<{REFERENCE}@centre.example>"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Message-ID"] == result.message_id
    assert message["X-Balise-Reference"] == REFERENCE
    assert message["To"] == "abuse@host.example"
    assert message["Subject"] == f"Meldung – Ref. {REFERENCE}"
    assert message["Content-Language"] == "de"
    assert message.get_content().replace("\r\n", "\n") == notice().body


def test_files_are_readable_by_the_service_only(tmp_path):
    outbox(tmp_path).send(notice())
    assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "outbox" / f"{REFERENCE}.eml").stat().st_mode) == 0o600


def test_a_retried_send_replaces_the_same_file(tmp_path):
    outbox(tmp_path, datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)).send(notice())
    outbox(tmp_path, datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc)).send(notice())
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == [f"{REFERENCE}.eml"]
    message = email.message_from_bytes((tmp_path / "outbox" / files[0]).read_bytes(), policy=email.policy.default)
    assert message["Date"].datetime.hour == 11


def test_two_notices_are_two_files(tmp_path):
    box = outbox(tmp_path)
    box.send(notice())
    box.send(notice(reference="BAL-N-20261123-ZYXWVUTS"))
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [
        f"{REFERENCE}.eml", "BAL-N-20261123-ZYXWVUTS.eml"]


@pytest.mark.parametrize(("field", "value", "code"), [
    ("to", "abuse(at)host.example", "invalid_address"),
    ("to", "abuse@host.example\n", "invalid_address"),
    ("reference", "BAL-N-20261123-ABCDEFGH\n", "invalid_message"),
    ("reference", "../escape", "invalid_message"),
    ("reference", ".hidden", "invalid_message"),
    ("subject", "two\nlines", "invalid_message"),
])
def test_bad_messages_are_refused_and_nothing_is_written(tmp_path, field, value, code):
    with pytest.raises(DeliveryError) as err:
        outbox(tmp_path).send(notice(**{field: value}))
    assert not err.value.retryable and err.value.code == code
    assert not (tmp_path / "outbox").exists()
    assert not (tmp_path / "escape.eml").exists()


def test_a_failed_write_leaves_no_partial_file_and_is_retryable(tmp_path):
    # A directory where the file should go makes the final rename fail after the content was
    # written to its temporary name.
    (tmp_path / "outbox" / f"{REFERENCE}.eml").mkdir(parents=True)
    with pytest.raises(DeliveryError) as err:
        outbox(tmp_path).send(notice())
    assert err.value.retryable and err.value.code == "outbox_write"
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [f"{REFERENCE}.eml"]
    assert not any(p.name.startswith(TEMP_PREFIX) for p in (tmp_path / "outbox").iterdir())


def test_a_rendered_notice_is_kept_exactly_as_it_would_be_sent(tmp_path):
    from balise.takedown.notice_templates import render_notice

    rendered = render_notice("host_notice", "fr", {
        "reference": REFERENCE, "sender_name": "Centre DEMO", "reply_to": "notices@centre.example",
        "urls": ["https://host.example/demo"], "assessed_at": datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc),
        "legal_basis": ["dsa_art16"],
    })
    outbox(tmp_path).send(OutgoingEmail(to="abuse@host.example", subject=rendered.subject, body=rendered.body,
                                        reference=REFERENCE, reply_to="notices@centre.example",
                                        language=rendered.language_used))
    kept = email.message_from_bytes((tmp_path / "outbox" / f"{REFERENCE}.eml").read_bytes(), policy=email.policy.default)
    assert kept["Subject"] == rendered.subject
    assert kept.get_content().replace("\r\n", "\n") == rendered.body
