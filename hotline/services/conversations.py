"""Resident conversations: start, resume by token, post and read messages."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.errors import (
    ConversationClosed,
    NotAChat,
    NotFound,
    NotHolder,
    QueueFull,
    Unauthorized,
)
from hotline.events import (
    CrisisContactsShown,
    HeldChanged,
    MessagePosted,
    QueueChanged,
    QueueItemChanged,
    record,
)
from hotline.models import (
    Assessment,
    AuditEvent,
    BlockKind,
    Channel,
    Conversation,
    ConversationState,
    Escalation,
    EscalationState,
    Message,
    RiskLevel,
    Sender,
    User,
    utcnow,
)
from hotline.services import escalations
from hotline.services.blocks import refuse_if_blocked, token_blocked
from hotline.services.risk import (
    ContextLine,
    ConversationRisk,
    TriageResult,
    apply_assessment,
)

SUPPORTED_LANGS = ("zh", "en")
# The audit action that records a supervisor joining a chat openly.
OPEN_JOIN_ACTION = "chat_joined_openly"
# What secrets.token_urlsafe produces (anything else is refused unhashed).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")


@dataclass(frozen=True)
class MessageView:
    """A stored message as clients see it."""

    conversation_id: int
    seq: int
    sender: str
    body: str
    sent_at: datetime
    client_id: str | None
    # The staff author's role ("counselor", "social_worker", ...), if staff.
    author_role: str | None = None
    # Staff only: the triage result of a resident message.
    assessment: dict[str, Any] | None = field(default=None, compare=False)
    # A referral card's fields, for pages to render as a card (else None).
    card: dict[str, Any] | None = field(default=None, compare=False)

    def to_payload(self, *, for_staff: bool = False) -> dict[str, Any]:
        """The Socket.IO ``message`` payload (DESIGN §3); triage for staff only."""
        payload = {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "sender": self.sender,
            "body": self.body,
            "sent_at": self.sent_at.isoformat(),
            "client_id": self.client_id,
            "author_role": self.author_role,
            "card": self.card,
        }
        if for_staff:
            payload["assessment"] = self.assessment
        return payload


@dataclass(frozen=True)
class PostedMessage:
    message: MessageView
    # False when the client_id was seen before and nothing new was stored.
    created: bool
    state: ConversationState
    # Who to deliver it to on the console side (None while waiting).
    holder_id: int | None
    risk_level: RiskLevel = RiskLevel.LOW
    # True when this message raised the conversation's level.
    risk_raised: bool = False
    # Set when this message opened an escalation.
    escalation_id: int | None = None
    # Whether staff besides the holder may be in the chat (see
    # Conversation.staff_joined); unknown, so True, for a resend.
    staff_joined: bool = True


def hash_token(token: str) -> str:
    """SHA-256 of a resume token; tokens are random, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_conversation(
    session: Session,
    lang: str,
    previous_id: int | None = None,
    *,
    max_waiting: int | None = None,
) -> tuple[int, str]:
    """Open a waiting conversation; returns its id and the secret resume token.

    ``previous_id`` links a returning resident's earlier conversation (with
    their consent, see ``hotline.services.history``). With ``max_waiting``,
    QueueFull when that many chats already wait: better told at once to
    leave a callback than to wait for hours.
    """
    if max_waiting is not None:
        waiting = session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.state == ConversationState.WAITING,
                Conversation.channel == Channel.CHAT,
            )
        )
        if waiting >= max_waiting:
            raise QueueFull()
    conversation, token = new_conversation(lang, Channel.CHAT, waiting_since=utcnow())
    conversation.previous_id = previous_id
    # No page has connected yet: one that never does has left the queue.
    conversation.resident_gone_at = conversation.created_at
    session.add(conversation)
    session.flush()
    record(session, QueueChanged())
    return conversation.id, token


def new_conversation(
    lang: str, channel: Channel, *, waiting_since: datetime
) -> tuple[Conversation, str]:
    """A waiting conversation (not yet added) and its secret resume token.

    The token is 256 bits from the OS's CSPRNG; only its hash is stored.
    """
    token = secrets.token_urlsafe(32)
    conversation = Conversation(
        token_hash=hash_token(token),
        lang=lang,
        channel=channel,
        state=ConversationState.WAITING,
        created_at=utcnow(),
        waiting_since=waiting_since,
    )
    return conversation, token


