"""Reading a whole conversation, with access by role and an audit of reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import Forbidden, NotFound
from hotline.models import Conversation, Escalation, Role, WrapUp
from hotline.services import audit, escalations
from hotline.services.accounts import StaffMember
from hotline.services.closing import list_notes
from hotline.services.conversations import may_write_as_staff, messages_after


@dataclass(frozen=True)
class Transcript:
    conversation: dict[str, Any]
    messages: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    wrap_up: dict[str, Any] | None
    escalation: dict[str, Any] | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation,
            "messages": self.messages,
            "notes": self.notes,
            "wrap_up": self.wrap_up,
            "escalation": self.escalation,
        }


def read_transcript(
    session: Session, conversation_id: int, reader: StaffMember
) -> Transcript:
    """The full conversation for someone allowed to read it.

    Participants read their own conversations; social workers also read
    escalated ones and supervisors read any. A read by anyone who is not a
    participant is written to the audit log before the transcript is returned.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    is_participant = (
        session.scalar(
            select(Conversation.id).where(
                Conversation.id == conversation_id,
                may_write_as_staff(reader.user_id),
            )
        )
        is not None
    )
    if not is_participant:
        _require_reader_role(session, conversation_id, reader)
        audit.record(
            session,
            "transcript_read",
            actor_id=reader.user_id,
            conversation_id=conversation_id,
            role=str(reader.role),
        )
    summary = {
        "conversation_id": conversation.id,
        "lang": conversation.lang,
        "state": str(conversation.state),
        "created_at": conversation.created_at.isoformat(),
        "risk_level": str(conversation.risk_level),
        "needs": list(conversation.needs),
        "signals": list(conversation.risk_signals),
    }
    wrap_up = session.scalar(
        select(WrapUp).where(WrapUp.conversation_id == conversation_id)
    )
    wrap_up_payload = (
        {
            "outcome": str(wrap_up.outcome),
            "needs": wrap_up.needs,
            "follow_up": wrap_up.follow_up,
            "summary": wrap_up.summary,
            "created_at": wrap_up.created_at.isoformat(),
        }
        if wrap_up
        else None
    )
    escalation = escalations.open_escalation_of(session, conversation_id)
    return Transcript(
        conversation=summary,
        messages=[
            m.to_payload(for_staff=True)
            for m in messages_after(session, conversation_id, 0, limit=100_000)
        ],
        notes=[note.to_payload() for note in list_notes(session, conversation_id)],
        wrap_up=wrap_up_payload,
        escalation=escalation.to_payload() if escalation else None,
    )


def _require_reader_role(
    session: Session, conversation_id: int, reader: StaffMember
) -> None:
    if reader.role is Role.SUPERVISOR:
        return
    if reader.role is Role.SOCIAL_WORKER:
        escalated = session.scalar(
            select(Escalation.id).where(Escalation.conversation_id == conversation_id)
        )
        if escalated is not None:
            return
    raise Forbidden("transcript")
