"""evidence packages: the centre's record of each signed package and its custody log

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('evidence_packages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('include_media', sa.Boolean(), nullable=False),
    sa.Column('media_count', sa.Integer(), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_evidence_packages_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_packages'))
    )
    op.create_index(op.f('ix_evidence_packages_report_id'), 'evidence_packages', ['report_id'], unique=False)
    op.create_table('evidence_package_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('package_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('actor_type', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['evidence_packages.id'], name=op.f('fk_evidence_package_events_package_id_evidence_packages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_package_events'))
    )
    op.create_index(op.f('ix_evidence_package_events_package_id'), 'evidence_package_events', ['package_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_evidence_package_events_package_id'), table_name='evidence_package_events')
    op.drop_table('evidence_package_events')
    op.drop_index(op.f('ix_evidence_packages_report_id'), table_name='evidence_packages')
    op.drop_table('evidence_packages')
