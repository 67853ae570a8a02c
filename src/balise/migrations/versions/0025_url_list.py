"""the URL list (CSAR Art. 44(1)(b)): entries with their evidence, exports per blocking order, sample verifications

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 15:55:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0025'
down_revision: Union[str, Sequence[str], None] = '0024'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('url_list_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('host_country', sa.String(length=2), nullable=False),
    sa.Column('takedown_item_id', sa.String(length=64), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('added_by', sa.String(length=300), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('removed_by', sa.String(length=300), nullable=True),
    sa.Column('removed_reason', sa.Text(), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_url_list_entries'))
    )
    with op.batch_alter_table('url_list_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_url_list_entries_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_url_list_entries_version'), ['version'], unique=False)

    op.create_table('url_list_exports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_reference', sa.String(length=200), nullable=False),
    sa.Column('providers', sa.JSON(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('since_version', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('exported_at', sa.DateTime(), nullable=False),
    sa.Column('exported_by', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_url_list_exports'))
    )
    with op.batch_alter_table('url_list_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_url_list_exports_order_reference'), ['order_reference'], unique=False)

    op.create_table('url_list_verifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('requested_by', sa.String(length=300), nullable=False),
    sa.Column('order_reference', sa.String(length=200), nullable=True),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('live', sa.Integer(), nullable=False),
    sa.Column('gone', sa.Integer(), nullable=False),
    sa.Column('other', sa.Integer(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_url_list_verifications_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_url_list_verifications'))
    )
    with op.batch_alter_table('url_list_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_url_list_verifications_organisation_id'), ['organisation_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('url_list_verifications')
    op.drop_table('url_list_exports')
    op.drop_table('url_list_entries')
