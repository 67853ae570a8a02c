"""indicators and item matches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:37:08.908848

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    counter = op.create_table('indicator_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_version'))
    )
    op.bulk_insert(counter, [{'id': 1, 'version': 0}])
    op.create_table('indicators',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('algorithm', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('quality', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('classification', sa.JSON(), nullable=True),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.Column('frames', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicators')),
    sa.UniqueConstraint('algorithm', 'value', name=op.f('uq_indicators_algorithm'))
    )
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicators_status'), ['status'], unique=False)
        batch_op.create_index('ix_indicators_version', ['version'], unique=False)
        batch_op.create_index('ix_indicators_algorithm_version', ['algorithm', 'version'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('hash_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('matches', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('matched', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_items_matched'), ['matched'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_matched'))
        batch_op.drop_column('matched')
        batch_op.drop_column('matches')
        batch_op.drop_column('hash_error')
        batch_op.drop_column('hash_status')

    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_index('ix_indicators_algorithm_version')
        batch_op.drop_index('ix_indicators_version')
        batch_op.drop_index(batch_op.f('ix_indicators_status'))

    op.drop_table('indicators')
    op.drop_table('indicator_version')
