"""clock alerts: legal and service clocks that ran out, recorded once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('clock_alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_alerts')),
    sa.UniqueConstraint('kind', 'subject_id', 'deadline', 'level', name=op.f('uq_clock_alerts_kind'))
    )
    with op.batch_alter_table('clock_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clock_alerts_recorded_at'), ['recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clock_alerts_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clock_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clock_alerts_report_id'))
        batch_op.drop_index(batch_op.f('ix_clock_alerts_recorded_at'))
    op.drop_table('clock_alerts')
