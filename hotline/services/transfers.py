"""Handing a conversation over: warm to a named colleague, or cold to the queue.

A warm transfer is an offer the colleague accepts or declines; the holder may
withdraw it until then. Accepting moves the conversation with one conditional
UPDATE, so an offer made by someone who no longer holds the conversation
fails cleanly instead of taking it from its new holder.

Every function runs in the caller's unit of work and records what both
people (and the resident) must hear; ``hotline.dispatcher`` tells them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from hotline.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    NotHolder,
    TargetUnavailable,
    TransferPending,
    TransferStale,
)
from hotline.events import (
    HeldChanged,
    TransferAccepted,
    TransferChanged,
    TransferOffered,
    record,
)
from hotline.models import (
    Conversation,
    ConversationState,
    Note,
    Role,
    Transfer,
    TransferState,
    User,
    utcnow,
)
from hotline.services import audit
from hotline.services.conversations import post_system_message
from hotline.services.queue import LoadLimits, check_load, return_to_queue

MAX_NOTE_CHARS = 1000
CONSOLE_ROLES = (Role.COUNSELOR, Role.SOCIAL_WORKER, Role.SUPERVISOR)
NOTE_KIND = "transfer"
# The notice residents see when a colleague takes their conversation over.
COUNSELOR_CHANGED = "counselor_changed"


@dataclass(frozen=True)
class Colleague:
    """An on-duty staff member as the transfer picker lists them."""

    user_id: int
    name: str
    role: str
    # Active conversations they hold right now.
    load: int

    def to_payload(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role,
            "load": self.load,
        }


@dataclass(frozen=True)
class TransferView:
    """A transfer offer, with what the colleague needs to decide."""

    transfer_id: int
    conversation_id: int
    kind: str
    from_id: int
    from_name: str
    to_id: int
    to_name: str
    note: str
    state: TransferState
    created_at: datetime
    decided_at: datetime | None
    decision_note: str
    risk_level: str
    needs: list[str]

    def to_payload(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "conversation_id": self.conversation_id,
            "kind": self.kind,
            "from_id": self.from_id,
            "from_name": self.from_name,
            "to_id": self.to_id,
            "to_name": self.to_name,
            "note": self.note,
            "state": str(self.state),
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_note": self.decision_note,
            "risk_level": self.risk_level,
            "needs": self.needs,
        }


def staff_name(user: User) -> str:
    """What colleagues call a staff member: the display name, else the username."""
    return user.display_name or user.username


def colleagues(session: Session, user_id: int) -> list[Colleague]:
    """On-duty console staff other than ``user_id``, least loaded first."""
    load = (
        select(func.count())
        .where(
            Conversation.counselor_id == User.id,
            Conversation.state == ConversationState.ACTIVE,
        )
        .correlate(User)
        .scalar_subquery()
    )
    rows = session.execute(
        select(User, load)
        .where(
            User.is_active.is_(True),
            User.is_on_duty.is_(True),
            User.role.in_(CONSOLE_ROLES),
            User.id != user_id,
        )
        .order_by(load, User.username)
    ).all()
    found = [
        Colleague(user.id, staff_name(user), str(user.role), int(count))
        for user, count in rows
    ]
    return found


def offer(
    session: Session, conversation_id: int, from_id: int, to_id: int, note: str
) -> TransferView:
    """Offer a held conversation to an on-duty colleague (one offer at a time)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    if (
        conversation.state is not ConversationState.ACTIVE
        or conversation.counselor_id != from_id
    ):
        raise NotHolder()
    target = session.get(User, to_id)
    if (
        target is None
        or to_id == from_id
        or not target.is_active
        or not target.is_on_duty
        or target.role not in CONSOLE_ROLES
    ):
        raise TargetUnavailable(field="to_user_id")
    now = utcnow()
    # An offer left by an earlier holder can never be accepted any more;
    # it must not block this holder's offer.
    session.execute(
        update(Transfer)
        .where(
            Transfer.conversation_id == conversation_id,
            Transfer.state == TransferState.PENDING,
            Transfer.from_id != from_id,
        )
        .values(state=TransferState.CANCELLED, decided_at=now)
    )
    transfer = Transfer(
        conversation_id=conversation_id,
        from_id=from_id,
        to_id=to_id,
        note=note,
        state=TransferState.PENDING,
        created_at=now,
        decision_note="",
    )
    try:
        # A savepoint: the unique index on pending offers refuses a second
        # one without spoiling the rest of the unit.
        with session.begin_nested():
            session.add(transfer)
            session.flush()
    except IntegrityError as error:
        raise TransferPending() from error
    audit.record(
        session,
        "transfer_offered",
        actor_id=from_id,
        conversation_id=conversation_id,
        transfer_id=transfer.id,
        to_id=to_id,
    )
    record(session, TransferOffered(transfer.id))
    return get(session, transfer.id)


