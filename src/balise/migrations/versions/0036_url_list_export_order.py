"""url_list_exports.order_id: the blocking order (orders registry) an export of the URL list was made for

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-02 17:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0036'
down_revision: Union[str, Sequence[str], None] = '0035'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('url_list_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_url_list_exports_order_id'), ['order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_url_list_exports_order_id_orders'), 'orders', ['order_id'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('url_list_exports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_url_list_exports_order_id_orders'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_url_list_exports_order_id'))
        batch_op.drop_column('order_id')
