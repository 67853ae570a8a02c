"""error rate figures: measured error rates of detection per period, route and indicator source

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 11:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('error_rate_figures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('granularity', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('overturned', sa.Integer(), nullable=False),
    sa.Column('cannot_assess', sa.Integer(), nullable=False),
    sa.Column('unassessed', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_error_rate_figures')),
    sa.UniqueConstraint('granularity', 'period_start', 'dimension', 'key',
                        name=op.f('uq_error_rate_figures_granularity'))
    )
    with op.batch_alter_table('error_rate_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_error_rate_figures_computed_at'), ['computed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('error_rate_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_error_rate_figures_computed_at'))
    op.drop_table('error_rate_figures')
