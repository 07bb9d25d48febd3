"""Callback requests: a resident asks to be phoned; counsellors work the list.

A callback is a conversation on the ``callback`` channel, so it shares the
queue, claiming, notes, triage, escalation and wrap-up with chats. Its
resident note is the conversation's first message (triaged like any other),
and its number lives encrypted in :class:`hotline.models.Callback`.

Status as the resident sees it:

- ``waiting``: in the queue, nobody has tried yet;
- ``scheduled``: a counsellor has taken it and is about to ring;
- ``attempted``: tried without reaching them; back in the queue for a retry;
- ``done``: closed by a counsellor (reached, or every attempt used);
- ``cancelled``: the resident withdrew it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from hotline.errors import (
    Blocked,
    CallbackNotCancellable,
    DuplicateCallback,
    NotFound,
    NotHolder,
    RateLimited,
)
from hotline.events import HeldChanged, QueueChanged, record
from hotline.models import (
    BlockKind,
    CallAttempt,
    Callback,
    CallOutcome,
    Channel,
    Conversation,
    ConversationState,
    Escalation,
    EscalationState,
    Outcome,
    RiskLevel,
    Sender,
    WrapUp,
    utcnow,
)
from hotline.phones import PhoneVault, display_phone, mask_hint
from hotline.services import audit
from hotline.services.blocks import is_blocked
from hotline.services.callback_windows import schedule_retry
from hotline.services.conversations import (
    conversation_for_token,
    new_conversation,
    post_message,
)
from hotline.services.queue import conversation_status
from hotline.services.risk import TriageResult

NOTE_CLIENT_ID = "callback-note"
# Outcomes after which ringing again is pointless.
FINAL_OUTCOMES = frozenset({CallOutcome.REACHED, CallOutcome.WRONG_NUMBER})
# The default of HOTLINE_TIMEZONE.
SERVICE_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CallbackRules:
    """The service's callback policy (from config)."""

    max_attempts: int = 3
    retry_after: timedelta = timedelta(minutes=30)
    per_number_per_day: int = 3
    # The service's zone: a retry the next day keeps the resident's local hours.
    zone: ZoneInfo = SERVICE_ZONE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CallbackRules:
        return cls(
            max_attempts=int(config["CALLBACK_MAX_ATTEMPTS"]),
            retry_after=timedelta(minutes=int(config["CALLBACK_RETRY_MINUTES"])),
            per_number_per_day=int(config["CALLBACK_PER_NUMBER_PER_DAY"]),
            zone=ZoneInfo(config["TIMEZONE"]),
        )


@dataclass(frozen=True)
class CallbackRequest:
    """A validated request from the resident's form."""

    phone: str  # E.164
    window_start: datetime
    window_end: datetime
    lang: str
    note: str
    may_leave_message: bool
    may_say_hotline: bool
    # Counsellors may see earlier contacts from this number (wrap-ups only).
    share_history: bool = False


@dataclass(frozen=True)
class CreatedCallback:
    callback_id: int
    conversation_id: int
    token: str
    risk_level: RiskLevel
    escalation_id: int | None


@dataclass(frozen=True)
class ResidentView:
    """What the resident's page shows about their callback."""

    callback_id: int
    status: str
    window_start: datetime
    window_end: datetime
    # When the next try is due (while waiting or after an unanswered try).
    next_call_at: datetime | None
    attempts: int
    position: int | None
    # True while a crisis escalation is open: the page keeps crisis numbers up.
    urgent: bool

    def to_payload(self) -> dict[str, Any]:
        return {
            "callback_id": self.callback_id,
            "status": self.status,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "next_call_at": self.next_call_at.isoformat()
            if self.next_call_at
            else None,
            "attempts": self.attempts,
            "position": self.position,
            "urgent": self.urgent,
        }


@dataclass(frozen=True)
class CallSheet:
    """What the counsellor holding a callback needs to make the call."""

    conversation_id: int
    callback_id: int
    phone: str | None
    window_start: datetime
    window_end: datetime
    may_leave_message: bool
    may_say_hotline: bool
    attempts: int
    max_attempts: int
    history: list[dict[str, Any]]

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "callback_id": self.callback_id,
            "phone": self.phone,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "may_leave_message": self.may_leave_message,
            "may_say_hotline": self.may_say_hotline,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "history": self.history,
        }


