"""conversations.staff_joined: delivery looks up joined staff only where someone joined

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_joined', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))
    # Conversations someone already joined keep getting their messages.
    op.execute(
        "UPDATE conversations SET staff_joined = true WHERE id IN ("
        " SELECT conversation_id FROM escalations WHERE state = 'joined'"
        " UNION SELECT conversation_id FROM audit_events"
        " WHERE action = 'chat_joined_openly' AND conversation_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('staff_joined')
