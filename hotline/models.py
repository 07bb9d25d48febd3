"""SQLAlchemy 2.0 typed models: the durable state of the hotline."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from triage.levels import Level


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use hotline.models.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        # SQLite hands back naive values (stored in UTC); PostgreSQL hands back
        # the session's zone. Either way callers get datetime.UTC.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(enum_class: type[enum.StrEnum], name: str | None = None) -> Enum:
    # Store the values (not the member names) as plain strings with a CHECK,
    # so the database stays readable and portable. ``name`` names the CHECK;
    # two columns of one table with the same enum need different names.
    return Enum(
        enum_class,
        name=name or enum_class.__name__.lower(),
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        create_constraint=True,
        length=32,
    )


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}
    # Named constraints, so migrations can drop and alter them (SQLite batch
    # mode recreates tables and needs every name).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Role(enum.StrEnum):
    COUNSELOR = "counselor"
    SOCIAL_WORKER = "social_worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class ConversationState(enum.StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"
    # The resident left the queue (quick exit, or gone past the abandon
    # limit) before anyone answered. Out of the queue, positions and
    # estimates; the same token queues them again if they come back.
    LEFT = "left"


class Channel(enum.StrEnum):
    """How the resident reached us: a live chat, or a request to be called."""

    CHAT = "chat"
    CALLBACK = "callback"


class Sender(enum.StrEnum):
    RESIDENT = "resident"
    COUNSELOR = "counselor"
    SYSTEM = "system"


# The web app stores and orders triage's own levels (most urgent first, with
# `rank` and `is_urgent`): one definition, so the two can never disagree.
RiskLevel = Level


class EscalationState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    JOINED = "joined"
    CLOSED = "closed"


class EscalationOutcome(enum.StrEnum):
    SAFETY_PLAN = "safety_plan"
    EMERGENCY_SERVICES = "emergency_services"
    PSYCHIATRIC_REFERRAL = "psychiatric_referral"
    FAMILY_OR_COMMUNITY_CONTACTED = "family_or_community_contacted"
    FALSE_ALARM = "false_alarm"


class Outcome(enum.StrEnum):
    SUPPORTED = "supported"
    REFERRED = "referred"
    ESCALATED = "escalated"
    RESIDENT_LEFT = "resident_left"
    # A callback closed after its last unanswered attempt.
    NOT_REACHED = "not_reached"
    OTHER = "other"
    # "No-data" contacts: nobody to help (silent, prank, abusive, test).
    SILENT = "silent"
    PRANK = "prank"
    ABUSIVE = "abusive"
    TEST = "test"


NO_DATA_OUTCOMES = frozenset(
    {Outcome.SILENT, Outcome.PRANK, Outcome.ABUSIVE, Outcome.TEST}
)


class TransferState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class BlockKind(enum.StrEnum):
    """What a block matches: a resident's resume token, a callback number, or
    the address a blocked chat was started from (keyed hash, never the
    address itself)."""

    TOKEN = "token"
    PHONE = "phone"
    ADDRESS = "address"


class ResourceCategory(enum.StrEnum):
    """Kinds of community help a counsellor can refer a resident to."""

    FOOD = "food"  # food and daily supplies
    MEDICINE = "medicine"  # medicine delivery
    MEDICAL = "medical"  # medical care
    PSYCHIATRIC = "psychiatric"  # psychiatric care
    ELDERLY_DISABILITY = "elderly_disability"  # elderly and disability care
    CHILD = "child"  # child support, e.g. devices for online school
    DONATIONS = "donations"  # charity donations
    LEGAL_FINANCIAL = "legal_financial"  # legal and financial aid


class FollowUpStatus(enum.StrEnum):
    """Whether a referral worked, as a supervisor's follow-up found."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    NOT_REACHABLE = "not_reachable"
    NOT_NEEDED = "not_needed"


