"""users.session_version (sign-out revokes), conversations.address_hash and address blocks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


KINDS_BEFORE = ("token", "phone")
KINDS_AFTER = (*KINDS_BEFORE, "address")

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default=sa.text('0'), nullable=False))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_hash', sa.String(length=64), nullable=True))
    _replace_kind_check(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM blocks WHERE kind = 'address'")
    _replace_kind_check(KINDS_BEFORE)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('address_hash')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')


def _replace_kind_check(kinds: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{value}'" for value in kinds)
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_blocks_blockkind'), type_='check')
        batch_op.create_check_constraint('blockkind', f"kind IN ({allowed})")
