"""With BALISE_CHECKPOINT_MAIL_TO, each checkpoint is mailed (through a real SMTP server on
loopback here): the file as it is and its timestamp token, so that the partner's copy verifies.
A mail server that refuses leaves the checkpoint written and says so; a malformed address is
refused at start."""

from __future__ import annotations

import base64
import re

import pytest
from pydantic import ValidationError

from balise.accounts.actors import Actor
from balise.settings import Settings
from tests.checkpoint_support import add_events, checkpoint_balise, cli_env
from tests.cli_support import run_cli
from tests.takedown_support import mailbox
from tests.tsa_server import local_tsa

SYSTEM = Actor.system("test")
PARTNER = "audit-copies@partner.demo.invalid"


def test_the_partner_receives_a_copy_that_verifies(tmp_path, db_url):
    with mailbox() as box, local_tsa() as tsa:
        balise = checkpoint_balise(tmp_path, db_url, checkpoint_mail_to=PARTNER, tsa_url=tsa.url,
                                   smtp_url=f"smtp://127.0.0.1:{box.port}", mail_from="Balise DEMO <audit@centre.demo.invalid>")
        try:
            add_events(balise, 3)
            written = balise.checkpoints.write(SYSTEM)
            assert written.delivered is True
            [message] = box.messages
            assert box.recipients == [[PARTNER]] and message["Subject"] == f"Audit checkpoint {written.path.name}"
            body = message.get_payload(decode=True).decode()
            name = written.path.name
            body = body.replace("\r\n", "\n")
            saved = re.search(rf"----- BEGIN {re.escape(name)} -----\n(.*)\n----- END {re.escape(name)} -----", body, re.DOTALL)
            token = base64.b64decode("".join(body.split("DER in base64):\n", 1)[1].split()))
            assert token == written.path.with_suffix(".tsr").read_bytes()
            copy = tmp_path / "partner-mailbox"
            copy.mkdir()
            (copy / name).write_text(saved.group(1) + "\n")
            (copy / name).with_suffix(".tsr").write_bytes(token)
            result = run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(copy))
            assert result.returncode == 0 and "(1 timestamped)" in result.stdout, result.stdout
        finally:
            balise.close()


def test_an_unreachable_mail_server_leaves_the_checkpoint_written(tmp_path, db_url):
    balise = checkpoint_balise(tmp_path, db_url, checkpoint_mail_to=PARTNER, smtp_url="smtp://127.0.0.1:9",
                               mail_from="Balise DEMO <audit@centre.demo.invalid>", smtp_timeout_seconds=2)
    try:
        written = balise.checkpoints.write(SYSTEM)
        assert written.path.exists() and written.delivered is False
        assert written.problems[0].startswith("not delivered to the partner by mail")
    finally:
        balise.close()


@pytest.mark.parametrize("value", ["not an address", "a@b.example, c@d.example", "x@y\n.example"])
def test_a_malformed_address_is_refused(tmp_path, value):
    with pytest.raises(ValidationError, match="BALISE_CHECKPOINT_MAIL_TO must be one e-mail address"):
        Settings(data_dir=tmp_path, checkpoint_mail_to=value)
