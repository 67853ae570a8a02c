"""The Staff accounts page shows how many security keys each account has; an administrator's
second-factor reset on the page removes them all (each audited as user:security_key_remove
with the administrator's reason), so a lost key no longer signs anyone in and the next sign-in
asks for the TOTP code of the newly enrolled authenticator."""

from __future__ import annotations

import re

from sqlalchemy import select

from balise.adapters.db.models import SecurityKey
from tests.helpers import csrf_token, make_user, sign_in
from tests.security_key_support import events
from tests.test_security_keys_cli_lists_and_removes_keys_with_a_reason import add_key


def test_reset_on_the_page_removes_the_keys(client, balise):
    make_user(balise, "root", "admin")
    make_user(balise, "ana", "analyst")
    add_key(balise, "ana", "Desk key")
    add_key(balise, "ana", "Spare key")
    sign_in(client, balise, "root")
    page = client.get("/ui/users")
    row = re.search(r'<tr id="user-ana">.*?</tr>', page.text, re.S).group(0)
    assert '<td class="key-count">2</td>' in row
    with balise.db.sessions() as session:
        ana_id = balise.users.get(session, "ana").id
    answer = client.post(f"/ui/users/{ana_id}/second-factor", data={"reason": "lost her keys",
                                                                      "csrftoken": csrf_token(page.text)})
    assert answer.status_code == 200 and 'id="enrolment-link"' in answer.text
    row = re.search(r'<tr id="user-ana">.*?</tr>', answer.text, re.S).group(0)
    assert '<td class="key-count">0</td>' in row
    removed = events(balise, "user:security_key_remove")
    assert sorted((e["name"], e["reason"]) for e in removed) == [("Desk key", "lost her keys"), ("Spare key", "lost her keys")]
    with balise.db.sessions() as session:
        assert all(k.removed_at is not None for k in session.execute(select(SecurityKey)).scalars())
        assert balise.security_keys.has_key(session, balise.users.get(session, "ana")) is False
