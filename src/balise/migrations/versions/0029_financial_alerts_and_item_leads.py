"""financial_alerts (alerts to financial partners and their answers) and item_leads (what files say of themselves, encrypted)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 16:05:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0029'
down_revision: Union[str, Sequence[str], None] = '0028'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('financial_alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('identifier_kind', sa.String(length=24), nullable=False),
    sa.Column('identifier', sa.Text(), nullable=False),
    sa.Column('search_key', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('reason_note', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=300), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('outcome_at', sa.DateTime(), nullable=True),
    sa.Column('outcome_by', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_financial_alerts_notice_id_notices')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_financial_alerts_partner_id_partners')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_financial_alerts_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_financial_alerts')),
    sa.UniqueConstraint('reference', name=op.f('uq_financial_alerts_reference'))
    )
    with op.batch_alter_table('financial_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_financial_alerts_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_alerts_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_alerts_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_alerts_search_key'), ['search_key'], unique=False)
    op.create_table('item_leads',
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('serial_key', sa.String(length=64), nullable=True),
    sa.Column('generative', sa.Boolean(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_leads_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_item_leads_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_item_leads'))
    )
    with op.batch_alter_table('item_leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_leads_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_leads_serial_key'), ['serial_key'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('item_leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_leads_serial_key'))
        batch_op.drop_index(batch_op.f('ix_item_leads_report_id'))
    op.drop_table('item_leads')
    with op.batch_alter_table('financial_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_financial_alerts_search_key'))
        batch_op.drop_index(batch_op.f('ix_financial_alerts_report_id'))
        batch_op.drop_index(batch_op.f('ix_financial_alerts_partner_id'))
        batch_op.drop_index(batch_op.f('ix_financial_alerts_outcome'))
    op.drop_table('financial_alerts')
