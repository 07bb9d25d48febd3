"""The safety net: nobody at risk is silently dropped when people vanish.

Presence (``hotline.services.presence``) only notes when someone's last
page closed. This sweep, run every few seconds on one worker at a time,
decides what a long absence means, after a grace period that a reload or a
dropped connection never reaches:

- staff whose console has been gone past ``DUTY_GRACE_SECONDS`` go off
  duty, and are told why when they come back; if that leaves no responder
  on duty, supervisors are alerted and residents with an open escalation
  are shown the crisis numbers;
- chats held by someone gone past ``HOLDER_GRACE_SECONDS`` go back to the
  top of the queue with a note to the resident; a high or crisis chat opens
  (or reopens) an escalation, which alerts until somebody acknowledges it;
- a waiting resident whose page has been gone past ``ABANDON_SECONDS`` has
  left: out of the queue, positions and estimates; their token queues them
  again if they come back;
- a resident message unanswered past ``UNANSWERED_ALERT_SECONDS`` (a third
  of it for high and crisis chats) alerts the holder, and at twice that the
  supervisors.

Every step is one conditional UPDATE over the rows that are due, so two
sweeps that overlap never act twice on the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from hotline.events import (
    DutyChanged,
    EscalationDue,
    EscalationsChanged,
    NoResponderOnDuty,
    QueueChanged,
    StatusChanged,
    UnansweredAlert,
    record,
)
from hotline.models import (
    Channel,
    Conversation,
    ConversationState,
    Escalation,
    EscalationState,
    RiskLevel,
    User,
    utcnow,
)
from hotline.services import audit, escalations
from hotline.services.conversations import post_system_message

# What the resident reads when their counsellor's console has been gone.
COUNSELOR_DISCONNECTED = "counselor_disconnected"
# Why duty ended while the person was away.
CONSOLE_GONE = "console_gone"
URGENT_RANK = RiskLevel.HIGH.rank


@dataclass(frozen=True)
class SafetyLimits:
    """The grace periods and the response clock, from config."""

    duty_grace: timedelta
    holder_grace: timedelta
    abandon: timedelta
    unanswered: timedelta

    @classmethod
    def from_config(cls, config: Any) -> SafetyLimits:
        return cls(
            duty_grace=timedelta(seconds=config["DUTY_GRACE_SECONDS"]),
            holder_grace=timedelta(seconds=config["HOLDER_GRACE_SECONDS"]),
            abandon=timedelta(seconds=config["ABANDON_SECONDS"]),
            unanswered=timedelta(seconds=config["UNANSWERED_ALERT_SECONDS"]),
        )

    @property
    def unanswered_urgent(self) -> timedelta:
        """High and crisis chats: 60 s with the default 180 s."""
        return self.unanswered / 3

    @property
    def shortest(self) -> timedelta:
        return min(
            self.duty_grace,
            self.holder_grace,
            self.abandon,
            self.unanswered_urgent,
        )


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (ids), for logs and tests."""

    off_duty: list[int]
    returned: list[int]
    left: list[int]
    alerted: list[tuple[int, int]]


def sweep(
    session: Session, limits: SafetyLimits, now: datetime | None = None
) -> SweepResult:
    """Act on every absence and silence that is past its limit."""
    now = now or utcnow()
    returned = return_chats_of_the_absent(session, limits.holder_grace, now)
    off_duty = end_duty_of_the_absent(session, limits.duty_grace, now)
    left = mark_left(session, limits.abandon, now)
    alerted = alert_unanswered(session, limits, now)
    return SweepResult(off_duty, returned, left, alerted)


def end_duty_of_the_absent(
    session: Session, grace: timedelta, now: datetime
) -> list[int]:
    """Take off duty everyone whose console has been gone past ``grace``."""
    responders_before = escalations.responders_on_duty(session)
    off = list(
        session.scalars(
            update(User)
            .where(User.is_on_duty.is_(True), User.console_gone_at <= now - grace)
            .values(is_on_duty=False, duty_ended_reason=CONSOLE_GONE)
            .returning(User.id)
        )
    )
    for user_id in off:
        audit.record(
            session,
            "duty_changed",
            actor_id=user_id,
            on_duty=False,
            reason="console gone past the grace period",
        )
        record(session, DutyChanged(user_id, False, reason=CONSOLE_GONE))
    if (
        off
        and any(responders_before)
        and not any(escalations.responders_on_duty(session))
    ):
        audit.record(session, "no_responder_on_duty", actor_id=None, went_off=off)
        record(session, NoResponderOnDuty())
    return off