def accept(
    session: Session,
    transfer_id: int,
    user_id: int,
    limits: LoadLimits | None = None,
) -> TransferView:
    """The colleague takes the conversation over; the transfer note is kept,
    and a chat's resident is told their counsellor changed.

    Fails cleanly (``transfer_stale``, nothing changed) when the offerer no
    longer holds an active conversation; the caller then closes the offer
    with :func:`withdraw_stale` in a unit of its own.
    """
    transfer = _pending_for(session, transfer_id, to_id=user_id)
    conversation_id, from_id, note = (
        transfer.conversation_id,
        transfer.from_id,
        transfer.note,
    )
    if limits is not None:
        check_load(session, user_id, conversation_id, limits)
    now = utcnow()
    _settle(session, transfer_id, TransferState.ACCEPTED, "")
    moved = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == ConversationState.ACTIVE,
            Conversation.counselor_id == from_id,
        )
        .values(counselor_id=user_id)
    )
    if moved.rowcount != 1:
        raise TransferStale()
    if note:
        session.add(
            Note(
                conversation_id=conversation_id,
                author_id=from_id,
                body=note,
                created_at=now,
                kind=NOTE_KIND,
            )
        )
    audit.record(
        session,
        "transfer_accepted",
        actor_id=user_id,
        conversation_id=conversation_id,
        transfer_id=transfer_id,
        from_id=from_id,
    )
    view = get(session, transfer_id)
    record(
        session,
        HeldChanged(user_id, conversation_id),
        TransferAccepted(transfer_id),
    )
    if view.kind == "chat":
        post_system_message(session, conversation_id, COUNSELOR_CHANGED)
    return view


def withdraw_stale(session: Session, transfer_id: int) -> bool:
    """Close a pending offer that can never succeed (its offerer no longer
    holds an active conversation) so it stops blocking; True if it did."""
    holds_it = (
        select(Conversation.id)
        .where(
            Conversation.id == Transfer.conversation_id,
            Conversation.state == ConversationState.ACTIVE,
            Conversation.counselor_id == Transfer.from_id,
        )
        .exists()
    )
    result = session.execute(
        update(Transfer)
        .where(
            Transfer.id == transfer_id,
            Transfer.state == TransferState.PENDING,
            ~holds_it,
        )
        .values(state=TransferState.CANCELLED, decided_at=utcnow())
    )
    return result.rowcount == 1


def decline(
    session: Session, transfer_id: int, user_id: int, note: str
) -> TransferView:
    """The colleague says no, optionally saying why; the holder keeps the chat."""
    transfer = _pending_for(session, transfer_id, to_id=user_id)
    conversation_id = transfer.conversation_id
    _settle(session, transfer_id, TransferState.DECLINED, note)
    audit.record(
        session,
        "transfer_declined",
        actor_id=user_id,
        conversation_id=conversation_id,
        transfer_id=transfer_id,
    )
    record(session, TransferChanged(transfer_id))
    return get(session, transfer_id)


def cancel(session: Session, transfer_id: int, from_id: int) -> TransferView:
    """The holder withdraws an offer nobody has answered yet."""
    transfer = _pending_for(session, transfer_id, from_id=from_id)
    conversation_id = transfer.conversation_id
    _settle(session, transfer_id, TransferState.CANCELLED, "")
    audit.record(
        session,
        "transfer_cancelled",
        actor_id=from_id,
        conversation_id=conversation_id,
        transfer_id=transfer_id,
    )
    record(session, TransferChanged(transfer_id))
    return get(session, transfer_id)


