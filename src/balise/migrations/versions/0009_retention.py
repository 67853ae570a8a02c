"""retention: redacted reports, deleted reporter contacts and package files, housekeeping indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('public_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('evidence_packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_finished', ['status', 'finished_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_finished')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')
    with op.batch_alter_table('evidence_packages', schema=None) as batch_op:
        batch_op.drop_column('file_deleted_at')
    with op.batch_alter_table('public_reports', schema=None) as batch_op:
        batch_op.drop_column('contact_deleted_at')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
