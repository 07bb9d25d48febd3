"""Retention: keep residents' words and numbers only as long as they are needed.

What goes, once a conversation has been closed for the configured days:

- its messages (and with them their triage assessments) and private notes;
- every free text written about it, by the resident or by staff, which may
  quote the resident: the name they gave, their area, the wrap-up summary,
  escalation reason and notes, triage-correction reasons, referral
  follow-up notes, survey comments, transfer notes, call-attempt notes,
  debrief requests and block reasons (``_TEXT_ABOUT_A_CONVERSATION``; a test
  plants a marker in every text column of every table and fails for a new
  column that is neither here nor declared not about residents);
- callback phone numbers, on their own (shorter) clock.

Chats nobody answered are closed after ``unanswered_chat_hours`` of waiting
(unless an escalation is still open on them), so that their words come under
the same clock instead of staying for ever.

What stays, anonymous: the conversation's timestamps, channel, risk level and
needs tags, wrap-up outcomes, escalation timings and outcomes (the reports
are built from these), and the audit trail, which holds no resident text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from hotline.events import QueueChanged, StatusChanged, record
from hotline.models import (
    Block,
    CallAttempt,
    Callback,
    Channel,
    Conversation,
    ConversationState,
    DebriefRequest,
    Escalation,
    EscalationState,
    Message,
    Note,
    Referral,
    Survey,
    Transfer,
    TriageCorrection,
    WrapUp,
    utcnow,
)
from hotline.services import audit, callbacks

# Free text about a conversation, by table: the columns to blank and the
# column naming the conversation.
_TEXT_ABOUT_A_CONVERSATION: tuple[tuple[Any, tuple[str, ...], Any], ...] = (
    (Conversation, ("resident_name", "area", "address_hash"), Conversation.id),
    (WrapUp, ("summary",), WrapUp.conversation_id),
    (Survey, ("comment",), Survey.conversation_id),
    (Escalation, ("notes", "reason"), Escalation.conversation_id),
    (Referral, ("follow_up_note",), Referral.conversation_id),
    (TriageCorrection, ("reason",), TriageCorrection.conversation_id),
    (Transfer, ("note", "decision_note"), Transfer.conversation_id),
    (DebriefRequest, ("note",), DebriefRequest.conversation_id),
    (Block, ("reason",), Block.conversation_id),
    (CallAttempt, ("note",), None),  # through its callback
)


@dataclass(frozen=True)
class RetentionPolicy:
    transcript_days: int
    phone_days: int
    # Chats still waiting after this long are closed as unanswered.
    unanswered_chat_hours: int = 24

    @classmethod
    def from_config(cls, config: Any) -> RetentionPolicy:
        return cls(
            transcript_days=int(config["TRANSCRIPT_RETENTION_DAYS"]),
            phone_days=int(config["PHONE_RETENTION_DAYS"]),
            unanswered_chat_hours=int(config.get("UNANSWERED_CHAT_HOURS", 24)),
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
    expired_chats: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "transcripts": self.transcripts,
            "messages": self.messages,
            "notes": self.notes,
            "phone_numbers": self.phone_numbers,
            "expired_chats": self.expired_chats,
            "dry_run": self.dry_run,
        }


def purge(
    session: Session,
    policy: RetentionPolicy,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Apply ``policy`` as of ``now``; idempotent. The caller's unit of work
    commits it (a dry run writes nothing)."""
    now = now or utcnow()
    expired_chats = expire_unanswered_chats(
        session, now - timedelta(hours=policy.unanswered_chat_hours), now, dry_run
    )
    cutoff = now - timedelta(days=policy.transcript_days)
    # A dry run does not expire chats, so it counts only closed ones.
    conversation_ids = _with_text(session, cutoff)
    messages = _count(session, Message, conversation_ids)
    notes = _count(session, Note, conversation_ids)
    if conversation_ids and not dry_run:
        _erase_text(session, conversation_ids)
        audit.record(
            session,
            "transcripts_purged",
            actor_id=None,
            conversations=len(conversation_ids),
            messages=messages,
        )
    if not dry_run:
        _erase_unlinked_text(session, cutoff)
    phone_numbers = callbacks.erase_numbers(
        session,
        closed_before=now - timedelta(days=policy.phone_days),
        dry_run=dry_run,
    )
    return PurgeReport(
        transcripts=len(conversation_ids),
        messages=messages,
        notes=notes,
        phone_numbers=phone_numbers,
        dry_run=dry_run,
        expired_chats=expired_chats,
    )


