"""The waiting queue and who holds which conversation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from hotline.errors import (
    AlreadyClaimed,
    CallbackWindowNotOpen,
    ConversationClosed,
    Forbidden,
    LoadLimitReached,
    NotFound,
    NotHolder,
    OnBreak,
)
from hotline.events import HeldChanged, QueueChanged, StatusChanged, record
from hotline.models import (
    AuditEvent,
    Callback,
    Conversation,
    ConversationState,
    Message,
    RiskLevel,
    Role,
    Sender,
    User,
    WrapUp,
    utcnow,
)
from hotline.phones import mask_hint
from hotline.services import audit
from hotline.services.conversations import may_write_as_staff

PREVIEW_CHARS = 120


@dataclass(frozen=True)
class CallbackSummary:
    """A waiting callback's window and tries, with the number masked."""

    window_start: datetime
    window_end: datetime
    attempts: int
    phone_masked: str
    # The window has opened (or the retry time has come): ring now.
    due: bool
    # The window has closed and nobody has reached the resident.
    overdue: bool

    def to_payload(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "attempts": self.attempts,
            "phone_masked": self.phone_masked,
            "due": self.due,
            "overdue": self.overdue,
        }


@dataclass(frozen=True)
class QueueItem:
    """A waiting conversation (chat or callback) as the console lists it."""

    conversation_id: int
    lang: str
    # For a callback: when it may next be called.
    waiting_since: datetime
    message_count: int
    preview: str
    risk_level: str
    signals: list[str]
    needs: list[str]
    callback: CallbackSummary | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "kind": "callback" if self.callback else "chat",
            "lang": self.lang,
            "waiting_since": self.waiting_since.isoformat(),
            "message_count": self.message_count,
            "preview": self.preview,
            "risk_level": self.risk_level,
            # Kinds, which staff are shown; the names stay in the database.
            "signals": signal_kinds(self.signals),
            "needs": self.needs,
            "callback": self.callback.to_payload() if self.callback else None,
        }


def signal_kinds(names: list[str]) -> list[str]:
    """Distinct kinds of signal names, in first-seen order."""
    from triage import signal_kind

    return list(dict.fromkeys(signal_kind(name) for name in names))


@dataclass(frozen=True)
class ConversationStatus:
    """What a resident is told about their conversation."""

    conversation_id: int
    state: ConversationState
    position: int | None
    # About how long until a counsellor answers; None when there is no
    # honest estimate (too few recent claims to know the pace).
    estimated_minutes: int | None = None

    def to_payload(self) -> dict[str, Any]:
        return status_payload(self.state, self.position, self.estimated_minutes)


# A wait this long is told to the resident straight away, with a callback
# or self-help offered instead of an endless wait.
LONG_WAIT_MINUTES = 60


def status_payload(
    state: ConversationState, position: int | None, estimated_minutes: int | None
) -> dict[str, Any]:
    """The resident's ``status`` push (docs/protocol.md)."""
    return {
        "state": str(state),
        "position": position,
        "estimated_minutes": estimated_minutes,
        "long_wait": estimated_minutes is not None
        and estimated_minutes >= LONG_WAIT_MINUTES,
    }


# The wait estimate uses the pace of claims over the last hour, and only
# when there were enough of them to mean something.
PACE_WINDOW = timedelta(hours=1)
PACE_MIN_CLAIMS = 3


def service_pace(session: Session, now: datetime | None = None) -> float | None:
    """Conversations taken per minute lately, or None if too few to tell."""
    now = now or utcnow()
    claims = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "claim", AuditEvent.at > now - PACE_WINDOW)
    )
    if (claims or 0) < PACE_MIN_CLAIMS:
        return None
    return claims / (PACE_WINDOW.total_seconds() / 60)


def estimate_minutes(position: int | None, pace: float | None) -> int | None:
    """Minutes until someone at ``position`` is answered, at ``pace`` a minute."""
    if position is None or pace is None:
        return None
    return max(1, math.ceil(position / pace))


@dataclass(frozen=True)
class HeldConversation:
    """A conversation a counsellor holds (active, or closed awaiting wrap-up)."""

    conversation_id: int
    lang: str
    state: ConversationState
    claimed_at: datetime | None
    last_seq: int
    risk_level: str
    needs: list[str]
    holder_id: int | None
    kind: str = "chat"

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "kind": self.kind,
            "holder_id": self.holder_id,
            "lang": self.lang,
            "state": str(self.state),
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
            "last_seq": self.last_seq,
            "risk_level": self.risk_level,
            "needs": self.needs,
        }


