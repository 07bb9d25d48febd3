"""Resident conversations: start, resume by token, post and read messages."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.errors import ConversationClosed, NotFound, NotHolder, Unauthorized
from hotline.models import Conversation, ConversationState, Message, Sender, utcnow

SUPPORTED_LANGS = ("zh", "en")


@dataclass(frozen=True)
class MessageView:
    """A stored message as clients see it."""

    conversation_id: int
    seq: int
    sender: str
    body: str
    sent_at: datetime
    client_id: str | None

    @classmethod
    def of(cls, message: Message) -> MessageView:
        return cls(
            conversation_id=message.conversation_id,
            seq=message.seq,
            sender=str(message.sender),
            body=message.body,
            sent_at=message.sent_at,
            client_id=message.client_id,
        )

    def to_payload(self) -> dict[str, Any]:
        """The Socket.IO ``message`` payload (DESIGN §3)."""
        return {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "sender": self.sender,
            "body": self.body,
            "sent_at": self.sent_at.isoformat(),
            "client_id": self.client_id,
        }


@dataclass(frozen=True)
class PostedMessage:
    message: MessageView
    # False when the client_id was seen before and nothing new was stored.
    created: bool
    state: ConversationState
    # Who to deliver it to on the console side (None while waiting).
    holder_id: int | None


def hash_token(token: str) -> str:
    """SHA-256 of a resume token; tokens are random, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_conversation(session: Session, lang: str) -> tuple[int, str]:
    """Open a waiting conversation; returns its id and the secret resume token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    conversation = Conversation(
        token_hash=hash_token(token),
        lang=lang,
        state=ConversationState.WAITING,
        created_at=now,
        waiting_since=now,
    )
    session.add(conversation)
    session.commit()
    return conversation.id, token


def conversation_for_token(session: Session, token: object) -> int:
    """The id of the conversation a resume token opens, or Unauthorized."""
    if not isinstance(token, str) or not 20 <= len(token) <= 128:
        raise Unauthorized("A valid conversation token is required.")
    conversation_id = session.scalar(
        select(Conversation.id).where(Conversation.token_hash == hash_token(token))
    )
    session.rollback()
    if conversation_id is None:
        raise Unauthorized("This conversation token is not known.")
    return conversation_id


def post_message(
    session: Session,
    conversation_id: int,
    *,
    sender: Sender,
    body: str,
    client_id: str,
    counselor_id: int | None = None,
) -> PostedMessage:
    """Store a message exactly once per ``client_id`` and give it the next seq.

    Residents may write while waiting or active; a counsellor only to a
    conversation they hold. The seq counter is bumped by a conditional UPDATE
    so concurrent writers never share a seq, and the unique constraint on
    ``(conversation_id, client_id)`` makes a resend store nothing new.
    """
    existing = _message_by_client_id(session, conversation_id, client_id)
    if existing is not None:
        return _already_stored(session, existing)

    allowed = Conversation.id == conversation_id
    if sender is Sender.COUNSELOR:
        allowed &= (Conversation.state == ConversationState.ACTIVE) & (
            Conversation.counselor_id == counselor_id
        )
    else:
        allowed &= Conversation.state != ConversationState.CLOSED
    row = session.execute(
        update(Conversation)
        .where(allowed)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq, Conversation.state, Conversation.counselor_id)
    ).one_or_none()
    if row is None:
        session.rollback()
        raise _refusal(session, conversation_id, sender, counselor_id)
    seq, state, holder_id = row
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=sender,
        counselor_id=counselor_id,
        client_id=client_id,
        body=body,
        sent_at=utcnow(),
    )
    session.add(message)
    try:
        session.commit()
    except IntegrityError:
        # Another connection stored the same client_id first: report that one.
        session.rollback()
        existing = _message_by_client_id(session, conversation_id, client_id)
        if existing is None:
            raise
        return _already_stored(session, existing)
    return PostedMessage(
        MessageView.of(message), created=True, state=state, holder_id=holder_id
    )


def messages_after(
    session: Session, conversation_id: int, after_seq: int, limit: int = 500
) -> list[MessageView]:
    """Messages with seq greater than ``after_seq``, oldest first."""
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    ).all()
    views = [MessageView.of(message) for message in messages]
    session.rollback()
    return views


def _message_by_client_id(
    session: Session, conversation_id: int, client_id: str
) -> MessageView | None:
    message = session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.client_id == client_id,
        )
    )
    return MessageView.of(message) if message is not None else None


def _already_stored(session: Session, message: MessageView) -> PostedMessage:
    row = session.execute(
        select(Conversation.state, Conversation.counselor_id).where(
            Conversation.id == message.conversation_id
        )
    ).one()
    session.rollback()
    return PostedMessage(message, created=False, state=row[0], holder_id=row[1])


def _refusal(
    session: Session, conversation_id: int, sender: Sender, counselor_id: int | None
) -> Exception:
    conversation = session.get(Conversation, conversation_id)
    session.rollback()
    if conversation is None:
        return NotFound("No such conversation.")
    if conversation.state is ConversationState.CLOSED:
        return ConversationClosed()
    if sender is Sender.COUNSELOR and conversation.counselor_id != counselor_id:
        return NotHolder()
    return ConversationClosed("This conversation is not open for messages.")
