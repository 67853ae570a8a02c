"""series of near-duplicate material across reports, identified victims, the series index

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 15:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0026'
down_revision: Union[str, Sequence[str], None] = '0025'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('series',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('merged_into', sa.Integer(), nullable=True),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('identified', sa.Boolean(), nullable=False),
    sa.Column('case_reference', sa.String(length=200), nullable=True),
    sa.Column('identified_by', sa.String(length=300), nullable=True),
    sa.Column('identified_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=300), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into'], ['series.id'], name=op.f('fk_series_merged_into_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series'))
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_series_identified'), ['identified'], unique=False)
    op.create_table('series_hashes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('distance', sa.Integer(), nullable=True),
    sa.Column('linked_by', sa.String(length=300), nullable=True),
    sa.Column('linked_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_series_hashes_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_series_hashes_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_hashes_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_hashes'))
    )
    with op.batch_alter_table('series_hashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_hashes_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_series_hashes_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_series_hashes_pdq'), ['pdq'], unique=False)
        batch_op.create_index(batch_op.f('ix_series_hashes_series_id'), ['series_id'], unique=False)
    op.create_table('series_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_head'))
    )
    op.execute("INSERT INTO series_head (id) VALUES (1)")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('series_hashes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_hashes_series_id'))
        batch_op.drop_index(batch_op.f('ix_series_hashes_pdq'))
        batch_op.drop_index(batch_op.f('ix_series_hashes_report_id'))
        batch_op.drop_index(batch_op.f('ix_series_hashes_item_id'))
    op.drop_table('series_hashes')
    op.drop_table('series_head')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_identified'))
        batch_op.drop_index(batch_op.f('ix_series_status'))
    op.drop_table('series')
