"""The credential epoch: one counter that database triggers raise whenever what a credential
allows may have changed (migration 0032). Caches of authentication compare it on every
request: the same value means nothing they hold changed; None (the row is missing, as right
after a TRUNCATE) means do not cache at all.

Read it through ``Database.read_sessions`` where it starts a request: on PostgreSQL that is
one statement in autocommit (no BEGIN, no COMMIT: one round trip instead of three)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.adapters.db.models import CredentialEpoch

# Built once: it runs on every authenticated request.
_READ = select(CredentialEpoch.epoch).where(CredentialEpoch.id == 1)


def credential_epoch(session: Session) -> int | None:
    return session.execute(_READ).scalar_one_or_none()
