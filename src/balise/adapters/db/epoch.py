"""The credential epoch: one counter that database triggers raise whenever what a credential
allows may have changed (migration 0032). Caches of authentication compare it on every
request: the same value means nothing they hold changed; None (the row is missing, as right
after a TRUNCATE) means do not cache at all.

On PostgreSQL the read is one statement in autocommit on a pooled connection (no BEGIN, no
COMMIT: one round trip instead of three); it is made so when the caller's session has not
started a transaction yet, as at the start of a request. On SQLite, and inside a transaction
already begun, it is read in the session."""

from __future__ import annotations

import weakref

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from balise.adapters.db.models import CredentialEpoch

# Built once: it runs on every authenticated request.
_READ = select(CredentialEpoch.epoch).where(CredentialEpoch.id == 1)


_AUTOCOMMIT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def credential_epoch(session: Session) -> int | None:
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and not session.in_transaction():
        autocommit = _AUTOCOMMIT.get(bind)
        if autocommit is None:
            # Shares the engine's pool; psycopg's autocommit is a client-side switch.
            autocommit = _AUTOCOMMIT[bind] = bind.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn:
            return conn.execute(_READ).scalar_one_or_none()
    return session.execute(_READ).scalar_one_or_none()