@dataclass(frozen=True)
class AttemptResult:
    """What logging an attempt did: ``reached`` (still held, wrap up next),
    ``retry`` (back in the queue at ``next_call_at``, inside the window
    ``window_start``-``window_end``) or ``closed``."""

    result: str
    attempts: int
    next_call_at: datetime | None
    window_start: datetime | None = None
    window_end: datetime | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "attempts": self.attempts,
            "next_call_at": _iso(self.next_call_at),
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(frozen=True)
class OverdueCallback:
    """A callback whose window passed with nobody reaching the resident."""

    conversation_id: int
    callback_id: int
    risk_level: str
    window_start: datetime
    window_end: datetime
    attempts: int
    phone_masked: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "callback_id": self.callback_id,
            "risk_level": self.risk_level,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "attempts": self.attempts,
            "phone_masked": self.phone_masked,
        }


def request_callback(
    session: Session,
    vault: PhoneVault,
    request: CallbackRequest,
    *,
    assessment: TriageResult | None,
    rules: CallbackRules,
) -> CreatedCallback:
    """Store a callback request, its note and any escalation, in the
    caller's unit of work.

    The same number with an overlapping window that is still open is the same
    request (a double submit, or a second tab): refused, never doubled. More
    than ``rules.per_number_per_day`` requests for one number in a day are
    refused too.
    """
    now = utcnow()
    sealed = vault.seal(request.phone)
    if is_blocked(session, BlockKind.PHONE, sealed.lookup):
        raise Blocked()
    _lock_number(session, sealed.lookup)
    open_overlap = session.scalar(
        select(Callback.id)
        .join(Conversation, Conversation.id == Callback.conversation_id)
        .where(
            Callback.phone_lookup == sealed.lookup,
            Conversation.state != ConversationState.CLOSED,
            Callback.window_start < request.window_end,
            Callback.window_end > request.window_start,
        )
        .limit(1)
    )
    if open_overlap is not None:
        raise DuplicateCallback()
    recent = session.scalar(
        select(func.count())
        .select_from(Callback)
        .join(Conversation, Conversation.id == Callback.conversation_id)
        .where(
            Callback.phone_lookup == sealed.lookup,
            Conversation.created_at > now - timedelta(days=1),
        )
    )
    if (recent or 0) >= rules.per_number_per_day:
        raise RateLimited("callback_number")

    conversation, token = new_conversation(
        request.lang, Channel.CALLBACK, waiting_since=request.window_start
    )
    if request.share_history:
        conversation.previous_id = _previous_shared(session, sealed.lookup)
    session.add(conversation)
    session.flush()
    callback = Callback(
        conversation_id=conversation.id,
        phone_ciphertext=sealed.ciphertext,
        phone_lookup=sealed.lookup,
        phone_hint=sealed.hint,
        window_start=request.window_start,
        window_end=request.window_end,
        may_leave_message=request.may_leave_message,
        may_say_hotline=request.may_say_hotline,
        share_history=request.share_history,
        consent_at=now,
        attempts=0,
    )
    session.add(callback)
    session.flush()
    callback_id = callback.id
    # A new item in the queue, whatever the note says.
    record(session, QueueChanged())
    if not request.note:
        return CreatedCallback(
            callback_id, conversation.id, token, RiskLevel.LOW, escalation_id=None
        )
    # post_message triages the note, opens any escalation and records what
    # the queue and the responders must hear.
    posted = post_message(
        session,
        conversation.id,
        sender=Sender.RESIDENT,
        body=request.note,
        client_id=NOTE_CLIENT_ID,
        assessment=assessment,
    )
    return CreatedCallback(
        callback_id,
        posted.message.conversation_id,
        token,
        posted.risk_level,
        posted.escalation_id,
    )


def _previous_shared(session: Session, lookup: str) -> int | None:
    # The latest earlier callback from this number whose resident also
    # agreed to share (consent on both ends).
    return session.scalar(
        select(Callback.conversation_id)
        .where(Callback.phone_lookup == lookup, Callback.share_history.is_(True))
        .order_by(Callback.id.desc())
        .limit(1)
    )


