"""Referrals: a counsellor sends a resident a community resource as a card,
and supervisors follow up whether it helped.

A referral card is an ordinary counsellor message: its ``body`` is the card
as plain text (in the resident's language), so transcripts, sync and
retention need nothing new; ``card`` carries the same fields for pages to
draw a card. On a callback there is no resident page: the referral is
recorded and the card text lands in the transcript for the counsellor to
read out on the phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session, aliased

from hotline.errors import (
    Conflict,
    ConversationClosed,
    Forbidden,
    InvalidInput,
    NotFound,
    NotHolder,
)
from hotline.events import MessagePosted, record
from hotline.labels import card_labels
from hotline.models import (
    Conversation,
    ConversationState,
    FollowUpStatus,
    Message,
    Referral,
    Resource,
    Role,
    Sender,
    User,
    utcnow,
)
from hotline.services import audit
from hotline.services.conversations import (
    MessageView,
    PostedMessage,
    may_write_as_staff,
)
from hotline.services.queue import update_as_holder
from hotline.services.resources import ResourceView, areas, search, suggest

MAX_FOLLOW_UP_NOTE_CHARS = 2000
MAX_AREA_CHARS = 100


@dataclass(frozen=True)
class Card:
    """What a resident needs to reach a resource."""

    resource_id: int
    name: str
    contact: str
    opening_hours: str
    area: str
    notes: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "resource_id": self.resource_id,
            "name": self.name,
            "contact": self.contact,
            "opening_hours": self.opening_hours,
            "area": self.area,
            "notes": self.notes,
        }

    def to_text(self, labels: dict[str, str]) -> str:
        """The card as plain text, one field a line, empty fields left out."""
        lines = [
            f"【{labels['title']}】{self.name}",
            f"{labels['contact']}: {self.contact}",
        ]
        if self.opening_hours:
            lines.append(f"{labels['hours']}: {self.opening_hours}")
        lines.append(f"{labels['area']}: {self.area or labels['citywide']}")
        if self.notes:
            lines.append(f"{labels['notes']}: {self.notes}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ReferralView:
    referral_id: int
    conversation_id: int
    resource_id: int
    resource_name: str
    category: str
    resource_active: bool
    counselor: str | None
    message_seq: int | None
    created_at: datetime
    follow_up_status: str
    follow_up_note: str
    followed_up_by: str | None
    followed_up_at: datetime | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "referral_id": self.referral_id,
            "conversation_id": self.conversation_id,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "category": self.category,
            "resource_active": self.resource_active,
            "counselor": self.counselor,
            "message_seq": self.message_seq,
            "created_at": self.created_at.isoformat(),
            "follow_up_status": self.follow_up_status,
            "follow_up_note": self.follow_up_note,
            "followed_up_by": self.followed_up_by,
            "followed_up_at": (
                self.followed_up_at.isoformat() if self.followed_up_at else None
            ),
        }


@dataclass(frozen=True)
class Referred:
    """A stored referral and the card message to deliver."""

    referral: ReferralView
    message: MessageView
    # Who holds the conversation (the console side of the delivery).
    holder_id: int | None
    # "chat", or "callback": no resident page, the counsellor reads it out.
    channel: str


@dataclass(frozen=True)
class ResourcePanel:
    """What the console's Resources panel shows for one conversation."""

    conversation_id: int
    area: str | None
    query: str
    resources: list[ResourceView]
    areas: list[str]
    referrals: list[ReferralView]

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "area": self.area,
            "query": self.query,
            "resources": [resource.to_payload() for resource in self.resources],
            "areas": self.areas,
            "referrals": [referral.to_payload() for referral in self.referrals],
        }


def refer(
    session: Session, conversation_id: int, counselor_id: int, resource_id: int
) -> Referred:
    """Send a resource to the resident as a card and record the referral.

    Only the holder (or the responder who joined) of an active chat or
    callback may; a retired resource cannot be sent.
    """
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFound("resource")
    if not resource.active:
        raise Conflict("resource_retired")
    card = Card(
        resource_id=resource.id,
        name=resource.name,
        contact=resource.contact,
        opening_hours=resource.opening_hours,
        area=resource.area,
        notes=resource.notes,
    )
    # The seq is taken by the same conditional UPDATE as any staff message,
    # so only the holder of an active conversation gets one.
    row = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == ConversationState.ACTIVE,
            may_write_as_staff(counselor_id),
        )
        .values(last_seq=Conversation.last_seq + 1)
        .returning(
            Conversation.last_seq,
            Conversation.counselor_id,
            Conversation.lang,
            Conversation.channel,
            Conversation.staff_joined,
        )
    ).one_or_none()
    if row is None:
        raise _refusal(session, conversation_id)
    seq, holder_id, lang, channel, staff_joined = row
    role = session.scalar(select(User.role).where(User.id == counselor_id))
    now = utcnow()
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=Sender.COUNSELOR,
        counselor_id=counselor_id,
        client_id=None,
        body=card.to_text(card_labels(lang)),
        card=card.to_payload(),
        sent_at=now,
    )
    referral = Referral(
        conversation_id=conversation_id,
        resource_id=resource.id,
        counselor_id=counselor_id,
        message_seq=seq,
        created_at=now,
        follow_up_status=FollowUpStatus.PENDING,
        follow_up_note="",
    )
    session.add_all([message, referral])
    session.flush()
    view = MessageView(
        conversation_id=conversation_id,
        seq=seq,
        sender=str(Sender.COUNSELOR),
        body=message.body,
        sent_at=now,
        client_id=None,
        author_role=str(role) if role is not None else None,
        card=message.card,
    )
    # Delivered like any staff message: to the resident and the staff in it.
    record(
        session,
        MessagePosted(
            PostedMessage(
                view,
                created=True,
                state=ConversationState.ACTIVE,
                holder_id=holder_id,
                staff_joined=staff_joined,
            )
        ),
    )
    return Referred(
        referral=_referral_views(session, Referral.id == referral.id)[0],
        message=view,
        holder_id=holder_id,
        channel=str(channel),
    )


