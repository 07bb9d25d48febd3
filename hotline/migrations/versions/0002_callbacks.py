"""callbacks: callback requests, call attempts, the conversation channel

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


OUTCOMES_BEFORE = ("supported", "referred", "escalated", "resident_left", "other")
OUTCOMES_AFTER = (*OUTCOMES_BEFORE[:4], "not_reached", "other")

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('phone_ciphertext', sa.Text(), nullable=True),
    sa.Column('phone_lookup', sa.String(length=64), nullable=True),
    sa.Column('phone_hint', sa.String(length=8), nullable=True),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('may_leave_message', sa.Boolean(), nullable=False),
    sa.Column('may_say_hotline', sa.Boolean(), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_callbacks_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callbacks')),
    sa.UniqueConstraint('conversation_id', name=op.f('uq_callbacks_conversation_id'))
    )
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callbacks_phone_lookup'), ['phone_lookup'], unique=False)

    op.create_table('call_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('callback_id', sa.Integer(), nullable=False),
    sa.Column('counselor_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('reached', 'no_answer', 'busy', 'wrong_number', 'message_left', name='calloutcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['callback_id'], ['callbacks.id'], name=op.f('fk_call_attempts_callback_id_callbacks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['counselor_id'], ['users.id'], name=op.f('fk_call_attempts_counselor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_attempts'))
    )
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_attempts_callback_id'), ['callback_id'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.Enum('chat', 'callback', name='channel', native_enum=False, create_constraint=True, length=32), server_default='chat', nullable=False))

    _replace_outcome_check(OUTCOMES_AFTER)



def downgrade() -> None:
    op.execute("UPDATE wrap_ups SET outcome = 'other' WHERE outcome = 'not_reached'")
    _replace_outcome_check(OUTCOMES_BEFORE)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_conversations_channel'), type_='check')
        batch_op.drop_column('channel')

    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_attempts_callback_id'))

    op.drop_table('call_attempts')
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callbacks_phone_lookup'))

    op.drop_table('callbacks')


def _replace_outcome_check(outcomes: tuple[str, ...]) -> None:
    # The enum's CHECK constraint lists its values; SQLite needs batch mode
    # (a table copy) to change it.
    allowed = ", ".join(f"'{value}'" for value in outcomes)
    with op.batch_alter_table('wrap_ups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_wrap_ups_outcome'), type_='check')
        batch_op.create_check_constraint('outcome', f"outcome IN ({allowed})")
