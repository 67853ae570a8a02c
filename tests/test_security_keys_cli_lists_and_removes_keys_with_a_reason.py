"""`balise user keys USER` lists an account's security keys; `balise user remove-key USER KEY_ID
--reason R` removes one, audited with the actor `cli` and the reason; `balise user reset-2fa`
removes them all. Bad input — an unknown user, a key id that is not one, another account's key,
an empty reason — is refused with a precise error, a non-zero exit code and nothing changed."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, SecurityKey
from tests.cli_support import run_cli
from tests.helpers import make_user
from tests.test_security_key_answers_with_bad_input_are_refused_generically_and_audited import b64


def env_of(settings):  # type: ignore[no-untyped-def]
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
            "BALISE_DATABASE_URL": settings.sqlalchemy_url}


def add_key(balise, username: str, name: str) -> str:  # type: ignore[no-untyped-def]
    with balise.db.transaction() as session:
        user = balise.users.get(session, username)
        key = SecurityKey(user_id=user.id, credential_id=b64(name.encode()), public_key=b"\xa1\x01\x02", sign_count=0,
                          name=name, created_at=balise.clock())
        session.add(key)
        session.flush()
        return str(key.id)


def state(balise):  # type: ignore[no-untyped-def]
    with balise.db.sessions() as s:
        keys = sorted((k.name, k.removed_at is None) for k in s.execute(select(SecurityKey)).scalars())
        return keys, s.execute(select(func.count()).select_from(AuditRecord)).scalar_one()


def test_keys_are_listed_and_one_is_removed_with_its_reason(settings, balise):
    env = env_of(settings)
    make_user(balise, "ana", "analyst")
    assert run_cli(env, "user", "keys", "ana").stdout.strip() == "ana has no security key"
    desk = add_key(balise, "ana", "Desk key")
    add_key(balise, "ana", "Spare key")
    table = run_cli(env, "user", "keys", "ana")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ADDED", "LAST", "USED"]
    assert lines[1].startswith(desk) and "Desk key" in lines[1] and lines[1].endswith("never")
    rows = json.loads(run_cli(env, "user", "keys", "ana", "--format", "json").stdout)
    assert [(r["name"], r["last_used"]) for r in rows] == [("Desk key", None), ("Spare key", None)]

    removed = run_cli(env, "user", "remove-key", "ana", desk, "--reason", "left on a train")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "removed security key 'Desk key' of ana"
    assert [r["name"] for r in json.loads(run_cli(env, "user", "keys", "ana", "--format", "json").stdout)] == ["Spare key"]
    with balise.db.sessions() as s:
        record = s.execute(select(AuditRecord).where(AuditRecord.event_type == "user:security_key_remove")).scalar_one()
    assert (record.actor_type, record.actor_id) == ("system", "cli")
    assert (record.details["key"], record.details["reason"]) == (desk, "left on a train")

    # A second-factor reset removes the rest.
    assert run_cli(env, "user", "reset-2fa", "ana", "--reason", "lost everything").returncode == 0
    assert run_cli(env, "user", "keys", "ana").stdout.strip() == "ana has no security key"


def test_bad_input_is_refused_and_changes_nothing(settings, balise):
    env = env_of(settings)
    make_user(balise, "ana", "analyst")
    make_user(balise, "bob", "analyst")
    desk = add_key(balise, "ana", "Desk key")
    before = state(balise)
    for args, message in (
        (("ghost", desk, "--reason", "x"), "no user 'ghost'"),
        (("ana", "not-a-key", "--reason", "x"), "'not-a-key' is not a key id"),
        (("bob", desk, "--reason", "x"), f"'bob' has no security key '{desk}'"),
        (("ana", desk, "--reason", "  "), "a reason is required"),
    ):
        result = run_cli(env, "user", "remove-key", *args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert state(balise) == before
    unknown = run_cli(env, "user", "keys", "ghost")
    assert unknown.returncode == 1 and "no user 'ghost'" in unknown.stderr
    assert run_cli(env, "user", "keys", "ana", "--format", "xml").returncode == 2
