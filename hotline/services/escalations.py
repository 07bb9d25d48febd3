"""Escalations: a crisis that a social worker must act on, from opening to an
outcome. Every transition is a conditional UPDATE, so two people acting at
once cannot both win, and every transition is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from hotline.errors import (
    Conflict,
    ConversationClosed,
    Forbidden,
    InvalidInput,
    NotFound,
    NotHolder,
)
from hotline.events import (
    EscalationAssigned,
    EscalationDue,
    EscalationOpened,
    EscalationsChanged,
    HeldChanged,
    QueueChanged,
    StatusChanged,
    record,
)
from hotline.models import (
    Conversation,
    ConversationState,
    Escalation,
    EscalationOutcome,
    EscalationState,
    RiskLevel,
    Role,
    User,
    utcnow,
)
from hotline.services import audit

# Acknowledged and somebody is responsible for it.
IN_HAND_STATES = (
    EscalationState.ACKNOWLEDGED,
    EscalationState.ASSIGNED,
    EscalationState.JOINED,
)
RESPONDER_ROLES = (Role.SOCIAL_WORKER, Role.SUPERVISOR)


@dataclass(frozen=True)
class EscalationView:
    escalation_id: int
    conversation_id: int
    level: RiskLevel
    state: EscalationState
    source: str
    reason: str
    opened_at: datetime
    alert_count: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assignee_id: int | None
    assignee: str | None
    joined_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    notes: str
    # The state of the chat it is about: the board shows a chat that ended.
    conversation_state: str = "active"

    def to_payload(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "escalation_id": self.escalation_id,
            "conversation_id": self.conversation_id,
            "level": str(self.level),
            "state": str(self.state),
            "source": self.source,
            "reason": self.reason,
            "opened_at": iso(self.opened_at),
            "alert_count": self.alert_count,
            "acknowledged_at": iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "assignee_id": self.assignee_id,
            "assignee": self.assignee,
            "joined_at": iso(self.joined_at),
            "closed_at": iso(self.closed_at),
            "outcome": self.outcome,
            "notes": self.notes,
            "conversation_state": self.conversation_state,
            "seconds_to_acknowledge": _seconds(self.opened_at, self.acknowledged_at),
            "seconds_to_close": _seconds(self.opened_at, self.closed_at),
        }


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 1) if end else None


def open_if_needed(
    session: Session,
    conversation_id: int,
    *,
    level: RiskLevel,
    source: str,
    actor_id: int | None = None,
    reason: str = "",
) -> int | None:
    """Open an escalation unless one is already open; returns the new id.

    Runs inside the caller's transaction. The partial unique index allows one
    open escalation per conversation; a savepoint keeps a lost race from
    undoing the caller's work (the message that triggered it).
    """
    already_open = session.scalar(
        select(Escalation).where(
            Escalation.conversation_id == conversation_id,
            Escalation.state != EscalationState.CLOSED,
        )
    )
    if already_open is not None:
        # Keep the open escalation as urgent as the worst that was seen.
        if level.rank > already_open.level.rank:
            already_open.level = level
            record(session, EscalationsChanged())
        return None
    now = utcnow()
    escalation = Escalation(
        conversation_id=conversation_id,
        level=level,
        state=EscalationState.OPEN,
        source=source,
        reason=reason,
        opened_by=actor_id,
        opened_at=now,
        last_alerted_at=now,
        alert_count=1,
    )
    try:
        with session.begin_nested():
            session.add(escalation)
    except IntegrityError:
        return None
    audit.record(
        session,
        "escalation_opened",
        actor_id=actor_id,
        conversation_id=conversation_id,
        escalation_id=escalation.id,
        source=source,
        level=str(level),
    )
    record(session, EscalationOpened(escalation.id))
    return escalation.id


def escalate_manually(
    session: Session, conversation_id: int, *, actor_id: int, reason: str
) -> int:
    """A counsellor's call to escalate, at any level, with a reason."""
    if not reason.strip():
        raise InvalidInput("escalation_reason", field="reason")
    level = session.scalar(
        select(Conversation.risk_level).where(Conversation.id == conversation_id)
    )
    if level is None:
        raise NotFound("conversation")
    escalation_id = open_if_needed(
        session,
        conversation_id,
        level=level,
        source="manual",
        actor_id=actor_id,
        reason=reason,
    )
    if escalation_id is None:
        raise Conflict("escalation_already_open")
    return escalation_id


