"""Supervisors and live conversations: watch read-only, whisper, join openly.

Every watch is audited (``chat_monitored``). A whisper is a private note to
the holder. Joining openly is recorded once as a ``chat_joined_openly``
audit entry, and that entry is what lets the supervisor write in the chat
(see ``conversations.may_write_as_staff`` and docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import Conflict, ConversationClosed, NotAChat, NotFound
from hotline.events import HeldChanged, WhisperSent, record
from hotline.models import (
    AuditEvent,
    Channel,
    Conversation,
    ConversationState,
    Note,
    User,
    utcnow,
)
from hotline.services import audit
from hotline.services.conversations import (
    OPEN_JOIN_ACTION,
    MessageView,
    messages_after,
)

WHISPER_KIND = "whisper"
MAX_WHISPER_CHARS = 2000


@dataclass(frozen=True)
class LiveConversation:
    """An active conversation as the supervisor board lists it."""

    conversation_id: int
    kind: str
    lang: str
    holder_id: int | None
    holder_name: str
    risk_level: str
    needs: list[str]
    claimed_at: datetime | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "kind": self.kind,
            "lang": self.lang,
            "holder_id": self.holder_id,
            "holder_name": self.holder_name,
            "risk_level": self.risk_level,
            "needs": self.needs,
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
        }


@dataclass(frozen=True)
class Watch:
    """What a supervisor sees on starting to watch: the chat so far."""

    conversation: LiveConversation
    messages: list[MessageView]
    has_more: bool

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation.to_payload(),
            "messages": [m.to_payload(for_staff=True) for m in self.messages],
            "has_more": self.has_more,
        }


@dataclass(frozen=True)
class Whisper:
    """A supervisor's private word to the holder."""

    note_id: int
    conversation_id: int
    author_id: int
    author_name: str
    holder_id: int
    body: str
    created_at: datetime

    def to_payload(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "conversation_id": self.conversation_id,
            "author_id": self.author_id,
            "author_name": self.author_name,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
            "kind": WHISPER_KIND,
        }


def live_conversations(session: Session) -> list[LiveConversation]:
    """Active conversations, most urgent first, then the longest running."""
    rows = session.execute(
        select(Conversation, User)
        .outerjoin(User, User.id == Conversation.counselor_id)
        .where(Conversation.state == ConversationState.ACTIVE)
        .order_by(
            Conversation.risk_rank.desc(), Conversation.claimed_at, Conversation.id
        )
    ).all()
    return [_live_view(conversation, holder) for conversation, holder in rows]


def watch(
    session: Session,
    conversation_id: int,
    supervisor_id: int,
    after_seq: int = 0,
    limit: int = 500,
) -> Watch:
    """Start (or resume) watching a live conversation read-only; audited."""
    row = session.execute(
        select(Conversation, User)
        .outerjoin(User, User.id == Conversation.counselor_id)
        .where(Conversation.id == conversation_id)
    ).one_or_none()
    if row is None:
        raise NotFound("conversation")
    conversation, holder = row
    if conversation.state is ConversationState.CLOSED:
        raise ConversationClosed()
    view = _live_view(conversation, holder)
    audit.record(
        session,
        "chat_monitored",
        actor_id=supervisor_id,
        conversation_id=conversation_id,
    )
    messages = messages_after(session, conversation_id, after_seq, limit)
    return Watch(view, messages, has_more=len(messages) == limit)


def whisper(
    session: Session, conversation_id: int, supervisor_id: int, body: str
) -> Whisper:
    """Store a private note from the supervisor for the holder; never shown
    to the resident."""
    conversation = _active(session, conversation_id)
    holder_id = conversation.counselor_id
    if holder_id is None:
        raise Conflict("nobody_to_whisper")
    if holder_id == supervisor_id:
        raise Conflict("whisper_to_self")
    author = session.get(User, supervisor_id)
    assert author is not None
    note = Note(
        conversation_id=conversation_id,
        author_id=supervisor_id,
        body=body,
        created_at=utcnow(),
        kind=WHISPER_KIND,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        "whisper_sent",
        actor_id=supervisor_id,
        conversation_id=conversation_id,
    )
    sent = Whisper(
        note_id=note.id,
        conversation_id=conversation_id,
        author_id=supervisor_id,
        author_name=author.display_name or author.username,
        holder_id=holder_id,
        body=body,
        created_at=note.created_at,
    )
    record(session, WhisperSent(sent))
    return sent


def join_openly(session: Session, conversation_id: int, supervisor_id: int) -> bool:
    """The supervisor joins the chat beside the holder, visible to the resident.

    Returns False when they had already joined (nothing new is recorded).
    Either way every console tab of theirs is shown the chat.
    """
    conversation = _active(session, conversation_id)
    if conversation.channel is not Channel.CHAT:
        raise NotAChat()
    if conversation.counselor_id == supervisor_id:
        raise Conflict("already_holding")
    record(session, HeldChanged(supervisor_id, conversation_id))
    if supervisor_id in _joined(session, conversation_id):
        return False
    conversation.staff_joined = True
    audit.record(
        session,
        OPEN_JOIN_ACTION,
        actor_id=supervisor_id,
        conversation_id=conversation_id,
    )
    return True


def _joined(session: Session, conversation_id: int) -> set[int]:
    return set(
        session.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.conversation_id == conversation_id,
                AuditEvent.action == OPEN_JOIN_ACTION,
            )
        ).all()
    ) - {None}


def _active(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    if conversation.state is not ConversationState.ACTIVE:
        raise ConversationClosed("not_live")
    return conversation


def _live_view(conversation: Conversation, holder: User | None) -> LiveConversation:
    return LiveConversation(
        conversation_id=conversation.id,
        kind=str(conversation.channel),
        lang=conversation.lang,
        holder_id=conversation.counselor_id,
        holder_name=(holder.display_name or holder.username) if holder else "",
        risk_level=str(conversation.risk_level),
        needs=list(conversation.needs),
        claimed_at=conversation.claimed_at,
    )
