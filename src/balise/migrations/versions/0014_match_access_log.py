"""match access log: batched, chained log of answered match queries (issue 15 item 2, issue 19 item 3)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 11:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('match_access_batches',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('prev_mac', sa.String(length=64), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_match_access_batches'))
    )
    head = op.create_table('match_access_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_access_head'))
    )
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'mac': '0' * 64}])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('match_access_head')
    op.drop_table('match_access_batches')
