"""safety net: duty and holding with a grace period, residents who leave, the response clock

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


STATES_BEFORE = ("waiting", "active", "closed")
STATES_AFTER = (*STATES_BEFORE, "left")

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('console_gone_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('duty_ended_reason', sa.String(length=32), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_gone_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('awaiting_reply_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reply_alert_stage', sa.Integer(), server_default='0', nullable=False))
    _replace_state_check(STATES_AFTER)
    op.create_table('resident_presence',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_resident_presence_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_resident_presence'))
    )
    with op.batch_alter_table('resident_presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_presence_conversation_id'), ['conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resident_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_presence_conversation_id'))
    op.drop_table('resident_presence')
    # A resident who left is, in the older schema, a chat that ended unanswered.
    op.execute("UPDATE conversations SET state = 'closed' WHERE state = 'left'")
    _replace_state_check(STATES_BEFORE)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('reply_alert_stage')
        batch_op.drop_column('awaiting_reply_since')
        batch_op.drop_column('resident_gone_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('duty_ended_reason')
        batch_op.drop_column('console_gone_at')


def _replace_state_check(states: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{value}'" for value in states)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_conversations_conversationstate'), type_='check')
        batch_op.create_check_constraint('conversationstate', f"state IN ({allowed})")
