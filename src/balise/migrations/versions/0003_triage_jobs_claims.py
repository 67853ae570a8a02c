"""triage jobs claims

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:11:33.854401

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_at', sa.DateTime(), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_dedupe_key'), ['dedupe_key'], unique=False)
        batch_op.create_index('ix_jobs_ready', ['status', 'run_at'], unique=False)

    op.create_table('report_claims',
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_claims_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_claims_user_id_users')),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_report_claims'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_distance', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('times_reported', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('classification', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('assessment_source', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('assessed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('assessed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_items_duplicate_of'), ['duplicate_of'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_items_duplicate_of_items'), 'items', ['duplicate_of'], ['id'])

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('priority_reasons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('missing_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('information_request', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('triaged_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_reports_priority'), ['priority'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preferences', sa.JSON(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('preferences')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_priority'))
        batch_op.drop_column('revision')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('triaged_at')
        batch_op.drop_column('information_request')
        batch_op.drop_column('missing_fields')
        batch_op.drop_column('priority_reasons')
        batch_op.drop_column('priority')
        batch_op.drop_column('outcome_text')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_items_duplicate_of_items'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_items_duplicate_of'))
        batch_op.drop_column('revision')
        batch_op.drop_column('assessed_at')
        batch_op.drop_column('assessed_by')
        batch_op.drop_column('assessment_source')
        batch_op.drop_column('classification')
        batch_op.drop_column('outcome')
        batch_op.drop_column('times_reported')
        batch_op.drop_column('duplicate_distance')
        batch_op.drop_column('duplicate_of')

    op.drop_table('report_claims')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_ready')
        batch_op.drop_index(batch_op.f('ix_jobs_dedupe_key'))

    op.drop_table('jobs')