def _lock_number(session: Session, lookup: str) -> None:
    # Two identical requests racing must not both pass the duplicate check.
    # SQLite already serialises writers (BEGIN IMMEDIATE); PostgreSQL needs a
    # transaction-scoped advisory lock on the number's fingerprint.
    if session.get_bind().dialect.name == "postgresql":
        key = int(lookup[:15], 16)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def callback_for_token(session: Session, callback_id: int, token: object) -> Callback:
    """The callback a resident's token opens; NotFound for any other id."""
    conversation_id = conversation_for_token(session, token, Channel.CALLBACK)
    callback = session.scalar(
        select(Callback).where(
            Callback.id == callback_id, Callback.conversation_id == conversation_id
        )
    )
    if callback is None:
        raise NotFound("callback")
    return callback


def resident_view(session: Session, callback_id: int, token: object) -> ResidentView:
    """The status page's view of a callback (token-checked)."""
    callback = callback_for_token(session, callback_id, token)
    conversation = callback.conversation
    urgent = _has_open_escalation(session, conversation.id)
    next_call_at: datetime | None = None
    if callback.cancelled_at is not None:
        status = "cancelled"
    elif conversation.state is ConversationState.CLOSED:
        status = "done"
    elif conversation.state is ConversationState.ACTIVE:
        status = "scheduled"
    else:
        status = "attempted" if callback.attempts else "waiting"
        next_call_at = conversation.waiting_since
    view = ResidentView(
        callback_id=callback.id,
        status=status,
        window_start=callback.window_start,
        window_end=callback.window_end,
        next_call_at=next_call_at,
        attempts=callback.attempts,
        position=None,
        urgent=urgent,
    )
    conversation_id = conversation.id
    if status in ("waiting", "attempted"):
        position = conversation_status(session, conversation_id).position
        view = replace(view, position=position)
    return view


def cancel(
    session: Session,
    callback_id: int,
    token: object,
) -> int:
    """Withdraw a waiting callback; returns its conversation id.

    Refused while a counsellor holds it (they may be dialling) and while a
    crisis escalation is open: a social worker must still reach them.
    """
    callback = callback_for_token(session, callback_id, token)
    conversation_id = callback.conversation_id
    if _has_open_escalation(session, conversation_id):
        raise CallbackNotCancellable("escalation_open")
    now = utcnow()
    result = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == ConversationState.WAITING,
        )
        .values(state=ConversationState.CLOSED, closed_at=now)
    )
    if result.rowcount != 1:
        raise CallbackNotCancellable()
    callback.cancelled_at = now
    record(session, QueueChanged())
    return conversation_id


def call_sheet(
    session: Session,
    vault: PhoneVault,
    conversation_id: int,
    counselor_id: int,
    rules: CallbackRules,
) -> CallSheet:
    """The full number and call guide, for the counsellor holding the callback
    only. Every reading is audited."""
    callback = _held_callback(session, conversation_id, counselor_id)
    phone = None
    if callback.phone_ciphertext is not None:
        phone = display_phone(vault.open(callback.phone_ciphertext))
    history = [
        {
            "outcome": str(attempt.outcome),
            "note": attempt.note,
            "at": attempt.at.isoformat(),
        }
        for attempt in session.scalars(
            select(CallAttempt)
            .where(CallAttempt.callback_id == callback.id)
            .order_by(CallAttempt.id)
        )
    ]
    sheet = CallSheet(
        conversation_id=conversation_id,
        callback_id=callback.id,
        phone=phone,
        window_start=callback.window_start,
        window_end=callback.window_end,
        may_leave_message=callback.may_leave_message,
        may_say_hotline=callback.may_say_hotline,
        attempts=callback.attempts,
        max_attempts=rules.max_attempts,
        history=history,
    )
    audit.record(
        session, "phone_viewed", actor_id=counselor_id, conversation_id=conversation_id
    )
    return sheet


