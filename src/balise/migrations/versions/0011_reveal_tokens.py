"""reveal tokens: single-use permissions to see one item unblurred

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('reveal_tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_reveal_tokens_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_reveal_tokens_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reveal_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_reveal_tokens'))
    )
    with op.batch_alter_table('reveal_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reveal_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reveal_tokens_item_id'), ['item_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('reveal_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reveal_tokens_item_id'))
        batch_op.drop_index(batch_op.f('ix_reveal_tokens_expires_at'))
    op.drop_table('reveal_tokens')