def return_chats_of_the_absent(
    session: Session, grace: timedelta, now: datetime
) -> list[int]:
    """Put back in the queue, at its top, every active chat or callback held by
    someone gone past ``grace``; reopen the escalations they had in hand."""
    absent = select(User.id).where(User.console_gone_at <= now - grace)
    rows = session.execute(
        update(Conversation)
        .where(
            Conversation.state == ConversationState.ACTIVE,
            Conversation.counselor_id.in_(absent),
        )
        # created_at: before everyone who came later at the same level.
        .values(
            state=ConversationState.WAITING,
            counselor_id=None,
            claimed_at=None,
            waiting_since=Conversation.created_at,
        )
        .returning(Conversation.id, Conversation.channel, Conversation.risk_level)
        .execution_options(synchronize_session=False)
    ).all()
    returned = [row[0] for row in rows]
    reopened = _reopen_escalations_of_the_absent(session, absent)
    for conversation_id, channel, level in rows:
        audit.record(
            session,
            "returned_to_queue",
            actor_id=None,
            conversation_id=conversation_id,
            reason="holder's console gone past the grace period",
        )
        record(session, StatusChanged(conversation_id))
        if channel is Channel.CHAT:
            post_system_message(session, conversation_id, COUNSELOR_DISCONNECTED)
        if level.rank >= URGENT_RANK and (
            escalations.open_if_needed(
                session, conversation_id, level=level, source="holder_lost"
            )
            is None
        ):
            _alert_again(session, conversation_id, already=reopened)
    if returned:
        record(session, QueueChanged())
    return returned


def _alert_again(session: Session, conversation_id: int, already: list[int]) -> None:
    # The chat already had an escalation (open, or in the hands of someone
    # still here): its responders hear at once that nobody holds it now.
    alerted = list(
        session.scalars(
            update(Escalation)
            .where(
                Escalation.conversation_id == conversation_id,
                Escalation.state != EscalationState.CLOSED,
                Escalation.id.not_in(already),
            )
            .values(last_alerted_at=utcnow(), alert_count=Escalation.alert_count + 1)
            .returning(Escalation.id)
            .execution_options(synchronize_session=False)
        )
    )
    record(session, *(EscalationDue(escalation_id) for escalation_id in alerted))
    if alerted:
        record(session, EscalationsChanged())


def _reopen_escalations_of_the_absent(session: Session, absent: Any) -> list[int]:
    # An escalation in the hands of someone who vanished is nobody's: it
    # goes back to open and, while its chat goes on, alerts again at once.
    # Once the chat ended (or its resident left) it reopens without an
    # alert: nobody can act on it but to close it, and re-alerts stop there.
    in_hand_of_the_absent = (
        Escalation.state != EscalationState.CLOSED,
        Escalation.state != EscalationState.OPEN,
        Escalation.assignee_id.in_(absent),
    )
    chat_goes_on = Escalation.conversation_id.in_(
        select(Conversation.id).where(
            Conversation.state.in_(
                (ConversationState.WAITING, ConversationState.ACTIVE)
            )
        )
    )
    nobodys = {
        "state": EscalationState.OPEN,
        "assignee_id": None,
        "acknowledged_by": None,
        "acknowledged_at": None,
    }
    reopened = list(
        session.scalars(
            update(Escalation)
            .where(*in_hand_of_the_absent, chat_goes_on)
            .values(
                **nobodys,
                last_alerted_at=utcnow(),
                alert_count=Escalation.alert_count + 1,
            )
            .returning(Escalation.id)
            .execution_options(synchronize_session=False)
        )
    )
    quietly = list(
        session.scalars(
            update(Escalation)
            .where(*in_hand_of_the_absent, ~chat_goes_on)
            .values(**nobodys)
            .returning(Escalation.id)
            .execution_options(synchronize_session=False)
        )
    )
    for escalation_id in (*reopened, *quietly):
        audit.record(
            session,
            "escalation_reopened",
            actor_id=None,
            escalation_id=escalation_id,
            reason="responder's console gone past the grace period",
        )
    record(session, *(EscalationDue(escalation_id) for escalation_id in reopened))
    if reopened or quietly:
        record(session, EscalationsChanged())
    return reopened