def expire_unanswered_chats(
    session: Session, waiting_before: datetime, now: datetime, dry_run: bool = False
) -> int:
    """Close chats that have waited since before ``waiting_before``.

    A chat with an escalation still open stays: its alerts go on until a
    responder closes the escalation with an outcome.
    """
    open_escalation = exists().where(
        Escalation.conversation_id == Conversation.id,
        Escalation.state != EscalationState.CLOSED,
    )
    stale = select(Conversation.id).where(
        Conversation.channel == Channel.CHAT,
        Conversation.state == ConversationState.WAITING,
        Conversation.waiting_since < waiting_before,
        ~open_escalation,
    )
    ids = list(session.scalars(stale))
    if not ids or dry_run:
        return len(ids)
    session.execute(
        update(Conversation)
        .where(
            Conversation.id.in_(ids),
            Conversation.state == ConversationState.WAITING,
        )
        .values(state=ConversationState.CLOSED, closed_at=now)
    )
    audit.record(session, "chats_expired", actor_id=None, conversations=len(ids))
    record(session, QueueChanged(), *(StatusChanged(id_) for id_ in ids))
    return len(ids)


def _expired(cutoff: datetime) -> Any:
    return select(Conversation.id).where(
        Conversation.state == ConversationState.CLOSED,
        Conversation.closed_at <= cutoff,
    )


def _with_text(session: Session, cutoff: datetime) -> list[int]:
    """Conversations closed before ``cutoff`` that still hold any text."""
    expired = _expired(cutoff).subquery()
    sources = [
        select(Message.conversation_id),
        select(Note.conversation_id),
    ]
    for model, columns, link in _TEXT_ABOUT_A_CONVERSATION:
        if link is None:
            link = Callback.conversation_id
            base = select(link).join(
                CallAttempt, CallAttempt.callback_id == Callback.id
            )
        else:
            base = select(link)
        sources.append(base.where(or_(*(_has_text(model, c) for c in columns))))
    found: set[int] = set()
    for source in sources:
        found.update(
            session.scalars(
                source.where(source.selected_columns[0].in_(select(expired.c.id)))
            )
        )
    return sorted(found)


def _has_text(model: Any, name: str) -> ColumnElement[bool]:
    column: InstrumentedAttribute[Any] = getattr(model, name)
    return column.is_not(None) & (column != "")


def _blank(model: Any, name: str) -> Any:
    return None if model.__table__.c[name].nullable else ""


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
    # Assessments go with their messages (ON DELETE CASCADE); corrections
    # keep their levels but lose the message link and the reason's words.
    session.execute(
        update(TriageCorrection)
        .where(TriageCorrection.conversation_id.in_(conversation_ids))
        .values(message_id=None)
    )
    session.execute(
        delete(Message).where(Message.conversation_id.in_(conversation_ids))
    )
    session.execute(delete(Note).where(Note.conversation_id.in_(conversation_ids)))
    for model, columns, link in _TEXT_ABOUT_A_CONVERSATION:
        if link is None:
            scope = CallAttempt.callback_id.in_(
                select(Callback.id).where(
                    Callback.conversation_id.in_(conversation_ids)
                )
            )
        else:
            scope = link.in_(conversation_ids)
        session.execute(
            update(model)
            .where(scope)
            .values({name: _blank(model, name) for name in columns})
        )


def _erase_unlinked_text(session: Session, cutoff: datetime) -> None:
    """Text whose conversation is gone (its link set to NULL): a debrief
    request older than the cutoff, a block that ended before it."""
    session.execute(
        update(DebriefRequest)
        .where(
            DebriefRequest.conversation_id.is_(None),
            DebriefRequest.created_at <= cutoff,
            DebriefRequest.note != "",
        )
        .values(note="")
    )
    session.execute(
        update(Block)
        .where(
            Block.conversation_id.is_(None),
            Block.until <= cutoff,
            Block.reason != "",
        )
        .values(reason="")
    )
