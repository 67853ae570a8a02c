"""notices.order_id, notices.report_id nullable: a removal order's escalation is a notice even when no report of Balise concerns its URLs

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-03 04:25:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0037'
down_revision: Union[str, Sequence[str], None] = '0036'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.alter_column('report_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column('order_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notices_order_id'), ['order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notices_order_id_orders'), 'orders', ['order_id'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    # A notice of an order without a report cannot stay once report_id is required again.
    op.execute("DELETE FROM notices WHERE report_id IS NULL")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_order_id_orders'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notices_order_id'))
        batch_op.drop_column('order_id')
        batch_op.alter_column('report_id', existing_type=sa.Uuid(), nullable=False)