def conversation_for_token(
    session: Session, token: object, channel: Channel | None = Channel.CHAT
) -> int:
    """The id of the conversation a resume token opens, or Unauthorized.

    ``channel`` None accepts a chat's or a callback's token.
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise Unauthorized("token")
    query = select(Conversation.id).where(Conversation.token_hash == hash_token(token))
    if channel is not None:
        query = query.where(Conversation.channel == channel)
    conversation_id = session.scalar(query)
    if conversation_id is None:
        raise Unauthorized("token")
    return conversation_id


def may_write_as_staff(staff_id: int) -> Any:
    """SQL condition: the staff member holds the conversation, is the
    responder who joined its escalation, or a supervisor who joined openly."""
    joined = exists().where(
        Escalation.conversation_id == Conversation.id,
        Escalation.state == EscalationState.JOINED,
        Escalation.assignee_id == staff_id,
    )
    # A supervisor's open join is recorded once in the append-only audit
    # trail, and that record is the participation (docs/decisions.md).
    joined_openly = exists().where(
        AuditEvent.conversation_id == Conversation.id,
        AuditEvent.action == OPEN_JOIN_ACTION,
        AuditEvent.actor_id == staff_id,
    )
    return (Conversation.counselor_id == staff_id) | joined | joined_openly


def joined_staff(session: Session, conversation_id: int) -> set[int]:
    """Staff who joined the chat besides its holder: the responder in its
    escalation and supervisors who joined openly. One query (it runs after
    the message's commit, for delivery)."""
    joined = set(session.scalars(_JOINED_STAFF, {"conversation_id": conversation_id}))
    return joined - {None}


# The statements every message runs are built once, with bound parameters:
# SQLAlchemy then reuses their cache key and compiled form instead of
# rebuilding and hashing the expression per message.
_CONVERSATION_ID = bindparam("conversation_id")
_STAFF_ID = bindparam("staff_id")
_NOW = bindparam("now")
_JOINED_STAFF = union(
    select(Escalation.assignee_id.label("user_id")).where(
        Escalation.conversation_id == _CONVERSATION_ID,
        Escalation.state == EscalationState.JOINED,
    ),
    select(AuditEvent.actor_id.label("user_id")).where(
        AuditEvent.conversation_id == _CONVERSATION_ID,
        AuditEvent.action == OPEN_JOIN_ACTION,
    ),
)


# On the table, not the mapped class: a Core UPDATE skips the ORM's bulk
# update steps, about a third of post_message's time under a surge. Nothing
# in the identity map needs the new seq.
_CONVERSATIONS = Conversation.__table__.c


def _next_seq(allowed: Any, **clock: Any) -> Any:
    c = _CONVERSATIONS
    return (
        update(Conversation.__table__)
        .where(c.id == _CONVERSATION_ID, allowed)
        .values(last_seq=c.last_seq + 1, **clock)
        .returning(
            c.last_seq,
            c.state,
            c.counselor_id,
            c.risk_level,
            c.needs,
            c.risk_signals,
            c.staff_joined,
            # The rest of a waiting chat's queue item, so its push needs no
            # read back (QueueItemChanged).
            c.channel,
            c.lang,
            c.waiting_since,
        )
    )


# The response clock (hotline.services.safety_net) runs from the first
# resident message nobody has answered; any staff message stops it. A
# blocked token's message stores nothing: checked in this statement, the
# block holds on every worker from its commit, at no extra statement.
_NEXT_SEQ_FOR_RESIDENT = _next_seq(
    _CONVERSATIONS.state.in_((ConversationState.WAITING, ConversationState.ACTIVE))
    & ~token_blocked(_NOW),
    awaiting_reply_since=func.coalesce(_CONVERSATIONS.awaiting_reply_since, _NOW),
)
_NEXT_SEQ_FOR_STAFF = _next_seq(
    (Conversation.state == ConversationState.ACTIVE)
    & (Conversation.channel == Channel.CHAT)
    & may_write_as_staff(_STAFF_ID),
    awaiting_reply_since=None,
    reply_alert_stage=0,
)
# Core, not ORM: the hot path needs the new id, not an object to track.
_INSERT_MESSAGE = insert(Message.__table__).returning(Message.__table__.c.id)


def post_message(
    session: Session,
    conversation_id: int,
    *,
    sender: Sender,
    body: str,
    client_id: str,
    counselor_id: int | None = None,
    author_role: str | None = None,
    assessment: TriageResult | None = None,
) -> PostedMessage:
    """Store a message exactly once per ``client_id`` and give it the next seq.

    Residents may write while waiting or active, unless a block holds their
    token (Blocked); staff only to a conversation they hold or joined. The
    seq counter is bumped by a conditional UPDATE so concurrent writers
    never share a seq, and the unique constraint on
    ``(conversation_id, client_id)`` makes a resend store nothing new. The
    message, its assessment and any escalation it opens commit together: a
    crisis can never be stored without its escalation.
    """
    # No read first: the unique constraint on (conversation_id, client_id)
    # catches a resend, which is rare; the common path saves a statement.
    if sender is Sender.COUNSELOR:
        assert counselor_id is not None
        next_seq, parameters = (
            _NEXT_SEQ_FOR_STAFF,
            {"conversation_id": conversation_id, "staff_id": counselor_id},
        )
    else:
        next_seq, parameters = (
            _NEXT_SEQ_FOR_RESIDENT,
            {"conversation_id": conversation_id, "now": utcnow()},
        )
    sent_at = utcnow()
    try:
        # One savepoint around the seq bump and the insert: a resend that
        # loses the race on the unique client_id must undo its seq too, or
        # the conversation would have a gap (and a client waiting on it).
        with session.begin_nested():
            row = session.execute(next_seq, parameters).one_or_none()
            if row is not None:
                message_id = session.execute(
                    _INSERT_MESSAGE,
                    {
                        "conversation_id": conversation_id,
                        "seq": row[0],
                        "sender": sender,
                        "counselor_id": counselor_id,
                        "client_id": client_id,
                        "body": body,
                        "sent_at": sent_at,
                    },
                ).scalar_one()
    except IntegrityError:
        # This client_id was stored before: report that message.
        existing = _message_by_client_id(session, conversation_id, client_id)
        if existing is None:
            raise
        return _already_stored(session, existing)
    if row is None:
        if sender is Sender.RESIDENT:
            _refuse_if_token_blocked(session, conversation_id)
        # A resend of a message stored before the conversation closed (or
        # before the holder changed) still gets its original ack.
        existing = _message_by_client_id(session, conversation_id, client_id)
        if existing is not None:
            return _already_stored(session, existing)
        raise _refusal(session, conversation_id, sender)
    (
        seq,
        state,
        holder_id,
        level_before,
        needs,
        signals,
        staff_joined,
        channel,
        lang,
        waiting_since,
    ) = row
    risk = ConversationRisk(level_before, needs, signals)
    escalation_id = None
    if assessment is not None:
        risk = apply_assessment(
            session, conversation_id, message_id, assessment, current=risk
        )
        if assessment.level is RiskLevel.CRISIS:
            escalation_id = escalations.open_if_needed(
                session, conversation_id, level=RiskLevel.CRISIS, source="triage"
            )
            if state is ConversationState.WAITING:
                # Nobody is with them yet: where to get help, at once, while
                # the chat jumps the queue.
                record(session, CrisisContactsShown(conversation_id))
    view = MessageView(
        conversation_id=conversation_id,
        seq=seq,
        sender=str(sender),
        body=body,
        sent_at=sent_at,
        client_id=client_id,
        author_role=author_role,
        assessment=assessment.to_payload() if assessment else None,
    )
    posted = PostedMessage(
        view,
        created=True,
        state=state,
        holder_id=holder_id,
        risk_level=risk.level,
        risk_raised=risk.level.rank > level_before.rank,
        escalation_id=escalation_id,
        staff_joined=staff_joined,
    )
    record(session, MessagePosted(posted))
    if holder_id is None and state is ConversationState.WAITING:
        # A waiting chat's level and last line are what the queue shows; only
        # a higher level moves it (and everyone behind it).
        # A callback's item shows its window and tries too: its note (the
        # only message a callback's resident writes) refreshes the page.
        if posted.risk_raised or channel is Channel.CALLBACK:
            record(session, QueueChanged())
        else:
            record(
                session,
                QueueItemChanged(
                    conversation_id,
                    lang=lang,
                    waiting_since=waiting_since,
                    message_count=seq,
                    preview=body,
                    risk_level=str(risk.level),
                    signals=list(risk.signals),
                    needs=list(risk.needs),
                ),
            )
    elif holder_id is not None and posted.risk_raised:
        record(session, HeldChanged(holder_id, conversation_id))
    return posted


def post_system_message(
    session: Session, conversation_id: int, code: str
) -> MessageView:
    """Store a system notice (``code`` is translated by the pages)."""
    seq, state, holder_id = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq, Conversation.state, Conversation.counselor_id)
    ).one()
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=Sender.SYSTEM,
        body=code,
        sent_at=utcnow(),
    )
    session.add(message)
    view = MessageView(
        conversation_id=conversation_id,
        seq=seq,
        sender=str(Sender.SYSTEM),
        body=code,
        sent_at=message.sent_at,
        client_id=None,
    )
    record(
        session,
        MessagePosted(
            PostedMessage(view, created=True, state=state, holder_id=holder_id)
        ),
    )
    return view


