"""console presence: open console connections across workers, for duty that follows reality

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_presence',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_console_presence_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_console_presence'))
    )
    with op.batch_alter_table('console_presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_presence_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('console_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_presence_user_id'))

    op.drop_table('console_presence')