def log_attempt(
    session: Session,
    conversation_id: int,
    counselor_id: int,
    *,
    outcome: CallOutcome,
    note: str,
    rules: CallbackRules,
    now: datetime | None = None,
) -> AttemptResult:
    """Record one call attempt and move the callback on.

    Reached: the counsellor keeps it and wraps up as for a chat. Unreached:
    back to the queue for a try ``rules.retry_after`` from now if that falls
    in the resident's window, at the window's start if it has not opened
    yet, else at the start of the same hours the next day (the window moves
    with it); unless it was the last allowed attempt or a wrong number,
    which close it as not reached (with a wrap-up recorded for the
    counsellor, so nothing waits on them).
    """
    callback = _held_callback(session, conversation_id, counselor_id)
    now = now or utcnow()
    callback.attempts += 1
    session.add(
        CallAttempt(
            callback_id=callback.id,
            counselor_id=counselor_id,
            outcome=outcome,
            note=note,
            at=now,
        )
    )
    audit.record(
        session,
        "call_logged",
        actor_id=counselor_id,
        conversation_id=conversation_id,
        outcome=str(outcome),
        attempt=callback.attempts,
    )
    attempts = callback.attempts
    if outcome is CallOutcome.REACHED:
        return AttemptResult("reached", attempts, None)
    conversation = callback.conversation
    if outcome in FINAL_OUTCOMES or attempts >= rules.max_attempts:
        conversation.state = ConversationState.CLOSED
        conversation.closed_at = now
        session.add(
            WrapUp(
                conversation_id=conversation_id,
                counselor_id=counselor_id,
                outcome=Outcome.NOT_REACHED,
                needs=list(conversation.needs),
                follow_up=False,
                summary=note,
                created_at=now,
            )
        )
        record(session, HeldChanged(counselor_id, conversation_id, gone="wrapped"))
        return AttemptResult("closed", attempts, None)
    retry = schedule_retry(
        callback.window_start, callback.window_end, now + rules.retry_after, rules.zone
    )
    callback.window_start, callback.window_end = retry.window_start, retry.window_end
    conversation.state = ConversationState.WAITING
    conversation.counselor_id = None
    conversation.claimed_at = None
    # A callback's place in the queue is when it may next be rung.
    conversation.waiting_since = retry.at
    record(
        session,
        HeldChanged(counselor_id, conversation_id, gone="released"),
        QueueChanged(),
    )
    return AttemptResult(
        "retry", attempts, retry.at, retry.window_start, retry.window_end
    )


def _held_callback(
    session: Session, conversation_id: int, counselor_id: int
) -> Callback:
    row = session.execute(
        select(Callback, Conversation.counselor_id, Conversation.state)
        .join(Conversation, Conversation.id == Callback.conversation_id)
        .where(Callback.conversation_id == conversation_id)
    ).one_or_none()
    if row is None:
        raise NotFound("conversation")
    callback, holder, state = row
    if holder != counselor_id or state is not ConversationState.ACTIVE:
        raise NotHolder()
    return callback


def _has_open_escalation(session: Session, conversation_id: int) -> bool:
    return (
        session.scalar(
            select(Escalation.id).where(
                Escalation.conversation_id == conversation_id,
                Escalation.state != EscalationState.CLOSED,
            )
        )
        is not None
    )


def overdue_callbacks(
    session: Session, now: datetime | None = None
) -> list[OverdueCallback]:
    """Callbacks still waiting after their window closed, most urgent first."""
    now = now or utcnow()
    rows = session.execute(
        select(Callback, Conversation.risk_level)
        .join(Conversation, Conversation.id == Callback.conversation_id)
        .where(
            Conversation.state == ConversationState.WAITING,
            Callback.window_end < now,
        )
        .order_by(Conversation.risk_rank.desc(), Callback.window_end)
    ).all()
    overdue = [
        OverdueCallback(
            conversation_id=callback.conversation_id,
            callback_id=callback.id,
            risk_level=str(level),
            window_start=callback.window_start,
            window_end=callback.window_end,
            attempts=callback.attempts,
            phone_masked=mask_hint(callback.phone_hint),
        )
        for callback, level in rows
    ]
    return overdue


def erase_numbers(
    session: Session, *, closed_before: datetime, dry_run: bool = False
) -> int:
    """Erase the numbers of callbacks closed before ``closed_before``.

    The callback row stays (for reports) with its number, fingerprint and
    hint gone. Returns how many were (or, on a dry run, would be) erased.
    """
    due = (
        select(Callback.id)
        .join(Conversation, Conversation.id == Callback.conversation_id)
        .where(
            Conversation.state == ConversationState.CLOSED,
            Conversation.closed_at < closed_before,
            Callback.erased_at.is_(None),
        )
    )
    if dry_run:
        count = session.scalar(select(func.count()).select_from(due.subquery()))
        return int(count or 0)
    result = session.execute(
        update(Callback)
        .where(Callback.id.in_(due.scalar_subquery()))
        .values(
            phone_ciphertext=None,
            phone_lookup=None,
            phone_hint=None,
            erased_at=utcnow(),
        )
    )
    erased = int(result.rowcount or 0)
    if erased:
        audit.record(session, "numbers_erased", actor_id=None, count=erased)
    return erased