def acknowledge(session: Session, escalation_id: int, actor_id: int) -> None:
    """Take responsibility for an open escalation; exactly one person wins.

    The person who acknowledges becomes its assignee.
    """
    now = utcnow()
    _transition(
        session,
        escalation_id,
        allowed=(EscalationState.OPEN,),
        values={
            "state": EscalationState.ACKNOWLEDGED,
            "acknowledged_by": actor_id,
            "acknowledged_at": now,
            "assignee_id": actor_id,
            "assigned_at": now,
        },
        action="escalation_acknowledged",
        actor_id=actor_id,
    )


def assign(
    session: Session, escalation_id: int, *, actor_id: int, assignee_id: int
) -> None:
    """A supervisor hands an acknowledged escalation to a social worker."""
    role = session.scalar(
        select(User.role).where(User.id == assignee_id, User.is_active.is_(True))
    )
    if role not in RESPONDER_ROLES:
        raise InvalidInput("assignee", field="assignee_id")
    _transition(
        session,
        escalation_id,
        allowed=(EscalationState.ACKNOWLEDGED, EscalationState.ASSIGNED),
        values={
            "state": EscalationState.ASSIGNED,
            "assignee_id": assignee_id,
            "assigned_at": utcnow(),
        },
        action="escalation_assigned",
        actor_id=actor_id,
        assignee_id=assignee_id,
    )
    record(session, EscalationAssigned(escalation_id, assignee_id))


def join(
    session: Session, escalation_id: int, actor_id: int, *, take_over: bool
) -> int:
    """The assignee joins the chat (or takes it over); returns the conversation.

    Taking over makes the assignee the conversation's holder; joining lets
    them write beside the counsellor. A conversation nobody has claimed yet
    (or that has no holder) is taken over either way: a resident in crisis
    must not stay in the queue while a responder is with them.
    """
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound("escalation")
    if escalation.assignee_id != actor_id:
        raise Forbidden("not_assignee")
    if escalation.state not in IN_HAND_STATES:
        raise Conflict("escalation_not_in_hand", state=str(escalation.state))
    escalation.state = EscalationState.JOINED
    escalation.joined_at = escalation.joined_at or utcnow()
    conversation_id = escalation.conversation_id
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    if conversation.state is ConversationState.CLOSED:
        raise ConversationClosed()
    previous_holder = conversation.counselor_id
    if conversation.state is ConversationState.WAITING:
        take_over = True
        conversation.state = ConversationState.ACTIVE
        conversation.claimed_at = utcnow()
        # As at a claim: what the resident wrote while waiting is now the
        # responder's to answer, so the response clock starts now.
        if conversation.awaiting_reply_since is not None:
            conversation.awaiting_reply_since = conversation.claimed_at
        conversation.reply_alert_stage = 0
        # It leaves the queue and the resident is told.
        record(session, StatusChanged(conversation_id), QueueChanged())
    if take_over:
        conversation.counselor_id = actor_id
        if previous_holder not in (None, actor_id):
            record(
                session,
                HeldChanged(previous_holder, conversation_id, gone="taken_over"),
            )
    # Even when taking over: a later transfer leaves the responder joined.
    conversation.staff_joined = True
    audit.record(
        session,
        "escalation_taken_over" if take_over else "escalation_joined",
        actor_id=actor_id,
        conversation_id=conversation_id,
        escalation_id=escalation_id,
    )
    record(session, HeldChanged(actor_id, conversation_id), EscalationsChanged())
    return conversation_id


def close(
    session: Session,
    escalation_id: int,
    *,
    actor_id: int,
    outcome: EscalationOutcome,
    notes: str,
) -> None:
    """Close an acknowledged escalation; only with an outcome and notes.

    Only the responder who has it in hand (its assignee, or whoever
    acknowledged it when nobody is assigned) or a supervisor closes it
    (docs/roles.md): another responder's "closed" would end someone else's
    outreach without them.
    """
    if not notes.strip():
        raise InvalidInput("escalation_notes", field="notes")
    _require_in_charge(session, escalation_id, actor_id)
    _close(session, escalation_id, actor_id, outcome, notes, allowed=IN_HAND_STATES)


