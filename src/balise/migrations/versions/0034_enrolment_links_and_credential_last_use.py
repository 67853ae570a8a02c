"""enrolment_links (single-use, expiring links a new or reset user signs up with) and
ispws_credentials.last_used_at

Revision ID: 0034
Revises: 0032
Create Date: 2026-12-02 15:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0034'
down_revision: Union[str, Sequence[str], None] = '0032'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'enrolment_links',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrolment_links_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_enrolment_links_token_hash')),
    )
    with op.batch_alter_table('enrolment_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_links_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('ispws_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('ispws_credentials', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
    with op.batch_alter_table('enrolment_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_links_user_id'))
    op.drop_table('enrolment_links')
