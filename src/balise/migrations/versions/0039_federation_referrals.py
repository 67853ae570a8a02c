"""federation_partners, referrals_sent, referrals_received, federation_nonces: referrals of URL reports between Balise installations

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-03 04:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0039'
down_revision: Union[str, Sequence[str], None] = '0038'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('federation_nonces',
    sa.Column('sender_key_id', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sender_key_id', 'nonce', name=op.f('pk_federation_nonces'))
    )
    with op.batch_alter_table('federation_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_nonces_seen_at'), ['seen_at'], unique=False)

    op.create_table('federation_partners',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('base_url', sa.Text(), nullable=False),
    sa.Column('public_key_pem', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('share_content', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_partners')),
    sa.UniqueConstraint('key_id', name=op.f('uq_federation_partners_key_id')),
    sa.UniqueConstraint('name', name=op.f('uq_federation_partners_name'))
    )
    with op.batch_alter_table('federation_partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_partners_country'), ['country'], unique=False)

    op.create_table('referrals_received',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('partner_name', sa.String(length=100), nullable=False),
    sa.Column('sender_key_id', sa.String(length=64), nullable=False),
    sa.Column('sender_reference', sa.String(length=64), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('outcome_sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['federation_partners.id'], name=op.f('fk_referrals_received_partner_id_federation_partners'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_referrals_received_report_id_reports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals_received')),
    sa.UniqueConstraint('sender_key_id', 'sender_reference', name='uq_referrals_received_sender_reference')
    )
    with op.batch_alter_table('referrals_received', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_received_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_received_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_received_status'), ['status'], unique=False)

    op.create_table('referrals_sent',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('partner_name', sa.String(length=100), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('receiver_reference', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_referrals_sent_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['federation_partners.id'], name=op.f('fk_referrals_sent_partner_id_federation_partners'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_referrals_sent_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals_sent')),
    sa.UniqueConstraint('item_id', name=op.f('uq_referrals_sent_item_id'))
    )
    with op.batch_alter_table('referrals_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_sent_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_sent_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_sent_status'), ['status'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('referrals_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_sent_status'))
        batch_op.drop_index(batch_op.f('ix_referrals_sent_report_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_sent_partner_id'))

    op.drop_table('referrals_sent')
    with op.batch_alter_table('referrals_received', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_received_status'))
        batch_op.drop_index(batch_op.f('ix_referrals_received_report_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_received_partner_id'))

    op.drop_table('referrals_received')
    with op.batch_alter_table('federation_partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_federation_partners_country'))

    op.drop_table('federation_partners')
    with op.batch_alter_table('federation_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_federation_nonces_seen_at'))

    op.drop_table('federation_nonces')
