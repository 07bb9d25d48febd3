"""Which staff have a console open, across every worker, and duty that
follows it.

Crisis alerts go to on-duty responders; if "on duty" outlived the console
(a closed tab on another worker, a worker killed mid-shift, a browser that
never came back after a restart), alerts would reach nobody and residents
would not be shown the crisis numbers. So each open console connection is a
row; the worker holding it refreshes it, and when a person's last row goes
(closed, or stale because its worker died) they are taken off duty.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from hotline.events import DutyChanged, record
from hotline.models import ConsolePresence, User, utcnow
from hotline.services import audit

# Workers refresh every 20 s; three missed refreshes mean the worker is gone.
REFRESH_SECONDS = 20
STALE_AFTER = timedelta(seconds=3 * REFRESH_SECONDS)


def connected(session: Session, sid: str, user_id: int, worker: str) -> None:
    """Record an open console connection."""
    session.merge(
        ConsolePresence(sid=sid, user_id=user_id, worker=worker, seen_at=utcnow())
    )


def disconnected(session: Session, sid: str, user_id: int) -> bool:
    """Forget a closed connection; True if that took the person off duty
    (it was their last console, on any worker)."""
    session.execute(delete(ConsolePresence).where(ConsolePresence.sid == sid))
    off = _off_duty_without_console(session, [user_id])
    return bool(off)


def refresh(session: Session, sids: list[str]) -> None:
    """A worker's heartbeat for the connections it holds."""
    if not sids:
        return
    session.execute(
        update(ConsolePresence)
        .where(ConsolePresence.sid.in_(sids))
        .values(seen_at=utcnow())
    )


def sweep(session: Session, now: datetime | None = None) -> list[int]:
    """Drop connections nobody refreshed (their worker died) and take people
    left with no console off duty; returns their ids."""
    now = now or utcnow()
    session.execute(
        delete(ConsolePresence).where(ConsolePresence.seen_at < now - STALE_AFTER)
    )
    on_duty = list(session.scalars(select(User.id).where(User.is_on_duty.is_(True))))
    off = _off_duty_without_console(session, on_duty)
    return off


def _off_duty_without_console(session: Session, user_ids: list[int]) -> list[int]:
    if not user_ids:
        return []
    has_console = exists().where(ConsolePresence.user_id == User.id)
    off = list(
        session.scalars(
            update(User)
            .where(User.id.in_(user_ids), User.is_on_duty.is_(True), ~has_console)
            .values(is_on_duty=False)
            .returning(User.id)
        )
    )
    for user_id in off:
        audit.record(
            session,
            "duty_changed",
            actor_id=user_id,
            on_duty=False,
            reason="no console open",
        )
        record(session, DutyChanged(user_id, False, reason="no_console"))
    return off