# How much of the conversation triage reads with each resident message.
TRIAGE_CONTEXT = 10
# Built once, on the table rather than the mapped class: it runs before every
# resident message, and a Core statement skips the ORM's compile step.
_MESSAGES = Message.__table__.c
_TRIAGE_CONTEXT = (
    select(_MESSAGES.seq, _MESSAGES.sender, _MESSAGES.body)
    .where(
        _MESSAGES.conversation_id == _CONVERSATION_ID,
        _MESSAGES.sender != Sender.SYSTEM,
        _MESSAGES.card.is_(None),
    )
    .order_by(_MESSAGES.seq.desc())
    .limit(TRIAGE_CONTEXT)
)


def triage_context(session: Session, conversation_id: int) -> list[ContextLine]:
    """The conversation's last messages, oldest first, as triage reads them:
    the resident's words and staff's (their questions); no notices or cards."""
    rows = session.execute(_TRIAGE_CONTEXT, {"conversation_id": conversation_id}).all()
    return [
        ContextLine(seq, "resident" if sender is Sender.RESIDENT else "counselor", body)
        for seq, sender, body in reversed(rows)
    ]


def messages_after(
    session: Session, conversation_id: int, after_seq: int, limit: int = 500
) -> list[MessageView]:
    """Messages with seq greater than ``after_seq``, oldest first, with the
    author's role and (for staff) the assessment."""
    rows = session.execute(
        select(Message, User.role, Assessment)
        .outerjoin(User, User.id == Message.counselor_id)
        .outerjoin(Assessment, Assessment.message_id == Message.id)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    ).all()
    views = [_view(message, role, assessment) for message, role, assessment in rows]
    return views


