"""takedown fixes: one pending job per dedupe key, look-alike host flags, PDQ distance of removal checks

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    """Upgrade schema."""
    # Before the index can exist, keep one pending job per key (the oldest); the others would
    # have repeated its work.
    op.execute(
        "UPDATE jobs SET status = 'done', last_error = 'superseded by an older pending job with the same key' "
        "WHERE status = 'pending' AND dedupe_key IS NOT NULL AND id NOT IN "
        "(SELECT keep FROM (SELECT MIN(id) AS keep FROM jobs WHERE status = 'pending' AND dedupe_key IS NOT NULL "
        "GROUP BY dedupe_key) AS oldest)")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('uq_jobs_pending_dedupe_key', ['dedupe_key'], unique=True,
                              postgresql_where=PENDING, sqlite_where=PENDING)
    with op.batch_alter_table('url_hosting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host_unicode', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('host_flags', sa.JSON(), nullable=True))
    with op.batch_alter_table('takedown_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdq_distance', sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('takedown_checks', schema=None) as batch_op:
        batch_op.drop_column('pdq_distance')
    with op.batch_alter_table('url_hosting', schema=None) as batch_op:
        batch_op.drop_column('host_flags')
        batch_op.drop_column('host_unicode')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_pending_dedupe_key', postgresql_where=PENDING, sqlite_where=PENDING)
