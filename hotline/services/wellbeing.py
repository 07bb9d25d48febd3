"""Looking after counsellors: breaks, debrief requests, and the team's load.

Volunteers in a lockdown take long shifts of distressing conversations; the
console offers a pause and a debrief after a crisis, and supervisors see who
carries what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from hotline.errors import InvalidInput, NotFound, NotHolder
from hotline.events import BreakChanged, DebriefChanged, record
from hotline.models import (
    AuditEvent,
    Conversation,
    ConversationState,
    DebriefRequest,
    Escalation,
    RiskLevel,
    Role,
    User,
    utcnow,
)
from hotline.services import audit

BREAK_MINUTES = (5, 10, 15, 30)
CONSOLE_ROLES = (Role.COUNSELOR, Role.SOCIAL_WORKER, Role.SUPERVISOR)


@dataclass(frozen=True)
class DebriefView:
    debrief_id: int
    counselor: str
    conversation_id: int | None
    note: str
    created_at: datetime
    handled_by: str | None
    handled_at: datetime | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "debrief_id": self.debrief_id,
            "counselor": self.counselor,
            "conversation_id": self.conversation_id,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "handled_by": self.handled_by,
            "handled_at": self.handled_at.isoformat() if self.handled_at else None,
        }


@dataclass(frozen=True)
class MemberLoad:
    """One staff member's load, as supervisors watch it."""

    user_id: int
    name: str
    role: str
    on_duty: bool
    on_break_until: datetime | None
    active: int
    high_risk: int

    def to_payload(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role,
            "on_duty": self.on_duty,
            "on_break_until": self.on_break_until.isoformat()
            if self.on_break_until
            else None,
            "active": self.active,
            "high_risk": self.high_risk,
        }


def was_hard(session: Session, conversation_id: int) -> bool:
    """Whether a conversation was the kind that merits a pause afterwards:
    it reached crisis, or it was escalated."""
    level = session.scalar(
        select(Conversation.risk_level).where(Conversation.id == conversation_id)
    )
    escalated = session.scalar(
        select(func.count())
        .select_from(Escalation)
        .where(Escalation.conversation_id == conversation_id)
    )
    return level is RiskLevel.CRISIS or bool(escalated)


def start_break(session: Session, user_id: int, minutes: int) -> datetime:
    """Pause claims for ``minutes``; returns when the break ends."""
    if minutes not in BREAK_MINUTES:
        raise InvalidInput(
            "not_a_choice",
            field="minutes",
            choices=", ".join(map(str, BREAK_MINUTES)),
        )
    until = utcnow() + timedelta(minutes=minutes)
    session.execute(update(User).where(User.id == user_id).values(paused_until=until))
    record(session, BreakChanged(user_id, until))
    return until


def end_break(session: Session, user_id: int) -> None:
    """End the person's break: they may claim again."""
    session.execute(update(User).where(User.id == user_id).values(paused_until=None))
    record(session, BreakChanged(user_id, None))


def break_until(session: Session, user_id: int) -> datetime | None:
    """When the person's break ends, if they are on one now."""
    until = session.scalar(select(User.paused_until).where(User.id == user_id))
    return until if until is not None and until > utcnow() else None


def request_debrief(
    session: Session, user_id: int, conversation_id: int | None, note: str
) -> DebriefView:
    """Ask a supervisor for a debrief (after a hard conversation).

    A conversation named must exist and be one the counsellor took part in
    (claimed, was handed, joined or holds): a debrief is about their chat.
    """
    if conversation_id is not None:
        _require_taken_part(session, user_id, conversation_id)
    request = DebriefRequest(
        counselor_id=user_id,
        conversation_id=conversation_id,
        note=note,
        created_at=utcnow(),
    )
    session.add(request)
    session.flush()
    audit.record(
        session, "debrief_requested", actor_id=user_id, conversation_id=conversation_id
    )
    record(session, DebriefChanged(request.id))
    return get_debrief(session, request.id)


# Audit actions that make a staff member part of a conversation.
_TOOK_PART = (
    "claim",
    "transfer_accepted",
    "escalation_joined",
    "escalation_taken_over",
    "chat_joined_openly",
)


def _require_taken_part(session: Session, user_id: int, conversation_id: int) -> None:
    holder = session.scalar(
        select(Conversation.counselor_id).where(Conversation.id == conversation_id)
    )
    if holder is None and session.get(Conversation, conversation_id) is None:
        raise NotFound("conversation")
    if holder == user_id:
        return
    took_part = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.actor_id == user_id,
            AuditEvent.conversation_id == conversation_id,
            AuditEvent.action.in_(_TOOK_PART),
        )
    )
    if took_part is None:
        raise NotHolder("debrief")


def handle_debrief(
    session: Session, debrief_id: int, supervisor_id: int
) -> DebriefView:
    """Mark a debrief request as taken care of."""
    result = session.execute(
        update(DebriefRequest)
        .where(DebriefRequest.id == debrief_id, DebriefRequest.handled_at.is_(None))
        .values(handled_by=supervisor_id, handled_at=utcnow())
    )
    if result.rowcount != 1 and session.get(DebriefRequest, debrief_id) is None:
        raise NotFound("debrief")
    record(session, DebriefChanged(debrief_id))
    return get_debrief(session, debrief_id)


def open_debriefs(session: Session) -> list[DebriefView]:
    """Debrief requests nobody has taken care of yet, oldest first."""
    ids = session.scalars(
        select(DebriefRequest.id)
        .where(DebriefRequest.handled_at.is_(None))
        .order_by(DebriefRequest.id)
    ).all()
    return [get_debrief(session, debrief_id) for debrief_id in ids]


def get_debrief(session: Session, debrief_id: int) -> DebriefView:
    """One debrief request, with who asked and who took care of it."""
    handler = User.__table__.alias("handler")
    row = session.execute(
        select(DebriefRequest, User.username, User.display_name, handler.c.username)
        .join(User, User.id == DebriefRequest.counselor_id)
        .outerjoin(handler, handler.c.id == DebriefRequest.handled_by)
        .where(DebriefRequest.id == debrief_id)
    ).one()
    request, username, display_name, handled_by = row
    return DebriefView(
        debrief_id=request.id,
        counselor=display_name or username,
        conversation_id=request.conversation_id,
        note=request.note,
        created_at=request.created_at,
        handled_by=handled_by,
        handled_at=request.handled_at,
    )


def team_load(session: Session) -> list[MemberLoad]:
    """Every active console staff member with what they hold right now,
    on-duty people first, then the busiest."""
    high = RiskLevel.HIGH.rank
    held = (
        select(
            Conversation.counselor_id.label("user_id"),
            func.count().label("active"),
            func.sum(case((Conversation.risk_rank >= high, 1), else_=0)).label("high"),
        )
        .where(Conversation.state == ConversationState.ACTIVE)
        .group_by(Conversation.counselor_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(held.c.active, 0), func.coalesce(held.c.high, 0))
        .outerjoin(held, held.c.user_id == User.id)
        .where(User.is_active.is_(True), User.role.in_(CONSOLE_ROLES))
    ).all()
    now = utcnow()
    loads = [
        MemberLoad(
            user_id=user.id,
            name=user.display_name or user.username,
            role=str(user.role),
            on_duty=user.is_on_duty,
            on_break_until=user.paused_until
            if user.paused_until and user.paused_until > now
            else None,
            active=int(active),
            high_risk=int(high_risk),
        )
        for user, active, high_risk in rows
    ]
    return sorted(loads, key=lambda m: (not m.on_duty, -m.active, m.name))