def _view(
    message: Message, role: Any = None, assessment: Assessment | None = None
) -> MessageView:
    return MessageView(
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender=str(message.sender),
        body=message.body,
        sent_at=message.sent_at,
        client_id=message.client_id,
        author_role=str(role) if role is not None else None,
        assessment=_assessment_payload(assessment) if assessment else None,
        card=message.card,
    )


def _assessment_payload(assessment: Assessment) -> dict[str, Any]:
    return TriageResult(
        level=assessment.level,
        score=assessment.score,
        signals=assessment.signals,
        needs=assessment.needs,
        model_version=assessment.model_version,
        uncertain=assessment.uncertain,
        context_seqs=list(assessment.context_seqs or []),
        reasons=list(assessment.reasons or []),
    ).to_payload()


def _message_by_client_id(
    session: Session, conversation_id: int, client_id: str
) -> MessageView | None:
    row = session.execute(
        select(Message, User.role, Assessment)
        .outerjoin(User, User.id == Message.counselor_id)
        .outerjoin(Assessment, Assessment.message_id == Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.client_id == client_id,
        )
    ).one_or_none()
    return _view(*row) if row is not None else None


def _already_stored(session: Session, message: MessageView) -> PostedMessage:
    row = session.execute(
        select(
            Conversation.state, Conversation.counselor_id, Conversation.risk_level
        ).where(Conversation.id == message.conversation_id)
    ).one()
    posted = PostedMessage(
        message, created=False, state=row[0], holder_id=row[1], risk_level=row[2]
    )
    # Delivered again: the first delivery may have been lost with a dying
    # worker, and clients drop seqs they already have.
    record(session, MessagePosted(posted))
    return posted


def _refuse_if_token_blocked(session: Session, conversation_id: int) -> None:
    token_hash = session.scalar(
        select(Conversation.token_hash).where(Conversation.id == conversation_id)
    )
    refuse_if_blocked(session, BlockKind.TOKEN, token_hash)


def _refusal(session: Session, conversation_id: int, sender: Sender) -> Exception:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return NotFound("conversation")
    if conversation.state is ConversationState.CLOSED:
        return ConversationClosed()
    if conversation.channel is Channel.CALLBACK:
        return NotAChat()
    if sender is Sender.COUNSELOR:
        return NotHolder()
    return ConversationClosed("not_open")
