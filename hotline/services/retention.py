"""Retention: keep residents' words and numbers only as long as they are needed.

What goes, once a conversation has been closed for the configured days:

- its messages (and with them their triage assessments) and private notes;
- the free text staff wrote about it (wrap-up summary, escalation notes,
  triage-correction reasons), which may quote the resident;
- callback phone numbers, on their own (shorter) clock.

What stays, anonymous: the conversation's timestamps, channel, risk level and
needs tags, wrap-up outcomes, escalation timings and outcomes (the reports
are built from these), and the audit trail, which holds no resident text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hotline.models import (
    Conversation,
    ConversationState,
    Escalation,
    Message,
    Note,
    Referral,
    Survey,
    TriageCorrection,
    WrapUp,
    utcnow,
)
from hotline.services import audit, callbacks


@dataclass(frozen=True)
class RetentionPolicy:
    transcript_days: int
    phone_days: int

    @classmethod
    def from_config(cls, config: Any) -> RetentionPolicy:
        return cls(
            transcript_days=int(config["TRANSCRIPT_RETENTION_DAYS"]),
            phone_days=int(config["PHONE_RETENTION_DAYS"]),
        )


@dataclass(frozen=True)
class PurgeReport:
    """How many conversations lost their transcripts, and callbacks their
    numbers (or would, on a dry run)."""

    transcripts: int
    messages: int
    notes: int
    phone_numbers: int
    dry_run: bool

    def to_payload(self) -> dict[str, Any]:
        return {
            "transcripts": self.transcripts,
            "messages": self.messages,
            "notes": self.notes,
            "phone_numbers": self.phone_numbers,
            "dry_run": self.dry_run,
        }


def purge(
    session: Session,
    policy: RetentionPolicy,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Apply ``policy`` as of ``now``; idempotent, one transaction per part."""
    now = now or utcnow()
    expired = select(Conversation.id).where(
        Conversation.state == ConversationState.CLOSED,
        Conversation.closed_at < now - timedelta(days=policy.transcript_days),
    )
    with_text = expired.where(
        select(Message.id).where(Message.conversation_id == Conversation.id).exists()
        | select(Note.id).where(Note.conversation_id == Conversation.id).exists()
    )
    conversation_ids = list(session.scalars(with_text))
    messages = _count(session, Message, conversation_ids)
    notes = _count(session, Note, conversation_ids)
    if dry_run or not conversation_ids:
        session.rollback()
    else:
        _erase_text(session, conversation_ids)
        audit.record(
            session,
            "transcripts_purged",
            actor_id=None,
            conversations=len(conversation_ids),
            messages=messages,
        )
        session.commit()
    phone_numbers = callbacks.erase_numbers(
        session,
        closed_before=now - timedelta(days=policy.phone_days),
        dry_run=dry_run,
    )
    # erase_numbers never commits; the numbers are a part of their own.
    session.commit()
    return PurgeReport(
        transcripts=len(conversation_ids),
        messages=messages,
        notes=notes,
        phone_numbers=phone_numbers,
        dry_run=dry_run,
    )


def _count(session: Session, model: Any, conversation_ids: list[int]) -> int:
    if not conversation_ids:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(model)
            .where(model.conversation_id.in_(conversation_ids))
        )
        or 0
    )


def _erase_text(session: Session, conversation_ids: list[int]) -> None:
    in_scope = Message.conversation_id.in_(conversation_ids)
    # Assessments go with their messages (ON DELETE CASCADE); corrections
    # keep their levels but lose the message link and the reason's words.
    session.execute(
        update(TriageCorrection)
        .where(TriageCorrection.conversation_id.in_(conversation_ids))
        .values(message_id=None, reason="")
    )
    session.execute(delete(Message).where(in_scope))
    # What the resident liked to be called goes with their words.
    session.execute(
        update(Conversation)
        .where(Conversation.id.in_(conversation_ids))
        .values(resident_name=None)
    )
    session.execute(delete(Note).where(Note.conversation_id.in_(conversation_ids)))
    session.execute(
        update(WrapUp)
        .where(WrapUp.conversation_id.in_(conversation_ids))
        .values(summary="")
    )
    # Surveys stay for the reports, without their free text.
    session.execute(
        update(Survey)
        .where(Survey.conversation_id.in_(conversation_ids))
        .values(comment="")
    )
    session.execute(
        update(Escalation)
        .where(Escalation.conversation_id.in_(conversation_ids))
        .values(notes="", reason="")
    )
    session.execute(
        update(Referral)
        .where(Referral.conversation_id.in_(conversation_ids))
        .values(follow_up_note="")
    )
