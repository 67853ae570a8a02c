"""users.sso_issuer and users.sso_subject: the OpenID Connect identity a staff account signs in with

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-02 15:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0035'
down_revision: Union[str, Sequence[str], None] = '0034'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_issuer', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_sso_issuer'), ['sso_issuer', 'sso_subject'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_sso_issuer'), type_='unique')
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('sso_issuer')
