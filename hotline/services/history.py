"""Returning residents: earlier contacts the resident agreed to share.

A conversation links to the resident's previous one only with their consent
(a chat page that kept the earlier token and the resident ticked "let the
next counsellor see a summary", or a callback booked with "counsellors may
see my earlier contacts" from a number that gave the same consent before).
Counsellors then see earlier wrap-ups and referrals, never transcripts:
those stay behind the audited transcript page for the roles allowed to read
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import Blocked, NotHolder
from hotline.models import (
    BlockKind,
    Conversation,
    ConversationState,
    Referral,
    Resource,
    WrapUp,
)
from hotline.services import audit
from hotline.services.blocks import is_blocked
from hotline.services.conversations import hash_token, may_write_as_staff

MAX_EARLIER = 5


@dataclass(frozen=True)
class EarlierContact:
    conversation_id: int
    channel: str
    created_at: datetime
    risk_level: str
    outcome: str | None
    needs: list[str]
    summary: str
    follow_up: bool
    referrals: list[str]

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "risk_level": self.risk_level,
            "outcome": self.outcome,
            "needs": self.needs,
            "summary": self.summary,
            "follow_up": self.follow_up,
            "referrals": self.referrals,
        }


def previous_for_chat(session: Session, previous_token: object) -> int | None:
    """The ended conversation a returning resident's earlier token opens.

    Raises Blocked when that token is blocked; None for anything unknown
    (a stale token must never stop anyone from starting a chat).
    """
    if not isinstance(previous_token, str) or len(previous_token) > 128:
        return None
    token_hash = hash_token(previous_token)
    if is_blocked(session, BlockKind.TOKEN, token_hash):
        raise Blocked()
    previous_id = session.scalar(
        select(Conversation.id).where(
            Conversation.token_hash == token_hash,
            Conversation.state == ConversationState.CLOSED,
        )
    )
    return previous_id


def earlier_contacts(
    session: Session, conversation_id: int, viewer_id: int
) -> list[EarlierContact]:
    """The shared earlier contacts, newest first (holder or joined responder;
    audited when there is anything to see)."""
    row = session.execute(
        select(Conversation.id, Conversation.previous_id).where(
            Conversation.id == conversation_id, may_write_as_staff(viewer_id)
        )
    ).one_or_none()
    if row is None:
        raise NotHolder()
    contacts: list[EarlierContact] = []
    seen = {conversation_id}
    previous_id = row.previous_id
    while previous_id is not None and previous_id not in seen:
        if len(contacts) == MAX_EARLIER:
            break
        seen.add(previous_id)
        contact, previous_id = _contact(session, previous_id)
        contacts.append(contact)
    if contacts:
        audit.record(
            session,
            "history_viewed",
            actor_id=viewer_id,
            conversation_id=conversation_id,
            earlier=[c.conversation_id for c in contacts],
        )
    return contacts


def _contact(
    session: Session, conversation_id: int
) -> tuple[EarlierContact, int | None]:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    wrap_up = session.scalar(
        select(WrapUp).where(WrapUp.conversation_id == conversation_id)
    )
    referrals = session.scalars(
        select(Resource.name)
        .join(Referral, Referral.resource_id == Resource.id)
        .where(Referral.conversation_id == conversation_id)
        .order_by(Referral.id)
    ).all()
    contact = EarlierContact(
        conversation_id=conversation.id,
        channel=str(conversation.channel),
        created_at=conversation.created_at,
        risk_level=str(conversation.risk_level),
        outcome=str(wrap_up.outcome) if wrap_up else None,
        needs=list(wrap_up.needs if wrap_up else conversation.needs),
        summary=wrap_up.summary if wrap_up else "",
        follow_up=bool(wrap_up and wrap_up.follow_up),
        referrals=list(referrals),
    )
    return contact, conversation.previous_id
