"""ispws: credentials, reports and files of the NCMEC CyberTipline-compatible API

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('ispws_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_ispws_credentials_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ispws_credentials')),
    sa.UniqueConstraint('username', name=op.f('uq_ispws_credentials_username'))
    )
    with op.batch_alter_table('ispws_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ispws_credentials_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('ispws_reports',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('document_object', sa.String(length=64), nullable=True),
    sa.Column('document_size', sa.Integer(), nullable=True),
    sa.Column('url_items', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('report_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['ispws_credentials.id'], name=op.f('fk_ispws_reports_credential_id_ispws_credentials')),
    sa.ForeignKeyConstraint(['document_object'], ['vault_objects.sha256'], name=op.f('fk_ispws_reports_document_object_vault_objects')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_ispws_reports_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_ispws_reports_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ispws_reports'))
    )
    with op.batch_alter_table('ispws_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ispws_reports_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ispws_reports_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ispws_reports_state'), ['state'], unique=False)

    op.create_table('ispws_files',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('ispws_report_id', ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('vault_object', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('details_object', sa.String(length=64), nullable=True),
    sa.Column('details_size', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('details_at', sa.DateTime(), nullable=True),
    sa.Column('item_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['details_object'], ['vault_objects.sha256'], name=op.f('fk_ispws_files_details_object_vault_objects')),
    sa.ForeignKeyConstraint(['ispws_report_id'], ['ispws_reports.id'], name=op.f('fk_ispws_files_ispws_report_id_ispws_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_ispws_files_item_id_items')),
    sa.ForeignKeyConstraint(['vault_object'], ['vault_objects.sha256'], name=op.f('fk_ispws_files_vault_object_vault_objects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ispws_files')),
    sa.UniqueConstraint('ispws_report_id', 'position', name=op.f('uq_ispws_files_ispws_report_id'))
    )
    with op.batch_alter_table('ispws_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ispws_files_ispws_report_id'), ['ispws_report_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('ispws_files')
    op.drop_table('ispws_reports')
    op.drop_table('ispws_credentials')
