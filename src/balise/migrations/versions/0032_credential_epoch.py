"""credential_epoch: a counter raised by triggers whenever a credential or grant may have changed (issue 19 item 2)

Each API process caches authenticated keys, /ispws credentials and access grants while this
counter stays the same; one indexed one-row read per request replaces the key, organisation
and grant reads. Triggers raise it, so every path that changes a credential (services, CLI,
a database administrator's UPDATE) invalidates every process's cache at once.

A later migration that rebuilds one of these tables in SQLite batch mode drops its triggers:
it must create them again (``create_triggers``); tests/test_api_keys_are_verified_from_a_cache_that_a_revocation_empties.py
fails when a trigger is missing.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02 15:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0032'
down_revision: Union[str, Sequence[str], None] = '0031'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> the columns whose change alters what a credential allows (an UPDATE of others,
# such as access_grants.last_used_at noted by match queries, leaves the caches alone).
WATCHED = {
    'api_keys': ('organisation_id', 'prefix', 'secret_hash', 'scopes', 'revoked_at'),
    'ispws_credentials': ('organisation_id', 'username', 'secret_hash', 'revoked_at'),
    'organisations': ('name', 'suspended_at'),
    'access_grants': ('organisation_id', 'databases', 'operations', 'purpose', 'valid_from', 'valid_until',
                      'state'),
}
BUMP = "UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1"


def create_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE OR REPLACE FUNCTION balise_credential_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {BUMP}; PERFORM pg_notify('balise_credentials', ''); RETURN NULL; END $$")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_credential_epoch AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION balise_credential_epoch_bump()")
        return
    for table, columns in WATCHED.items():
        for name, when in (('insert', 'AFTER INSERT'), ('delete', 'AFTER DELETE'),
                           ('update', f"AFTER UPDATE OF {', '.join(columns)}")):
            op.execute(f"CREATE TRIGGER {table}_credential_epoch_{name} {when} ON {table} BEGIN {BUMP}; END")


def drop_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_credential_epoch ON {table}")
        op.execute("DROP FUNCTION IF EXISTS balise_credential_epoch_bump()")
        return
    for table in WATCHED:
        for name in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_credential_epoch_{name}")


def upgrade() -> None:
    """Upgrade schema."""
    epoch = op.create_table('credential_epoch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_epoch'))
    )
    op.bulk_insert(epoch, [{'id': 1, 'epoch': 0}])
    create_triggers()


def downgrade() -> None:
    """Downgrade schema."""
    drop_triggers()
    op.drop_table('credential_epoch')
