"""Who has a page open, across every worker: staff consoles and resident chats.

Each open socket is a row; the worker holding it refreshes it, and a sweep
removes the rows of a worker that stopped refreshing (it died). When a
person's last row goes (closed, or stale), the time is kept: staff on
``users.console_gone_at``, residents on ``conversations.resident_gone_at``.
Nothing else happens then. A reload, a dropped connection or a worker that
dies comes back within seconds and must change nothing; what a long absence
means (duty ends, held chats go back to the queue, a waiting resident has
left) is decided by ``hotline.services.safety_net`` after a grace period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from hotline.events import QueueChanged, StatusChanged, record
from hotline.models import (
    Channel,
    ConsolePresence,
    Conversation,
    ConversationState,
    ResidentPresence,
    User,
    utcnow,
)
from hotline.services import audit

# Workers refresh every 20 s; three missed refreshes mean the worker is gone.
REFRESH_SECONDS = 20
STALE_AFTER = timedelta(seconds=3 * REFRESH_SECONDS)


@dataclass(frozen=True)
class ConsoleArrival:
    """What a staff member's console is told when it connects."""

    on_duty: bool
    # Why their duty ended while no console was open, told once.
    duty_ended_reason: str | None


def connected(session: Session, sid: str, user_id: int, worker: str) -> ConsoleArrival:
    """Record an open console connection; the person is back."""
    session.merge(
        ConsolePresence(sid=sid, user_id=user_id, worker=worker, seen_at=utcnow())
    )
    on_duty, reason = session.execute(
        select(User.is_on_duty, User.duty_ended_reason).where(User.id == user_id)
    ).one()
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(console_gone_at=None, duty_ended_reason=None)
        .execution_options(synchronize_session=False)
    )
    return ConsoleArrival(on_duty=on_duty, duty_ended_reason=reason)


def disconnected(session: Session, sid: str, user_id: int) -> None:
    """Forget a closed console connection; if it was the person's last, on any
    worker, start their grace period."""
    session.execute(delete(ConsolePresence).where(ConsolePresence.sid == sid))
    _mark_staff_gone(session, [user_id], utcnow())


def resident_connected(
    session: Session, sid: str, conversation_id: int, worker: str
) -> None:
    """Record an open resident page. A resident who had left the queue and
    comes back (same token) queues again, keeping their earlier messages."""
    now = utcnow()
    session.merge(
        ResidentPresence(
            sid=sid, conversation_id=conversation_id, worker=worker, seen_at=now
        )
    )
    requeued = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == ConversationState.LEFT,
        )
        .values(state=ConversationState.WAITING, waiting_since=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.resident_gone_at.is_not(None),
        )
        .values(resident_gone_at=None)
        .execution_options(synchronize_session=False)
    )
    if requeued:
        audit.record(
            session, "resident_returned", actor_id=None, conversation_id=conversation_id
        )
        record(session, StatusChanged(conversation_id), QueueChanged())


def resident_disconnected(session: Session, sid: str, conversation_id: int) -> None:
    """Forget a closed resident page; if it was their last, start the clock
    after which a waiting resident has left."""
    session.execute(delete(ResidentPresence).where(ResidentPresence.sid == sid))
    _mark_residents_gone(session, [conversation_id], utcnow())


def refresh(session: Session, sids: list[str]) -> None:
    """A worker's heartbeat for the connections it holds (staff and residents)."""
    if not sids:
        return
    now = utcnow()
    for table in (ConsolePresence, ResidentPresence):
        session.execute(
            update(table)
            .where(table.sid.in_(sids))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )


def sweep(session: Session, now: datetime | None = None) -> None:
    """Drop connections nobody refreshed (their worker died); the people left
    with none start their grace period, as if they had closed the page."""
    now = now or utcnow()
    stale_staff = list(
        session.scalars(
            delete(ConsolePresence)
            .where(ConsolePresence.seen_at < now - STALE_AFTER)
            .returning(ConsolePresence.user_id)
        )
    )
    stale_residents = list(
        session.scalars(
            delete(ResidentPresence)
            .where(ResidentPresence.seen_at < now - STALE_AFTER)
            .returning(ResidentPresence.conversation_id)
        )
    )
    # They were last seen before the stale limit: their grace runs from then.
    _mark_staff_gone(session, stale_staff, now - STALE_AFTER)
    _mark_residents_gone(session, stale_residents, now - STALE_AFTER)
    # On duty with no console ever seen (the server restarted and the
    # browser never came back): their grace runs from now.
    _mark_staff_gone(
        session,
        list(session.scalars(select(User.id).where(User.is_on_duty.is_(True)))),
        now,
    )


def has_console(session: Session, user_id: int) -> bool:
    """Whether the person has a console open on any worker."""
    return (
        session.scalar(
            select(ConsolePresence.sid).where(ConsolePresence.user_id == user_id)
        )
        is not None
    )


def _mark_staff_gone(session: Session, user_ids: list[int], now: datetime) -> None:
    if not user_ids:
        return
    has_console = exists().where(ConsolePresence.user_id == User.id)
    session.execute(
        update(User)
        .where(User.id.in_(set(user_ids)), User.console_gone_at.is_(None), ~has_console)
        .values(console_gone_at=now)
        .execution_options(synchronize_session=False)
    )


def _mark_residents_gone(
    session: Session, conversation_ids: list[int], now: datetime
) -> None:
    if not conversation_ids:
        return
    has_page = exists().where(ResidentPresence.conversation_id == Conversation.id)
    session.execute(
        update(Conversation)
        .where(
            Conversation.id.in_(set(conversation_ids)),
            Conversation.channel == Channel.CHAT,
            Conversation.resident_gone_at.is_(None),
            ~has_page,
        )
        .values(resident_gone_at=now)
        .execution_options(synchronize_session=False)
    )
