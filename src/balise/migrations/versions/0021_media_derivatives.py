"""media_derivatives: the blurred preview's source kept encrypted in the vault (made at hashing)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 15:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'media_derivatives',
        sa.Column('original', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('derivative', sa.String(length=64), nullable=False),
        sa.Column('max_side', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['original'], ['vault_objects.sha256'], ),
        sa.ForeignKeyConstraint(['derivative'], ['vault_objects.sha256'], ),
        sa.PrimaryKeyConstraint('original', 'kind'),
    )
    with op.batch_alter_table('media_derivatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_derivatives_derivative'), ['derivative'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('media_derivatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_derivatives_derivative'))
    op.drop_table('media_derivatives')
