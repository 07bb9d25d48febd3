"""Periodic jobs that run once per interval across every worker.

Each ``hotline serve`` worker runs the same background loops, so a job such as
an escalation re-alert sweep, a callback due/overdue check or a retention
purge must not simply run "every N seconds" in each of them. Time is cut into
slots of ``interval`` (counted from the Unix epoch, so a daily job's slot is a
UTC day); a worker may run a job only after winning that job's slot in the
``job_leases`` table with one conditional ``UPDATE``. The database decides who
wins, on PostgreSQL as on SQLite, so at most one worker runs each slot.

Winning is a promise to try, not a proof of completion: a worker that dies
mid-job leaves the rest of that slot undone and the next slot's winner starts
again. Jobs must therefore be idempotent (work out from the database what is
due, and claim it atomically if doing it twice would matter), as
``claim_realerts`` does for re-alerts.

Usage, from a serving worker::

    periodic.start(app, "retention_purge", timedelta(days=1), purge_job)

where ``purge_job(app)`` opens and closes its own session.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.extensions import db, socketio
from hotline.models import JobLease, utcnow

logger = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Whoever wins a slot is recorded as host:pid, for people reading the table.
HOLDER = f"{socket.gethostname()}:{os.getpid()}"[:128]

Job = Callable[[Flask], object]


def slot_start(now: datetime, interval: timedelta) -> datetime:
    """The start of the ``interval``-long slot that ``now`` falls in."""
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    return EPOCH + ((now - EPOCH) // interval) * interval


def run_once_per_interval(
    session: Session,
    job_name: str,
    interval: timedelta,
    *,
    now: datetime | None = None,
    holder: str = HOLDER,
) -> bool:
    """Claim the current slot of ``job_name``; True if this caller won it.

    The claim holds once the caller's unit of work commits. Any number of
    workers may call this at once: exactly one of those calling within a slot
    gets True, the rest (and later callers in the same slot) get False.
    """
    now = now or utcnow()
    start = slot_start(now, interval)
    _ensure_lease(session, job_name)
    won = session.execute(
        update(JobLease)
        .where(JobLease.name == job_name, JobLease.slot_start < start)
        .values(slot_start=start, ran_at=now, holder=holder, runs=JobLease.runs + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return won == 1


def _ensure_lease(session: Session, job_name: str) -> None:
    # The first call ever for a job creates its row; when two workers race to
    # create it, the primary key lets one in and the other finds it there.
    if session.get(JobLease, job_name) is not None:
        return
    try:
        with session.begin_nested():
            session.execute(
                insert(JobLease).values(
                    name=job_name, slot_start=EPOCH, holder="", runs=0
                )
            )
    except IntegrityError:
        pass


def seconds_to_next_slot(interval: timedelta, now: datetime | None = None) -> float:
    """How long until the next slot of ``interval`` starts."""
    now = now or utcnow()
    return (slot_start(now, interval) + interval - now).total_seconds()


def run_if_won(app: Flask, job_name: str, interval: timedelta, job: Job) -> bool:
    """Run ``job(app)`` if this worker wins the current slot; True if it ran."""
    with app.app_context():
        with db.transaction() as session:
            won = run_once_per_interval(session, job_name, interval)
        if won:
            job(app)
        return won


def run_forever(app: Flask, job_name: str, interval: timedelta, job: Job) -> None:
    """Wake at every slot start and run ``job`` when this worker wins the slot.

    Every worker wakes at the same slot boundaries and races for the slot;
    a failure (of the lease or of the job) is logged and the loop goes on.
    """
    # A small margin past the boundary, so clock rounding never lands a wake
    # at the very end of the previous slot.
    margin = min(0.05, interval.total_seconds() / 10)
    while True:
        socketio.sleep(seconds_to_next_slot(interval) + margin)
        try:
            run_if_won(app, job_name, interval, job)
        except Exception:
            logger.exception("periodic job %s failed; retrying next slot", job_name)


def start(app: Flask, job_name: str, interval: timedelta, job: Job) -> None:
    """Run ``job`` once per ``interval`` across all workers, beside the server."""
    socketio.start_background_task(run_forever, app, job_name, interval, job)
