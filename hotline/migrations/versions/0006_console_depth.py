"""console depth: canned responses, transfers, blocks, debrief requests, no-data outcomes, returning residents

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


OUTCOMES_BEFORE = (
    "supported", "referred", "escalated", "resident_left", "not_reached", "other",
)
OUTCOMES_AFTER = (*OUTCOMES_BEFORE, "silent", "prank", "abusive", "test")

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_canned_responses_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses'))
    )
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_responses_owner_id'), ['owner_id'], unique=False)

    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('token', 'phone', name='blockkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.Integer(), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_blocks_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_blocks_created_by_users')),
    sa.ForeignKeyConstraint(['lifted_by'], ['users.id'], name=op.f('fk_blocks_lifted_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocks'))
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocks_value_hash'), ['value_hash'], unique=False)

    op.create_table('debrief_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counselor_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_by', sa.Integer(), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_debrief_requests_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['counselor_id'], ['users.id'], name=op.f('fk_debrief_requests_counselor_id_users')),
    sa.ForeignKeyConstraint(['handled_by'], ['users.id'], name=op.f('fk_debrief_requests_handled_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debrief_requests'))
    )
    with op.batch_alter_table('debrief_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debrief_requests_counselor_id'), ['counselor_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('from_id', sa.Integer(), nullable=False),
    sa.Column('to_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'accepted', 'declined', 'cancelled', name='transferstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_transfers_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_id'], ['users.id'], name=op.f('fk_transfers_from_id_users')),
    sa.ForeignKeyConstraint(['to_id'], ['users.id'], name=op.f('fk_transfers_to_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_to_id'), ['to_id'], unique=False)
        batch_op.create_index('uq_transfers_one_pending', ['conversation_id'], unique=True, sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))

    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_history', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_name', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_conversations_previous_id_conversations'), 'conversations', ['previous_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='note', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))

    _replace_outcome_check(OUTCOMES_AFTER)

def downgrade() -> None:
    op.execute(
        "UPDATE wrap_ups SET outcome = 'other' "
        "WHERE outcome IN ('silent', 'prank', 'abusive', 'test')"
    )
    _replace_outcome_check(OUTCOMES_BEFORE)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
        batch_op.drop_column('display_name')

    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversations_previous_id_conversations'), type_='foreignkey')
        batch_op.drop_column('previous_id')
        batch_op.drop_column('resident_name')

    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.drop_column('share_history')

    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('uq_transfers_one_pending', sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_transfers_to_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_conversation_id'))

    op.drop_table('transfers')
    with op.batch_alter_table('debrief_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debrief_requests_counselor_id'))

    op.drop_table('debrief_requests')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocks_value_hash'))

    op.drop_table('blocks')
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_responses_owner_id'))

    op.drop_table('canned_responses')


def _replace_outcome_check(outcomes: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{value}'" for value in outcomes)
    with op.batch_alter_table('wrap_ups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_wrap_ups_outcome'), type_='check')
        batch_op.create_check_constraint('outcome', f"outcome IN ({allowed})")
