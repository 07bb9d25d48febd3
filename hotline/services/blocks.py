"""Blocking abusive or prank contacts for a while, and checking blocks.

A supervisor blocks the resume token of a conversation (and, for a callback,
its number; for a chat, the address it was started from) for a set time
with a reason. The block holds at once: open sockets of the conversation are
refused at their next event, and new chats from the same address are
refused until the block ends. Blocked residents are never shown a dead page:
they get a neutral message with the crisis numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from hotline.errors import Blocked, InvalidInput, NotFound
from hotline.events import ContactBlocked, record
from hotline.models import Block, BlockKind, Callback, Conversation, User, utcnow
from hotline.services import audit

DURATION_HOURS = (1, 24, 24 * 7, 24 * 30)


@dataclass(frozen=True)
class BlockView:
    block_id: int
    kind: str
    conversation_id: int | None
    reason: str
    until: datetime
    created_by: str
    created_at: datetime

    def to_payload(self) -> dict[str, Any]:
        return {
            "block_id": self.block_id,
            "kind": self.kind,
            "conversation_id": self.conversation_id,
            "reason": self.reason,
            "until": self.until.isoformat(),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


def block_contact(
    session: Session, conversation_id: int, actor_id: int, *, hours: int, reason: str
) -> list[int]:
    """Block the conversation's token, and its callback number if any."""
    if hours not in DURATION_HOURS:
        raise InvalidInput(
            "not_a_choice",
            field="hours",
            choices=", ".join(map(str, DURATION_HOURS)),
        )
    if not reason.strip():
        raise InvalidInput("block_reason", field="reason")
    row = session.execute(
        select(
            Conversation.token_hash, Conversation.address_hash, Callback.phone_lookup
        )
        .outerjoin(Callback, Callback.conversation_id == Conversation.id)
        .where(Conversation.id == conversation_id)
    ).one_or_none()
    if row is None:
        raise NotFound("conversation")
    token_hash, address_hash, phone_lookup = row
    now = utcnow()
    targets = [(BlockKind.TOKEN, token_hash)]
    if phone_lookup is not None:
        targets.append((BlockKind.PHONE, phone_lookup))
    if address_hash is not None:
        targets.append((BlockKind.ADDRESS, address_hash))
    blocks = [
        Block(
            kind=kind,
            value_hash=value,
            conversation_id=conversation_id,
            reason=reason.strip(),
            until=now + timedelta(hours=hours),
            created_by=actor_id,
            created_at=now,
        )
        for kind, value in targets
    ]
    session.add_all(blocks)
    session.flush()
    # The reason stays with the block (staff text); the audit keeps no free text.
    audit.record(
        session,
        "contact_blocked",
        actor_id=actor_id,
        conversation_id=conversation_id,
        hours=hours,
        kinds=[str(kind) for kind, _ in targets],
    )
    record(session, ContactBlocked(conversation_id))
    ids = [block.id for block in blocks]
    return ids


def lift(session: Session, block_id: int, actor_id: int) -> None:
    """End a block early (audited), with the blocks made with it: one block
    of a contact covers its token, number and address together."""
    block = session.get(Block, block_id)
    if block is None:
        raise NotFound("block")
    if block.lifted_at is None:
        siblings = select(Block).where(
            Block.lifted_at.is_(None),
            Block.created_at == block.created_at,
            Block.created_by == block.created_by,
            Block.conversation_id == block.conversation_id,
        )
        lifted_at = utcnow()
        for sibling in {block, *session.scalars(siblings)}:
            sibling.lifted_at = lifted_at
            sibling.lifted_by = actor_id
        audit.record(
            session,
            "block_lifted",
            actor_id=actor_id,
            conversation_id=block.conversation_id,
            block_id=block_id,
        )


def is_blocked(session: Session, kind: BlockKind, value_hash: str | None) -> bool:
    """Whether a live block matches this token hash or number lookup."""
    if not value_hash:
        return False
    found = session.scalar(
        select(Block.id).where(
            Block.kind == kind,
            Block.value_hash == value_hash,
            Block.lifted_at.is_(None),
            Block.until > utcnow(),
        )
    )
    return found is not None


def refuse_if_blocked(
    session: Session, kind: BlockKind, value_hash: str | None
) -> None:
    """Raise Blocked when a live block matches."""
    if is_blocked(session, kind, value_hash):
        raise Blocked()


def token_blocked(now: Any) -> Any:
    """SQL condition: a live block holds the conversation's resume token.

    For statements on ``conversations`` that must not go through for a
    blocked resident (``post_message`` puts it in the seq UPDATE, so the
    check costs no statement of its own and holds on every worker at once).
    """
    # Table columns, so that a Core statement stays Core.
    block = Block.__table__.c
    return exists().where(
        block.kind == BlockKind.TOKEN,
        block.value_hash == Conversation.__table__.c.token_hash,
        block.lifted_at.is_(None),
        block.until > now,
    )


def remember_address(
    session: Session, conversation_id: int, address_hash: str | None
) -> None:
    """Keep the keyed hash of the address a chat came from, so that a block
    of the chat also holds for new chats from there."""
    if address_hash:
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(address_hash=address_hash)
        )


def active_blocks(session: Session) -> list[BlockView]:
    """Blocks in force, soonest to end first."""
    rows = session.execute(
        select(Block, User.username)
        .join(User, User.id == Block.created_by)
        .where(Block.lifted_at.is_(None), Block.until > utcnow())
        .order_by(Block.until)
    ).all()
    views = [
        BlockView(
            block_id=block.id,
            kind=str(block.kind),
            conversation_id=block.conversation_id,
            reason=block.reason,
            until=block.until,
            created_by=username,
            created_at=block.created_at,
        )
        for block, username in rows
    ]
    return views