def _queue_order() -> tuple[Any, ...]:
    # Most urgent first, then longest waiting.
    return (
        Conversation.risk_rank.desc(),
        Conversation.waiting_since,
        Conversation.id,
    )


# The console is sent at most this many queue items at once (the most urgent,
# then longest waiting) with counts per level for the rest: a push's size
# does not grow with the queue (docs/decisions.md, "The queue under surge").
QUEUE_PAGE = 50


def waiting_queue(session: Session, limit: int | None = None) -> list[QueueItem]:
    """Waiting conversations in service order, with a preview of the latest
    words: the first ``limit`` of them."""
    latest_resident_seq = (
        select(func.max(Message.seq))
        .where(
            Message.conversation_id == Conversation.id,
            Message.sender == Sender.RESIDENT,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    preview = (
        select(Message.body)
        .where(
            Message.conversation_id == Conversation.id,
            Message.seq == latest_resident_seq,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Conversation.id,
            Conversation.lang,
            Conversation.waiting_since,
            Conversation.last_seq,
            preview,
            Conversation.risk_level,
            Conversation.risk_signals,
            Conversation.needs,
            Callback,
        )
        .outerjoin(Callback, Callback.conversation_id == Conversation.id)
        .where(Conversation.state == ConversationState.WAITING)
        .order_by(*_queue_order())
        .limit(limit)
    ).all()
    now = utcnow()
    return [
        QueueItem(
            conversation_id=row[0],
            lang=row[1],
            waiting_since=row[2],
            message_count=row[3],
            preview=(row[4] or "")[:PREVIEW_CHARS],
            risk_level=str(row[5]),
            signals=list(row[6]),
            needs=list(row[7]),
            callback=_callback_summary(row[8], row[2], now) if row[8] else None,
        )
        for row in rows
    ]


def queue_snapshot(session: Session, limit: int = QUEUE_PAGE) -> dict[str, Any]:
    """The console's ``queue`` push: the first page, and how many wait at each
    level in all."""
    counts = dict(
        session.execute(
            select(Conversation.risk_level, func.count())
            .where(Conversation.state == ConversationState.WAITING)
            .group_by(Conversation.risk_level)
        ).all()
    )
    return {
        "items": [item.to_payload() for item in waiting_queue(session, limit)],
        "total": sum(counts.values()),
        "counts": {str(level): counts.get(level, 0) for level in RiskLevel},
    }


def waiting_order(session: Session) -> list[int]:
    """The ids of every waiting conversation, in service order: one indexed
    scan gives every resident's position at once."""
    return list(
        session.scalars(
            select(Conversation.id)
            .where(Conversation.state == ConversationState.WAITING)
            .order_by(*_queue_order())
        )
    )


def _callback_summary(
    callback: Callback, next_call_at: datetime, now: datetime
) -> CallbackSummary:
    return CallbackSummary(
        window_start=callback.window_start,
        window_end=callback.window_end,
        attempts=callback.attempts,
        phone_masked=mask_hint(callback.phone_hint),
        due=next_call_at <= now,
        overdue=callback.window_end < now,
    )


def conversation_status(
    session: Session,
    conversation_id: int,
    place: tuple[int, int | None] | None = None,
) -> ConversationStatus:
    """The resident-facing state and, while waiting, the queue position.

    ``place`` is the position and estimate a recent scan of the whole queue
    found (``hotline.dispatcher.PositionPushes.place``); a waiting
    conversation takes it instead of counting the queue ahead of it.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    position = None
    if conversation.state is ConversationState.WAITING and place is not None:
        return ConversationStatus(conversation.id, conversation.state, *place)
    if conversation.state is ConversationState.WAITING:
        # Three range counts on the queue index (state, risk_rank,
        # waiting_since, id) instead of one OR that reads every waiting row.
        waiting = Conversation.state == ConversationState.WAITING
        same_rank = Conversation.risk_rank == conversation.risk_rank
        ahead = sum(
            session.scalar(select(func.count()).where(waiting, *condition)) or 0
            for condition in (
                (Conversation.risk_rank > conversation.risk_rank,),
                (same_rank, Conversation.waiting_since < conversation.waiting_since),
                (
                    same_rank,
                    Conversation.waiting_since == conversation.waiting_since,
                    Conversation.id < conversation.id,
                ),
            )
        )
        position = int(ahead or 0) + 1
    status = ConversationStatus(conversation.id, conversation.state, position)
    if position is not None:
        estimate = estimate_minutes(position, service_pace(session))
        status = ConversationStatus(
            status.conversation_id, status.state, position, estimate
        )
    return status


@dataclass(frozen=True)
class LoadLimits:
    """How much one counsellor may hold at once (from config)."""

    max_conversations: int = 3
    max_high_risk: int = 1

    @classmethod
    def from_config(cls, config: Any) -> LoadLimits:
        return cls(
            max_conversations=int(config["MAX_CONVERSATIONS_PER_COUNSELOR"]),
            max_high_risk=int(config["MAX_HIGH_RISK_PER_COUNSELOR"]),
        )


def check_load(
    session: Session, user_id: int, conversation_id: int, limits: LoadLimits
) -> None:
    """Refuse to give ``user_id`` one more conversation beyond the limits:
    too many at once, too many high-risk ones at once, or while on a break.

    Counts active conversations the person holds (chats and callbacks).
    """
    paused_until = session.scalar(select(User.paused_until).where(User.id == user_id))
    if paused_until is not None and paused_until > utcnow():
        raise OnBreak(until=paused_until.isoformat())
    high = RiskLevel.HIGH.rank
    held, held_high = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((Conversation.risk_rank >= high, 1), else_=0)), 0
            ),
        ).where(
            Conversation.counselor_id == user_id,
            Conversation.state == ConversationState.ACTIVE,
            Conversation.id != conversation_id,
        )
    ).one()
    rank = session.scalar(
        select(Conversation.risk_rank).where(Conversation.id == conversation_id)
    )
    if held >= limits.max_conversations:
        raise LoadLimitReached("conversations", limit=limits.max_conversations)
    if rank is not None and rank >= high and held_high >= limits.max_high_risk:
        raise LoadLimitReached("high_risk", limit=limits.max_high_risk)


def claim_conversation(
    session: Session,
    conversation_id: int,
    counselor_id: int,
    limits: LoadLimits | None = None,
    *,
    before_window: bool = False,
    now: datetime | None = None,
) -> HeldConversation:
    """Take a waiting conversation; exactly one of several racing claimers wins.

    With ``limits``, refused (before anything changes) when the counsellor
    already holds their share. A callback is refused before the window the
    resident chose opens, unless a supervisor asks (``before_window``);
    that call is audited.
    """
    now = now or utcnow()
    if before_window and _role(session, counselor_id) is not Role.SUPERVISOR:
        raise Forbidden("before_window")
    if limits is not None:
        check_load(session, counselor_id, conversation_id, limits)
    claim = update(Conversation).where(
        Conversation.id == conversation_id,
        Conversation.state == ConversationState.WAITING,
    )
    if not before_window:
        # In the same statement, so a retry that moved the window meanwhile
        # cannot slip through.
        claim = claim.where(~_window_opens_after(now))
    result = session.execute(
        claim.values(
            state=ConversationState.ACTIVE,
            counselor_id=counselor_id,
            claimed_at=now,
            # What the resident wrote while waiting is now theirs to answer:
            # the response clock starts at the claim.
            awaiting_reply_since=case(
                (Conversation.awaiting_reply_since.is_(None), None), else_=now
            ),
            reply_alert_stage=0,
        )
    )
    if result.rowcount != 1:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("conversation")
        if conversation.state is ConversationState.CLOSED:
            raise ConversationClosed()
        opens_at = _window_start(session, conversation_id)
        if (
            conversation.state is ConversationState.WAITING
            and opens_at is not None
            and opens_at > now
        ):
            raise CallbackWindowNotOpen(opens_at=opens_at.isoformat())
        raise AlreadyClaimed()
    if before_window:
        opens_at = _window_start(session, conversation_id)
        if opens_at is not None and opens_at > now:
            audit.record(
                session,
                "callback_window_overridden",
                actor_id=counselor_id,
                conversation_id=conversation_id,
                window_start=opens_at.isoformat(),
            )
    audit.record(
        session, "claim", actor_id=counselor_id, conversation_id=conversation_id
    )
    record(
        session,
        HeldChanged(counselor_id, conversation_id),
        StatusChanged(conversation_id),
        QueueChanged(),
    )
    return held_conversation(session, conversation_id)


def _window_opens_after(now: datetime) -> Any:
    """The conversation is a callback whose window opens after ``now``."""
    return (
        select(Callback.id)
        .where(Callback.conversation_id == Conversation.id, Callback.window_start > now)
        .exists()
    )


def _window_start(session: Session, conversation_id: int) -> datetime | None:
    return session.scalar(
        select(Callback.window_start).where(Callback.conversation_id == conversation_id)
    )


def _role(session: Session, user_id: int) -> Role | None:
    return session.scalar(select(User.role).where(User.id == user_id))


def release_conversation(
    session: Session, conversation_id: int, counselor_id: int
) -> None:
    """Return a held, active conversation to the queue at its original place."""
    return_to_queue(session, conversation_id, counselor_id)
    audit.record(
        session, "release", actor_id=counselor_id, conversation_id=conversation_id
    )
    record(session, HeldChanged(counselor_id, conversation_id, gone="released"))


def return_to_queue(session: Session, conversation_id: int, counselor_id: int) -> None:
    """Put a conversation the counsellor holds back in the queue, in the
    caller's transaction. ``waiting_since`` is kept, so the resident does not
    lose their turn. NotHolder or NotFound otherwise."""
    result = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == ConversationState.ACTIVE,
            Conversation.counselor_id == counselor_id,
        )
        .values(state=ConversationState.WAITING, counselor_id=None, claimed_at=None)
    )
    if result.rowcount != 1:
        raise not_held_error(session, conversation_id)
    record(session, StatusChanged(conversation_id), QueueChanged())


def held_conversations(session: Session, counselor_id: int) -> list[HeldConversation]:
    """Active conversations the staff member holds or joined, and closed ones
    they hold that still await a wrap-up."""
    conversations = session.scalars(
        select(Conversation)
        .outerjoin(WrapUp, WrapUp.conversation_id == Conversation.id)
        .where(
            (
                (Conversation.state == ConversationState.ACTIVE)
                & may_write_as_staff(counselor_id)
            )
            | (
                (Conversation.state == ConversationState.CLOSED)
                & (Conversation.counselor_id == counselor_id)
                & WrapUp.id.is_(None)
            ),
        )
        .order_by(Conversation.claimed_at)
    ).all()
    held = [_held_view(conversation) for conversation in conversations]
    return held


def require_holder(session: Session, conversation_id: int, counselor_id: int) -> None:
    """Raise unless the staff member holds the conversation or joined it."""
    allowed = session.scalar(
        select(Conversation.id).where(
            Conversation.id == conversation_id, may_write_as_staff(counselor_id)
        )
    )
    if allowed is None:
        raise not_held_error(session, conversation_id)


def held_conversation(session: Session, conversation_id: int) -> HeldConversation:
    """One conversation as the console lists it among a staff member's own."""
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    view = _held_view(conversation)
    return view


def _held_view(conversation: Conversation) -> HeldConversation:
    return HeldConversation(
        conversation_id=conversation.id,
        lang=conversation.lang,
        state=conversation.state,
        claimed_at=conversation.claimed_at,
        last_seq=conversation.last_seq,
        risk_level=str(conversation.risk_level),
        needs=list(conversation.needs),
        holder_id=conversation.counselor_id,
        kind=str(conversation.channel),
    )


def not_held_error(session: Session, conversation_id: int) -> Exception:
    """NotHolder if the conversation exists, else NotFound."""
    exists = session.scalar(
        select(Conversation.id).where(Conversation.id == conversation_id)
    )
    return NotHolder() if exists is not None else NotFound("conversation")


def holder_of(session: Session, conversation_id: int) -> int | None:
    """The staff member holding the conversation, if any."""
    holder = session.scalar(
        select(Conversation.counselor_id).where(Conversation.id == conversation_id)
    )
    return holder


def update_as_holder(
    session: Session, conversation_id: int, staff_id: int, **values: Any
) -> None:
    """Set fields of a conversation the staff member holds or joined;
    NotHolder or NotFound otherwise."""
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, may_write_as_staff(staff_id))
        .values(**values)
    )
    if result.rowcount != 1:
        raise not_held_error(session, conversation_id)