def _require_in_charge(session: Session, escalation_id: int, actor_id: int) -> None:
    row = session.execute(
        select(Escalation.acknowledged_by, Escalation.assignee_id).where(
            Escalation.id == escalation_id
        )
    ).one_or_none()
    if row is None:
        return  # _transition says it does not exist
    in_charge = row.assignee_id if row.assignee_id is not None else row.acknowledged_by
    if in_charge is None or in_charge == actor_id:
        return
    role = session.scalar(select(User.role).where(User.id == actor_id))
    if role != Role.SUPERVISOR:
        raise NotHolder("escalation_in_charge")


def resolve_with_conversation(
    session: Session,
    escalation_id: int,
    *,
    actor_id: int,
    outcome: EscalationOutcome,
    notes: str,
) -> None:
    """Close an escalation, from any state, as its chat is wrapped up."""
    _close(
        session,
        escalation_id,
        actor_id,
        outcome,
        notes,
        allowed=(EscalationState.OPEN, *IN_HAND_STATES),
        with_conversation=True,
    )


def _close(
    session: Session,
    escalation_id: int,
    actor_id: int,
    outcome: EscalationOutcome,
    notes: str,
    *,
    allowed: tuple[EscalationState, ...],
    **details: Any,
) -> None:
    _transition(
        session,
        escalation_id,
        allowed=allowed,
        values={
            "state": EscalationState.CLOSED,
            "closed_by": actor_id,
            "closed_at": utcnow(),
            "outcome": outcome,
            "notes": notes,
        },
        action="escalation_closed",
        actor_id=actor_id,
        outcome=str(outcome),
        **details,
    )


def _transition(
    session: Session,
    escalation_id: int,
    *,
    allowed: tuple[EscalationState, ...],
    values: dict[str, Any],
    action: str,
    actor_id: int,
    **details: Any,
) -> None:
    """Move an escalation on, only from an ``allowed`` state, audited.

    The state condition is in the UPDATE itself, so of two people acting at
    once exactly one changes the row and the other gets Conflict.
    """
    result = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.state.in_(allowed))
        .values(**values)
    )
    if result.rowcount != 1:
        raise _refusal(session, escalation_id, action.removeprefix("escalation_"))
    audit.record(
        session,
        action,
        actor_id=actor_id,
        conversation_id=_conversation_of(session, escalation_id),
        escalation_id=escalation_id,
        **details,
    )
    record(session, EscalationsChanged())


def claim_realerts(session: Session, interval: timedelta) -> list[int]:
    """Escalations still open after ``interval`` since their last alert.

    The conditional UPDATE claims each re-alert for exactly one caller, so
    several workers polling at once never alert twice.
    """
    now = utcnow()
    due = session.scalars(
        update(Escalation)
        .where(
            Escalation.state == EscalationState.OPEN,
            Escalation.last_alerted_at <= now - interval,
            # Nobody can act on a chat that ended or a resident who left:
            # alerting again would only teach people to ignore alerts. The
            # escalation stays on the board until someone closes it.
            Escalation.conversation_id.in_(
                select(Conversation.id).where(
                    Conversation.state.in_(
                        (ConversationState.WAITING, ConversationState.ACTIVE)
                    )
                )
            ),
        )
        .values(last_alerted_at=now, alert_count=Escalation.alert_count + 1)
        .returning(Escalation.id)
    ).all()
    record(session, *(EscalationDue(escalation_id) for escalation_id in due))
    if due:
        record(session, EscalationsChanged())
    return list(due)


def responders_on_duty(session: Session) -> tuple[list[int], list[int]]:
    """On-duty active social workers and supervisors (ids)."""
    rows = session.execute(
        select(User.id, User.role).where(
            User.is_active.is_(True),
            User.is_on_duty.is_(True),
            User.role.in_(RESPONDER_ROLES),
        )
    ).all()
    social_workers = [uid for uid, role in rows if role is Role.SOCIAL_WORKER]
    supervisors = [uid for uid, role in rows if role is Role.SUPERVISOR]
    return social_workers, supervisors


@dataclass(frozen=True)
class AlertAudience:
    """Who a crisis alert goes to now, and which group they are."""

    kind: str  # "social_workers", "supervisors" or "nobody"
    user_ids: list[int]


