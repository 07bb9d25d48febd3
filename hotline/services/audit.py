"""The append-only audit trail. Recording never commits: it joins the caller's
transaction, so an action and its audit entry are stored together or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import AuditEvent, User, utcnow

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "claim",
    "release",
    "transcript_read",
    "escalation_opened",
    "escalation_acknowledged",
    "escalation_assigned",
    "escalation_joined",
    "escalation_taken_over",
    "escalation_closed",
    "level_corrected",
    "duty_changed",
    "no_responder_on_duty",
    "returned_to_queue",
    "escalation_reopened",
    "resident_left",
    "resident_returned",
    "unanswered_alert",
    "user_created",
    "user_updated",
    "export",
    "phone_viewed",
    "call_logged",
    "callback_window_overridden",
    "numbers_erased",
    "transcripts_purged",
    "chats_expired",
    "debrief_requested",
    "contact_blocked",
    "block_lifted",
    "history_viewed",
    "referral_followed_up",
    "transfer_offered",
    "transfer_accepted",
    "transfer_declined",
    "transfer_cancelled",
    "transfer_to_queue",
    "chat_monitored",
    "whisper_sent",
    "chat_joined_openly",
    "canned_added",
    "canned_updated",
    "canned_retired",
    "canned_reactivated",
    "sessions_revoked",
    "account_deactivated",
    "account_activated",
    "password_reset",
    "password_changed",
)


@dataclass(frozen=True)
class AuditEntry:
    event_id: int
    at: datetime
    actor: str | None
    action: str
    conversation_id: int | None
    details: dict[str, Any]

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "conversation_id": self.conversation_id,
            "details": self.details,
        }


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None,
    conversation_id: int | None = None,
    **details: Any,
) -> None:
    """Add an audit entry to the current transaction (the caller commits)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            conversation_id=conversation_id,
            details=details,
        )
    )


def list_entries(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    conversation_id: int | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Newest first, optionally filtered by action, actor name or conversation."""
    query = (
        select(AuditEvent, User.username)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(User.username == actor)
    if conversation_id is not None:
        query = query.where(AuditEvent.conversation_id == conversation_id)
    entries = [
        AuditEntry(
            event_id=event.id,
            at=event.at,
            actor=username,
            action=event.action,
            conversation_id=event.conversation_id,
            details=event.details,
        )
        for event, username in session.execute(query).all()
    ]
    return entries
