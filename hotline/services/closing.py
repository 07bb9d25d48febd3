"""Ending conversations: by the resident, or by the counsellor with a wrap-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.errors import Conflict, EscalationStillOpen, NotFound, NotHolder
from hotline.events import HeldChanged, QueueChanged, StatusChanged, record
from hotline.models import (
    Conversation,
    ConversationState,
    EscalationOutcome,
    Note,
    Outcome,
    WrapUp,
    utcnow,
)
from hotline.services import escalations

NEEDS = ("supplies", "medicine", "medical", "care")


@dataclass(frozen=True)
class WrapUpInput:
    """What a counsellor records when a conversation ends."""

    outcome: Outcome
    needs: tuple[str, ...]
    follow_up: bool
    summary: str
    # How the chat's open escalation ended, if it has one: a chat is never
    # closed with an escalation left open behind it.
    escalation_outcome: EscalationOutcome | None = None
    escalation_notes: str = ""


@dataclass(frozen=True)
class NoteView:
    note_id: int
    conversation_id: int
    author_id: int
    body: str
    created_at: datetime
    # "note", "whisper" (a supervisor's) or "transfer" (a hand-over note).
    kind: str = "note"

    def to_payload(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "conversation_id": self.conversation_id,
            "author_id": self.author_id,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
        }


def end_by_resident(session: Session, conversation_id: int) -> int | None:
    """Close a conversation at the resident's request; returns the holder, if any.

    The holder still owes a wrap-up, so the conversation keeps its counsellor.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    holder = conversation.counselor_id
    if conversation.state is not ConversationState.CLOSED:
        conversation.state = ConversationState.CLOSED
        conversation.closed_at = utcnow()
    record(session, StatusChanged(conversation_id))
    if holder is None:
        record(session, QueueChanged())
    else:
        # Theirs until the wrap-up: the console shows it as ended.
        record(session, HeldChanged(holder, conversation_id))
    return holder


def close_with_wrap_up(
    session: Session, conversation_id: int, counselor_id: int, wrap_up: WrapUpInput
) -> None:
    """Close a held conversation (if still active) and record the wrap-up once."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    if conversation.counselor_id != counselor_id:
        raise NotHolder()
    _resolve_open_escalation(session, conversation_id, counselor_id, wrap_up)
    session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state != ConversationState.CLOSED,
        )
        .values(state=ConversationState.CLOSED, closed_at=utcnow())
    )
    try:
        with session.begin_nested():
            session.add(
                WrapUp(
                    conversation_id=conversation_id,
                    counselor_id=counselor_id,
                    outcome=wrap_up.outcome,
                    needs=list(wrap_up.needs),
                    follow_up=wrap_up.follow_up,
                    summary=wrap_up.summary,
                )
            )
    except IntegrityError as error:
        raise Conflict("wrap_up_exists") from error
    record(
        session,
        StatusChanged(conversation_id),
        HeldChanged(counselor_id, conversation_id, gone="wrapped"),
    )


def add_note(
    session: Session, conversation_id: int, author_id: int, body: str
) -> NoteView:
    """Add a private note to a conversation the author holds."""
    holder = session.scalar(
        select(Conversation.counselor_id).where(Conversation.id == conversation_id)
    )
    if holder != author_id:
        raise NotHolder()
    note = Note(
        conversation_id=conversation_id,
        author_id=author_id,
        body=body,
        created_at=utcnow(),
    )
    session.add(note)
    return _note_view(note)


def list_notes(session: Session, conversation_id: int) -> list[NoteView]:
    """The notes of a conversation, oldest first."""
    notes = session.scalars(
        select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)
    ).all()
    views = [_note_view(note) for note in notes]
    return views


def _note_view(note: Note) -> NoteView:
    return NoteView(
        note_id=note.id,
        conversation_id=note.conversation_id,
        author_id=note.author_id,
        body=note.body,
        created_at=note.created_at,
        kind=note.kind or "note",
    )


def _resolve_open_escalation(
    session: Session, conversation_id: int, counselor_id: int, wrap_up: WrapUpInput
) -> None:
    open_escalation = escalations.open_escalation_of(session, conversation_id)
    if open_escalation is None:
        return
    if wrap_up.escalation_outcome is None or not wrap_up.escalation_notes.strip():
        raise EscalationStillOpen(escalation_id=open_escalation.escalation_id)
    escalations.resolve_with_conversation(
        session,
        open_escalation.escalation_id,
        actor_id=counselor_id,
        outcome=wrap_up.escalation_outcome,
        notes=wrap_up.escalation_notes,
    )