def _refusal(session: Session, conversation_id: int) -> Exception:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return NotFound("conversation")
    if conversation.state is ConversationState.CLOSED:
        return ConversationClosed()
    return NotHolder()


def resource_panel(
    session: Session, conversation_id: int, staff_id: int, query: str = ""
) -> ResourcePanel:
    """Suggestions (or, with ``query``, directory search results) for a
    conversation the staff member holds, with its area and referrals."""
    area = _held_area(session, conversation_id, staff_id)
    found = (
        search(session, conversation_id, query)
        if query
        else suggest(session, conversation_id)
    )
    return ResourcePanel(
        conversation_id=conversation_id,
        area=area,
        query=query,
        resources=found,
        areas=areas(session),
        referrals=conversation_referrals(session, conversation_id),
    )


def _held_area(session: Session, conversation_id: int, staff_id: int) -> str | None:
    row = session.execute(
        select(Conversation.id, Conversation.area).where(
            Conversation.id == conversation_id, may_write_as_staff(staff_id)
        )
    ).one_or_none()
    if row is None:
        raise _refusal(session, conversation_id)
    return row.area


def set_area(
    session: Session, conversation_id: int, staff_id: int, area: str
) -> str | None:
    """Record the district or community the resident is in (empty clears it)."""
    value = area.strip() or None
    if value is not None and len(value) > MAX_AREA_CHARS:
        raise InvalidInput("too_long", field="area", max_chars=MAX_AREA_CHARS)
    update_as_holder(session, conversation_id, staff_id, area=value)
    return value


def conversation_referrals(
    session: Session, conversation_id: int
) -> list[ReferralView]:
    """The resources sent in one conversation, oldest first."""
    return _referral_views(
        session, Referral.conversation_id == conversation_id, newest_first=False
    )


def list_referrals(
    session: Session, status: FollowUpStatus | str | None = None, limit: int = 500
) -> list[ReferralView]:
    """Referrals for follow-up, newest first, optionally by follow-up status."""
    condition = (
        Referral.follow_up_status == FollowUpStatus(status) if status else true()
    )
    return _referral_views(session, condition, limit=limit)


def set_follow_up(
    session: Session,
    referral_id: int,
    actor_id: int,
    status: FollowUpStatus | str,
    note: str,
) -> ReferralView:
    """Record what a supervisor's follow-up found (audited, without the note:
    the audit trail holds no free text)."""
    status = FollowUpStatus(status)
    note = note.strip()
    if len(note) > MAX_FOLLOW_UP_NOTE_CHARS:
        raise InvalidInput("too_long", field="note", max_chars=MAX_FOLLOW_UP_NOTE_CHARS)
    role = session.scalar(select(User.role).where(User.id == actor_id))
    if role is not Role.SUPERVISOR:
        raise Forbidden("supervisors_only")
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("referral")
    referral.follow_up_status = status
    referral.follow_up_note = note
    referral.followed_up_by = actor_id
    referral.followed_up_at = utcnow()
    audit.record(
        session,
        "referral_followed_up",
        actor_id=actor_id,
        conversation_id=referral.conversation_id,
        referral_id=referral.id,
        status=str(status),
    )
    return _referral_views(session, Referral.id == referral_id)[0]


def _referral_views(
    session: Session, condition: Any, *, newest_first: bool = True, limit: int = 500
) -> list[ReferralView]:
    counselor = aliased(User)
    follower = aliased(User)
    order = Referral.id.desc() if newest_first else Referral.id
    rows = session.execute(
        select(Referral, Resource, counselor.username, follower.username)
        .join(Resource, Resource.id == Referral.resource_id)
        .outerjoin(counselor, counselor.id == Referral.counselor_id)
        .outerjoin(follower, follower.id == Referral.followed_up_by)
        .where(condition)
        .order_by(order)
        .limit(limit)
    ).all()
    return [
        ReferralView(
            referral_id=referral.id,
            conversation_id=referral.conversation_id,
            resource_id=resource.id,
            resource_name=resource.name,
            category=str(resource.category),
            resource_active=resource.active,
            counselor=counselor_name,
            message_seq=referral.message_seq,
            created_at=referral.created_at,
            follow_up_status=str(referral.follow_up_status),
            follow_up_note=referral.follow_up_note,
            followed_up_by=follower_name,
            followed_up_at=referral.followed_up_at,
        )
        for referral, resource, counselor_name, follower_name in rows
    ]
