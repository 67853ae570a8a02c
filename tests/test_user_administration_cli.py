"""`balise user list|disable|enable|set-role|reset-2fa`: each change audited with the actor `cli`
and the reason; each kind of bad input refused with a precise error, a non-zero exit code and
nothing changed."""

from __future__ import annotations

import json
import re

import pyotp
import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.accounts.users import UserError
from balise.adapters.db.models import AuditRecord, User
from tests.cli_support import run_cli
from tests.helpers import make_user


@pytest.fixture
def env(settings):
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
            "BALISE_DATABASE_URL": settings.sqlalchemy_url}


def snapshot(balise):
    """Everything a refused command must leave as it was."""
    with balise.db.sessions() as s:
        users = [(u.username, u.role, u.active, u.totp_secret_enc) for u in s.execute(select(User).order_by(User.username)).scalars()]
        return users, s.execute(select(func.count()).select_from(AuditRecord)).scalar_one()


def audit(balise, event):
    with balise.db.sessions() as s:
        return s.execute(select(AuditRecord).where(AuditRecord.event_type == event)).scalars().all()


def test_list_shows_each_account_as_a_table_and_as_json(env, balise):
    make_user(balise, "ana", "analyst")
    make_user(balise, "root", "admin")
    assert run_cli(env, "user", "disable", "ana", "--reason", "left the team").returncode == 0
    table = run_cli(env, "user", "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "ACTIVE", "2FA", "LAST", "SIGN-IN"]
    assert lines[1].split() == ["ana", "analyst", "disabled", "TOTP", "never"]
    assert lines[2].split() == ["root", "admin", "yes", "TOTP", "never"]
    rows = json.loads(run_cli(env, "user", "list", "--format", "json").stdout)
    assert rows == [
        {"username": "ana", "role": "analyst", "active": False, "totp_enrolled": True, "last_sign_in": None},
        {"username": "root", "role": "admin", "active": True, "totp_enrolled": True, "last_sign_in": None},
    ]
    bad = run_cli(env, "user", "list", "--format", "xml")
    assert bad.returncode == 2 and "unknown format 'xml'" in bad.stderr


def test_disable_and_enable_are_audited_with_cli_and_the_reason(env, balise):
    make_user(balise, "ana", "analyst")
    result = run_cli(env, "user", "disable", "ana", "--reason", "left the team")
    assert result.returncode == 0 and "disabled ana" in result.stdout
    with balise.db.sessions() as s:
        assert balise.users.get(s, "ana").active is False
    (record,) = audit(balise, "user:disable")
    assert record.actor_id == "cli" and record.details == {"username": "ana", "reason": "left the team"}
    result = run_cli(env, "user", "enable", "ana", "--reason", "came back")
    assert result.returncode == 0 and "enabled ana" in result.stdout
    with balise.db.sessions() as s:
        assert balise.users.get(s, "ana").active is True
    (record,) = audit(balise, "user:enable")
    assert record.actor_id == "cli" and record.details["reason"] == "came back"


def test_set_role_is_audited_with_old_and_new_role(env, balise):
    make_user(balise, "ana", "analyst")
    result = run_cli(env, "user", "set-role", "ana", "senior-analyst", "--reason", "promoted")
    assert result.returncode == 0 and "ana is now senior-analyst" in result.stdout
    with balise.db.sessions() as s:
        assert balise.users.get(s, "ana").role == "senior-analyst"
    (record,) = audit(balise, "user:role_change")
    assert record.actor_id == "cli"
    assert record.details == {"username": "ana", "reason": "promoted", "from": "analyst", "to": "senior-analyst"}


def test_reset_2fa_prints_a_new_secret_once_and_the_old_one_stops_working(env, balise):
    make_user(balise, "ana", "analyst")
    with balise.db.sessions() as s:
        old_code = balise.users.current_totp(balise.users.get(s, "ana"))
    result = run_cli(env, "user", "reset-2fa", "ana", "--reason", "lost phone")
    assert result.returncode == 0, result.stderr
    secret = re.search(r"TOTP secret \(shown once\): ([A-Z2-7]{32})$", result.stdout, re.MULTILINE).group(1)
    new_code = pyotp.TOTP(secret).now()
    with balise.db.transaction() as s:
        user = balise.users.get(s, "ana")
        if old_code != new_code:  # one chance in a million that the two secrets agree this step
            assert not balise.users.check_totp(user, old_code)
        assert balise.users.check_totp(user, new_code)
    (record,) = audit(balise, "user:reset_totp")
    assert record.actor_id == "cli" and record.details == {"username": "ana", "reason": "lost phone"}
    assert secret not in json.dumps(record.details)


@pytest.mark.parametrize(("args", "code", "message"), [
    (("user", "disable", "ghost", "--reason", "x"), 1, "no user 'ghost'"),
    (("user", "enable", "ghost", "--reason", "x"), 1, "no user 'ghost'"),
    (("user", "set-role", "ghost", "auditor", "--reason", "x"), 1, "no user 'ghost'"),
    (("user", "reset-2fa", "ghost", "--reason", "x"), 1, "no user 'ghost'"),
    (("user", "set-role", "ana", "overlord", "--reason", "x"), 2, "'overlord' is not one of"),
    (("user", "disable", "ana"), 2, "Missing option '--reason'"),
    (("user", "set-role", "ana", "auditor"), 2, "Missing option '--reason'"),
    (("user", "reset-2fa", "ana"), 2, "Missing option '--reason'"),
    (("user", "disable", "ana", "--reason", "   "), 1, "a reason is required (--reason) and cannot be empty"),
    (("user", "enable", "ana", "--reason", ""), 1, "a reason is required (--reason) and cannot be empty"),
    (("user", "reset-2fa", "ana", "--reason", ""), 1, "a reason is required (--reason) and cannot be empty"),
    (("user", "enable", "ana", "--reason", "x"), 1, "'ana' is already enabled"),
    (("user", "set-role", "ana", "analyst", "--reason", "x"), 1, "'ana' already has the role analyst"),
    (("user", "disable", "root", "--reason", "x"), 1, "'root' is the last active admin; make another admin first"),
    (("user", "set-role", "root", "auditor", "--reason", "x"), 1, "'root' is the last active admin"),
])
def test_bad_input_is_refused_precisely_and_changes_nothing(env, balise, args, code, message):
    make_user(balise, "ana", "analyst")
    make_user(balise, "root", "admin")
    before = snapshot(balise)
    result = run_cli(env, *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert message in " ".join(result.stderr.split()), result.stderr
    assert snapshot(balise) == before


def test_an_admin_can_be_disabled_while_another_admin_remains(env, balise):
    make_user(balise, "root", "admin")
    make_user(balise, "root2", "admin")
    assert run_cli(env, "user", "disable", "root", "--reason", "left").returncode == 0
    # root2 is now the last active admin: a disabled admin does not count.
    result = run_cli(env, "user", "disable", "root2", "--reason", "left")
    assert result.returncode == 1 and "'root2' is the last active admin" in result.stderr


def test_the_service_refuses_an_admin_disabling_or_demoting_themselves(balise):
    make_user(balise, "root", "admin")
    make_user(balise, "root2", "admin")
    before = snapshot(balise)
    with balise.db.transaction() as s:
        me = balise.users.get(s, "root")
        actor = Actor.staff(str(me.id), "root")
        with pytest.raises(UserError, match="you cannot disable your own account"):
            balise.users.disable(s, actor, "root", "tired")
        with pytest.raises(UserError, match="you cannot lower your own role"):
            balise.users.set_role(s, actor, "root", "auditor", "tired")
    assert snapshot(balise) == before
