"""directory, referrals, surveys: community resources, referrals with follow-up, anonymous surveys, conversation area

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.Enum('food', 'medicine', 'medical', 'psychiatric', 'elderly_disability', 'child', 'donations', 'legal_financial', name='resourcecategory', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('area', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('opening_hours', sa.String(length=200), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_category'), ['category'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('counselor_id', sa.Integer(), nullable=False),
    sa.Column('message_seq', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('follow_up_status', sa.Enum('pending', 'confirmed', 'not_reachable', 'not_needed', name='followupstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('follow_up_note', sa.Text(), nullable=False),
    sa.Column('followed_up_by', sa.Integer(), nullable=True),
    sa.Column('followed_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_referrals_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['counselor_id'], ['users.id'], name=op.f('fk_referrals_counselor_id_users')),
    sa.ForeignKeyConstraint(['followed_up_by'], ['users.id'], name=op.f('fk_referrals_followed_up_by_users')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_referrals_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_follow_up_status'), ['follow_up_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_resource_id'), ['resource_id'], unique=False)

    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('helpfulness', sa.Integer(), nullable=False),
    sa.Column('feels_safer', sa.String(length=8), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('helpfulness BETWEEN 1 AND 5', name=op.f('ck_surveys_helpfulness_range')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_surveys_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('conversation_id', name=op.f('uq_surveys_conversation_id'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.String(length=100), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('area')

    op.drop_table('surveys')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_resource_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_follow_up_status'))
        batch_op.drop_index(batch_op.f('ix_referrals_conversation_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_category'))

    op.drop_table('resources')