def mark_left(session: Session, abandon: timedelta, now: datetime) -> list[int]:
    """Waiting chats whose resident's page has been gone past ``abandon``."""
    left = list(
        session.scalars(
            update(Conversation)
            .where(
                Conversation.state == ConversationState.WAITING,
                Conversation.channel == Channel.CHAT,
                Conversation.resident_gone_at <= now - abandon,
            )
            .values(state=ConversationState.LEFT)
            .returning(Conversation.id)
            .execution_options(synchronize_session=False)
        )
    )
    for conversation_id in left:
        audit.record(
            session, "resident_left", actor_id=None, conversation_id=conversation_id
        )
    if left:
        record(session, QueueChanged())
    return left


def leave(session: Session, conversation_id: int) -> None:
    """The resident pressed quick exit: a waiting chat leaves the queue at
    once; in an active one the counsellor is told, and wraps up."""
    now = utcnow()
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return
    if conversation.state is ConversationState.WAITING:
        conversation.state = ConversationState.LEFT
        conversation.resident_gone_at = now
        audit.record(
            session, "resident_left", actor_id=None, conversation_id=conversation_id
        )
        record(session, QueueChanged())
    elif conversation.state is ConversationState.ACTIVE:
        conversation.resident_gone_at = now
        post_system_message(session, conversation_id, "resident_left")


def alert_unanswered(
    session: Session, limits: SafetyLimits, now: datetime
) -> list[tuple[int, int]]:
    """Move each active chat's response clock on: the holder at the limit,
    supervisors at twice the limit. Returns (conversation, stage) pairs."""
    alerted: list[tuple[int, int]] = []
    for stage, factor in ((1, 1), (2, 2)):
        due = or_(
            and_(
                Conversation.risk_rank >= URGENT_RANK,
                Conversation.awaiting_reply_since
                <= now - limits.unanswered_urgent * factor,
            ),
            Conversation.awaiting_reply_since <= now - limits.unanswered * factor,
        )
        rows = session.execute(
            update(Conversation)
            .where(
                Conversation.state == ConversationState.ACTIVE,
                Conversation.reply_alert_stage < stage,
                due,
            )
            .values(reply_alert_stage=stage)
            .returning(
                Conversation.id,
                Conversation.counselor_id,
                Conversation.risk_level,
                Conversation.awaiting_reply_since,
            )
            .execution_options(synchronize_session=False)
        ).all()
        for conversation_id, holder_id, level, since in rows:
            audit.record(
                session,
                "unanswered_alert",
                actor_id=None,
                conversation_id=conversation_id,
                stage=stage,
            )
            record(
                session,
                UnansweredAlert(conversation_id, holder_id, stage, str(level), since),
            )
            alerted.append((conversation_id, stage))
    if alerted:
        # The board lists the chats gone quiet.
        record(session, EscalationsChanged())
    return alerted


def quiet_chats(
    session: Session, limits: SafetyLimits, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Active chats whose resident has waited for an answer past the limit,
    longest first: what the supervisors' board shows as gone quiet."""
    now = now or utcnow()
    rows = session.execute(
        select(
            Conversation.id,
            Conversation.counselor_id,
            User.username,
            Conversation.risk_level,
            Conversation.awaiting_reply_since,
        )
        .outerjoin(User, User.id == Conversation.counselor_id)
        .where(
            Conversation.state == ConversationState.ACTIVE,
            Conversation.reply_alert_stage > 0,
        )
        .order_by(Conversation.awaiting_reply_since)
        .limit(50)
    ).all()
    return [
        {
            "conversation_id": conversation_id,
            "holder_id": holder_id,
            "holder": holder,
            "risk_level": str(level),
            "waiting_since": since.isoformat() if since else None,
            "seconds": round((now - since).total_seconds()) if since else None,
        }
        for conversation_id, holder_id, holder, level, since in rows
    ]