def to_queue(
    session: Session, conversation_id: int, from_id: int, note: str
) -> TransferView | None:
    """Return a held conversation to the queue with a note for whoever claims it.

    It goes back to its original place, as with a plain release. An offer
    still waiting for an answer is withdrawn (and returned); the colleague
    is told.
    """
    if not note.strip():
        raise InvalidInput("transfer_note", field="note")
    return_to_queue(session, conversation_id, from_id)
    now = utcnow()
    withdrawn = session.scalar(
        select(Transfer.id).where(
            Transfer.conversation_id == conversation_id,
            Transfer.state == TransferState.PENDING,
        )
    )
    if withdrawn is not None:
        session.execute(
            update(Transfer)
            .where(Transfer.id == withdrawn)
            .values(state=TransferState.CANCELLED, decided_at=now)
        )
    session.add(
        Note(
            conversation_id=conversation_id,
            author_id=from_id,
            body=note,
            created_at=now,
            kind=NOTE_KIND,
        )
    )
    audit.record(
        session, "transfer_to_queue", actor_id=from_id, conversation_id=conversation_id
    )
    record(session, HeldChanged(from_id, conversation_id, gone="released"))
    if withdrawn is not None:
        record(session, TransferChanged(withdrawn))
    return get(session, withdrawn) if withdrawn is not None else None


def get(session: Session, transfer_id: int) -> TransferView:
    """One transfer with both names and the conversation's level and needs."""
    views = _views(session, Transfer.id == transfer_id)
    if not views:
        raise NotFound("transfer")
    return views[0]


def pending(
    session: Session, user_id: int
) -> tuple[list[TransferView], list[TransferView]]:
    """Offers waiting for ``user_id`` to answer, and offers they are waiting on."""
    views = _views(
        session,
        (Transfer.state == TransferState.PENDING)
        & ((Transfer.to_id == user_id) | (Transfer.from_id == user_id)),
    )
    incoming = [view for view in views if view.to_id == user_id]
    outgoing = [view for view in views if view.from_id == user_id]
    return incoming, outgoing


def _pending_for(
    session: Session,
    transfer_id: int,
    *,
    to_id: int | None = None,
    from_id: int | None = None,
) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound("transfer")
    if (to_id is not None and transfer.to_id != to_id) or (
        from_id is not None and transfer.from_id != from_id
    ):
        raise Forbidden("transfer_not_yours")
    if transfer.state is not TransferState.PENDING:
        raise Conflict("transfer_answered")
    return transfer


def _settle(
    session: Session, transfer_id: int, state: TransferState, decision_note: str
) -> None:
    """Close a pending offer in the caller's unit of work."""
    result = session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.state == TransferState.PENDING)
        .values(state=state, decided_at=utcnow(), decision_note=decision_note)
    )
    if result.rowcount != 1:
        raise Conflict("transfer_answered")


def _views(session: Session, condition: Any) -> list[TransferView]:
    offerer, target = aliased(User), aliased(User)
    rows = session.execute(
        select(Transfer, offerer, target, Conversation)
        .join(offerer, offerer.id == Transfer.from_id)
        .join(target, target.id == Transfer.to_id)
        .join(Conversation, Conversation.id == Transfer.conversation_id)
        .where(condition)
        .order_by(Transfer.id)
    ).all()
    views = [
        TransferView(
            transfer_id=transfer.id,
            conversation_id=transfer.conversation_id,
            kind=str(conversation.channel),
            from_id=transfer.from_id,
            from_name=staff_name(sender),
            to_id=transfer.to_id,
            to_name=staff_name(receiver),
            note=transfer.note,
            state=transfer.state,
            created_at=transfer.created_at,
            decided_at=transfer.decided_at,
            decision_note=transfer.decision_note,
            risk_level=str(conversation.risk_level),
            needs=list(conversation.needs),
        )
        for transfer, sender, receiver, conversation in rows
    ]
    return views
