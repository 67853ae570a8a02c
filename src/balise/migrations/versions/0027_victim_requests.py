"""victims' requests (CSAR Art. 20, 21) filed by coordinating authorities, keyed by hashes

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 16:05:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0027'
down_revision: Union[str, Sequence[str], None] = '0026'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('victim_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('authority_reference', sa.String(length=200), nullable=True),
    sa.Column('hashes', sa.JSON(), nullable=False),
    sa.Column('removal_support', sa.Boolean(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('removal_started_at', sa.DateTime(), nullable=True),
    sa.Column('removal', sa.JSON(), nullable=True),
    sa.Column('order_requested_at', sa.DateTime(), nullable=True),
    sa.Column('order_reference', sa.String(length=200), nullable=True),
    sa.Column('order_requested_by', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_victim_requests_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_victim_requests'))
    )
    with op.batch_alter_table('victim_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_victim_requests_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_victim_requests_filed_at'), ['filed_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('victim_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_victim_requests_filed_at'))
        batch_op.drop_index(batch_op.f('ix_victim_requests_organisation_id'))
    op.drop_table('victim_requests')