class CallOutcome(enum.StrEnum):
    """What happened when a counsellor rang a callback number."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    MESSAGE_LEFT = "message_left"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The first name residents see and canned responses fill in.
    display_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # A short break the counsellor chose (after a hard chat): no claims
    # until then.
    paused_until: Mapped[datetime | None]
    # Signed-in sessions carry the version they were issued under; raising
    # it (sign-out, password change, deactivation) ends every one of them.
    # When this person's last console closed (None while one is open): duty
    # and the chats they hold outlive a reload, not a long absence.
    console_gone_at: Mapped[datetime | None]
    # Why duty ended while they were away, told once when they come back.
    duty_ended_reason: Mapped[str | None] = mapped_column(String(32))
    session_version: Mapped[int] = mapped_column(
        Integer, default=0, server_default=text("0")
    )


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The queue in service order: a resident's place is a few range
        # counts on it, and the console's first page a short walk.
        Index("ix_conversations_queue", "state", "risk_rank", "waiting_since", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the resident's resume token: the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    lang: Mapped[str] = mapped_column(String(8))
    channel: Mapped[Channel] = mapped_column(
        _enum(Channel), default=Channel.CHAT, server_default=Channel.CHAT.value
    )
    state: Mapped[ConversationState] = mapped_column(
        _enum(ConversationState), default=ConversationState.WAITING, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the conversation (re-)entered the queue; orders the queue. For a
    # callback: when it may next be called (window start, or the retry time).
    waiting_since: Mapped[datetime] = mapped_column(default=utcnow)
    counselor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Highest seq handed out so far; incremented atomically per message.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Highest unresolved triage level: rises with assessments, and is lowered
    # only by a recorded correction.
    risk_level: Mapped[RiskLevel] = mapped_column(
        _enum(RiskLevel, "risklevel"), default=RiskLevel.LOW
    )
    # risk_level's rank, stored so the queue can be ordered in SQL.
    risk_rank: Mapped[int] = mapped_column(Integer, default=0)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Names of the triage signals that fired so far (for the queue).
    risk_signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The district or community the resident is in, if they said: picks
    # nearby resources. Coarse on purpose (never an address).
    area: Mapped[str | None] = mapped_column(String(100))
    # What the resident would like to be called, if they said; erased by
    # retention with the transcript.
    resident_name: Mapped[str | None] = mapped_column(String(40))
    # A returning resident's previous conversation, linked only with their
    # consent, so the counsellor can read earlier wrap-ups.
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    # Set (never cleared) when staff besides the holder join the chat: a
    # responder from an escalation or a supervisor joining openly. Returned
    # with each message's seq, so delivery looks up who joined only for the
    # few chats where someone did (hotline.realtime.deliver_message).
    staff_joined: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Keyed hash of the address the chat was started from, so that blocking
    # the chat also refuses new chats from there; erased by retention.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    # When the resident's last page closed (None while one is open).
    resident_gone_at: Mapped[datetime | None]
    # The first resident message nobody has answered yet, and how far its
    # alerts went (0 none, 1 the holder, 2 supervisors): the response clock.
    awaiting_reply_since: Mapped[datetime | None]
    reply_alert_stage: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.seq"
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int]
    sender: Mapped[Sender] = mapped_column(_enum(Sender))
    counselor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A referral card's fields (name, contact, hours, notes) for pages to
    # render as a card; ``body`` holds the same card as plain text.
    card: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Assessment(Base):
    """The triage result for one resident message."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[RiskLevel] = mapped_column(_enum(RiskLevel, "risklevel"))
    score: Mapped[float]
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The model was unsure: staff see "needs a human look" (the level is not
    # raised for it).
    uncertain: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The earlier messages (seqs) that the level came from with this one, and
    # the rules' reasons (generated text, never the resident's words).
    context_seqs: Mapped[list[int] | None] = mapped_column(JSON)
    reasons: Mapped[list[str] | None] = mapped_column(JSON)


class TriageCorrection(Base):
    """A person's decision that a conversation's level is wrong: kept as
    training feedback."""

    __tablename__ = "triage_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # The message whose assessment is corrected (the latest assessed one when
    # the correction was made), so its text can train the next model.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    from_level: Mapped[RiskLevel] = mapped_column(_enum(RiskLevel, "from_level"))
    to_level: Mapped[RiskLevel] = mapped_column(_enum(RiskLevel, "to_level"))
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    """A crisis (or a counsellor's call) that a social worker must act on."""

    __tablename__ = "escalations"
    __table_args__ = (
        # At most one escalation per conversation that is not closed.
        Index(
            "uq_escalations_one_open",
            "conversation_id",
            unique=True,
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[RiskLevel] = mapped_column(_enum(RiskLevel, "risklevel"))
    state: Mapped[EscalationState] = mapped_column(
        _enum(EscalationState), default=EscalationState.OPEN, index=True
    )
    # "triage" when opened by an assessment, "manual" by a person.
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_alerted_at: Mapped[datetime] = mapped_column(default=utcnow)
    alert_count: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    outcome: Mapped[EscalationOutcome | None] = mapped_column(_enum(EscalationOutcome))
    notes: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Append-only record of who did what; no code path updates or deletes it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    # Not a foreign key: the audit trail outlives purged conversations.
    conversation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Note(Base):
    """A counsellor's private note on a conversation; never shown to residents."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "note" by the holder, "whisper" from a supervisor to the holder,
    # "transfer" written when handing the conversation over.
    kind: Mapped[str] = mapped_column(String(16), default="note", server_default="note")


class WrapUp(Base):
    """What the counsellor recorded when closing a conversation."""

    __tablename__ = "wrap_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    counselor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Callback(Base):
    """A resident's request to be phoned: the conversation's callback details.

    The number is kept only encrypted (``phone_ciphertext``), with a keyed
    hash to recognise repeats and the last digits to show masked; all three
    are erased by retention after the callback is closed.
    """

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    phone_ciphertext: Mapped[str | None] = mapped_column(Text)
    phone_lookup: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_hint: Mapped[str | None] = mapped_column(String(8))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    # The resident's answers for the call guide: may we leave a voicemail,
    # may we say we are the hotline to whoever picks up?
    may_leave_message: Mapped[bool] = mapped_column(Boolean, default=False)
    may_say_hotline: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The resident agreed that counsellors may see earlier contacts from
    # this number (their wrap-ups, not transcripts).
    share_history: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    cancelled_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    conversation: Mapped[Conversation] = relationship()


class CallAttempt(Base):
    """One try at ringing a callback number, as the counsellor logged it."""

    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), index=True
    )
    counselor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[CallOutcome] = mapped_column(_enum(CallOutcome))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class JobLease(Base):
    """Which worker last won a periodic job's time slot (``hotline.jobs.periodic``).

    One row per job; a worker runs the job only after moving ``slot_start``
    forward with a conditional UPDATE, so each slot is run by one worker.
    """

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The start of the last slot somebody won; the epoch until the first run.
    slot_start: Mapped[datetime]
    ran_at: Mapped[datetime | None]
    holder: Mapped[str] = mapped_column(String(128), default="")
    runs: Mapped[int] = mapped_column(Integer, default=0)


class Resource(Base):
    """A community resource in the directory (the five-society linkage)."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[ResourceCategory] = mapped_column(
        _enum(ResourceCategory), index=True
    )
    # District or community served; empty for the whole city.
    area: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200))
    opening_hours: Mapped[str] = mapped_column(String(200), default="")
    # UI language codes the resource can serve in, e.g. ["zh", "en"].
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """A resource a counsellor sent a resident, and whether it worked out."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # Resources are retired, never deleted, so the link always resolves.
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The seq of the referral card message in the conversation.
    message_seq: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    follow_up_status: Mapped[FollowUpStatus] = mapped_column(
        _enum(FollowUpStatus), default=FollowUpStatus.PENDING, index=True
    )
    follow_up_note: Mapped[str] = mapped_column(Text, default="")
    followed_up_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    followed_up_at: Mapped[datetime | None]


class Survey(Base):
    """A resident's optional, anonymous feedback after a conversation."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("helpfulness BETWEEN 1 AND 5", name="helpfulness_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One survey per conversation.
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    helpfulness: Mapped[int] = mapped_column(Integer)
    # "yes", "no" or "unsure"; None when not answered.
    feels_safer: Mapped[str | None] = mapped_column(String(8))
    # Free text: blanked by retention with the transcript.
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(Base):
    """A ready-made reply: the shared library (no owner) or a counsellor's own.

    ``{name}`` and ``{counselor}`` in the body are filled in when inserted.
    """

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # greeting, listening, safety, breathing, closing, other
    category: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """A warm hand-over of a conversation to a named colleague."""

    __tablename__ = "transfers"
    __table_args__ = (
        # At most one pending offer per conversation.
        Index(
            "uq_transfers_one_pending",
            "conversation_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    from_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[TransferState] = mapped_column(
        _enum(TransferState), default=TransferState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Block(Base):
    """A supervisor's time-limited block on a resume token or a number.

    Only hashes are kept: the token's SHA-256 (as conversations store it) or
    the number's keyed lookup hash (as callbacks store it).
    """

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BlockKind] = mapped_column(_enum(BlockKind))
    value_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The conversation the block was made from, for the supervisor's list.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None]


class DebriefRequest(Base):
    """A counsellor asking a supervisor to talk after a hard conversation."""

    __tablename__ = "debrief_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None]


class ConsolePresence(Base):
    """One open console connection, on whichever worker holds it.

    Workers refresh ``seen_at`` for their own connections; a sweep removes
    rows whose worker stopped refreshing (it died) and takes people with no
    connection left off duty, so crisis alerts never go to an empty room.
    """

    __tablename__ = "console_presence"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    worker: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResidentPresence(Base):
    """One open resident page (socket), on whichever worker holds it.

    Like ``ConsolePresence``: a resident with no page left for
    ``HOTLINE_ABANDON_SECONDS`` while waiting has left the queue.
    """

    __tablename__ = "resident_presence"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    worker: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
