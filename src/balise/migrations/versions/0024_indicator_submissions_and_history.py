"""Article 36 submissions, indicator history (Art. 44(4)), the authority's clock and periodic re-verification

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-02 15:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('indicator_submissions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('authority', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('process', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('classification', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('entered_by', sa.String(length=300), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('hash_count', sa.Integer(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_indicator_submissions_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_submissions'))
    )
    with op.batch_alter_table('indicator_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_submissions_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicator_submissions_reference'), ['reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicator_submissions_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('submission_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('awaiting_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('authority_due_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_indicators_submission_id'), ['submission_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_indicators_submission_id_indicator_submissions'),
                                    'indicator_submissions', ['submission_id'], ['id'])

    op.create_table('indicator_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('indicator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_indicator_history_indicator_id_indicators'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['indicator_submissions.id'], name=op.f('fk_indicator_history_submission_id_indicator_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_history'))
    )
    with op.batch_alter_table('indicator_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_history_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('indicator_verification_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('unconfirmed', sa.Integer(), nullable=False),
    sa.Column('urls_checked', sa.Integer(), nullable=False),
    sa.Column('urls_live', sa.Integer(), nullable=False),
    sa.Column('urls_gone', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_verification_runs'))
    )
    with op.batch_alter_table('indicator_verification_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_verification_runs_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('indicator_verification_runs')
    op.drop_table('indicator_history')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_indicators_submission_id_indicator_submissions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_indicators_submission_id'))
        batch_op.drop_column('authority_due_at')
        batch_op.drop_column('awaiting_since')
        batch_op.drop_column('submission_id')
        batch_op.alter_column('status', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
    op.drop_table('indicator_submissions')
