"""access grants (CSAR Art. 46): which organisation may match or download which indicator database, for what and until when

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('access_grants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('databases', sa.JSON(), nullable=False),
    sa.Column('operations', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('order_reference', sa.String(length=200), nullable=True),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('valid_until', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('requested_by', sa.String(length=300), nullable=False),
    sa.Column('first_approved_by', sa.String(length=300), nullable=True),
    sa.Column('first_approved_at', sa.DateTime(), nullable=True),
    sa.Column('first_approval_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=300), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('revoked_by', sa.String(length=300), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('expired_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_access_grants_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grants'))
    )
    with op.batch_alter_table('access_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_grants_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_grants_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_grants_valid_until'), ['valid_until'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('access_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_grants_valid_until'))
        batch_op.drop_index(batch_op.f('ix_access_grants_state'))
        batch_op.drop_index(batch_op.f('ix_access_grants_organisation_id'))
    op.drop_table('access_grants')