def alert_audience(session: Session) -> AlertAudience:
    """On-duty social workers; else on-duty supervisors; else nobody (then
    the resident must be shown the crisis numbers)."""
    social_workers, supervisors = responders_on_duty(session)
    if social_workers:
        return AlertAudience("social_workers", social_workers)
    if supervisors:
        return AlertAudience("supervisors", supervisors)
    return AlertAudience("nobody", [])


def is_responder(session: Session, user_id: int) -> bool:
    """Whether the person is a social worker or supervisor."""
    return session.scalar(select(User.role).where(User.id == user_id)) in (
        RESPONDER_ROLES
    )


def get(session: Session, escalation_id: int) -> EscalationView:
    """One escalation."""
    views = _views(session, _view_query().where(Escalation.id == escalation_id))
    if not views:
        raise NotFound("escalation")
    return views[0]


def list_escalations(
    session: Session, state: str | None = None, limit: int = 200
) -> list[EscalationView]:
    """``open`` = not yet acknowledged, ``acknowledged`` = in hand, ``closed``;
    None = everything. Oldest first for open ones, newest first otherwise."""
    query = _view_query()
    if state == "open":
        query = query.where(Escalation.state == EscalationState.OPEN).order_by(
            Escalation.opened_at
        )
    elif state == "acknowledged":
        query = query.where(Escalation.state.in_(IN_HAND_STATES)).order_by(
            Escalation.opened_at
        )
    elif state == "closed":
        query = query.where(Escalation.state == EscalationState.CLOSED).order_by(
            Escalation.closed_at.desc()
        )
    elif state is None:
        query = query.order_by(Escalation.opened_at.desc())
    else:
        raise InvalidInput(
            "not_a_choice", field="state", choices="open, acknowledged, closed"
        )
    return _views(session, query.limit(limit))


def open_escalation_of(session: Session, conversation_id: int) -> EscalationView | None:
    """The conversation's escalation that is not closed, if any."""
    views = _views(
        session,
        _view_query().where(
            Escalation.conversation_id == conversation_id,
            Escalation.state != EscalationState.CLOSED,
        ),
    )
    return views[0] if views else None


def joined_responder(session: Session, conversation_id: int) -> int | None:
    """The responder who joined this conversation's open escalation, if any."""
    responder = session.scalar(
        select(Escalation.assignee_id).where(
            Escalation.conversation_id == conversation_id,
            Escalation.state == EscalationState.JOINED,
        )
    )
    return responder


def _view_query() -> Select[Any]:
    acknowledger = aliased(User)
    assignee = aliased(User)
    return (
        select(Escalation, acknowledger.username, assignee.username, Conversation.state)
        .join(Conversation, Conversation.id == Escalation.conversation_id)
        .outerjoin(acknowledger, acknowledger.id == Escalation.acknowledged_by)
        .outerjoin(assignee, assignee.id == Escalation.assignee_id)
    )


def _views(session: Session, query: Select[Any]) -> list[EscalationView]:
    views = [
        EscalationView(
            escalation_id=escalation.id,
            conversation_id=escalation.conversation_id,
            level=escalation.level,
            state=escalation.state,
            source=escalation.source,
            reason=escalation.reason,
            opened_at=escalation.opened_at,
            alert_count=escalation.alert_count,
            acknowledged_at=escalation.acknowledged_at,
            acknowledged_by=acknowledged_by,
            assignee_id=escalation.assignee_id,
            assignee=assignee,
            joined_at=escalation.joined_at,
            closed_at=escalation.closed_at,
            outcome=str(escalation.outcome) if escalation.outcome else None,
            notes=escalation.notes,
            conversation_state=str(conversation_state),
        )
        for (
            escalation,
            acknowledged_by,
            assignee,
            conversation_state,
        ) in session.execute(query).all()
    ]
    return views


def _conversation_of(session: Session, escalation_id: int) -> int:
    conversation_id = session.scalar(
        select(Escalation.conversation_id).where(Escalation.id == escalation_id)
    )
    assert conversation_id is not None
    return conversation_id


def _refusal(session: Session, escalation_id: int, action: str) -> Exception:
    state = session.scalar(
        select(Escalation.state).where(Escalation.id == escalation_id)
    )
    if state is None:
        return NotFound("escalation")
    return Conflict("escalation_state", action=action, state=str(state))
