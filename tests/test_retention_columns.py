"""Retention reaches every free-text column (issue #19, point 4).

A marker is written into every text column of every row of every table; a
purge with retention 0 days must leave it nowhere except in the columns
declared below as not about residents. The column list comes from the
models, so a new text column fails this test until retention erases it or
it is declared here with the reason.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Enum, String, Text, func, select, text, update

from hotline.extensions import db
from hotline.models import (
    Assessment,
    Base,
    Block,
    BlockKind,
    CallAttempt,
    Callback,
    CallOutcome,
    Channel,
    Conversation,
    ConversationState,
    DebriefRequest,
    Escalation,
    EscalationOutcome,
    EscalationState,
    Message,
    Note,
    Outcome,
    Referral,
    Resource,
    ResourceCategory,
    RiskLevel,
    Role,
    Sender,
    Survey,
    Transfer,
    TriageCorrection,
    User,
    WrapUp,
    utcnow,
)
from hotline.services.retention import RetentionPolicy, purge

MARKER = "ZQ7"
# Text columns that never hold what a resident said or what staff wrote
# about one, each with why.
NOT_ABOUT_RESIDENTS = {
    "users.username": "staff account names",
    "users.password_hash": "a hash of a staff password",
    "users.display_name": "the first name staff chose to show",
    "users.duty_ended_reason": "a reason code the server sets",
    "conversations.token_hash": "SHA-256 of a random token (resume and blocks)",
    "conversations.lang": "ui language code",
    "blocks.value_hash": "hash a live block must keep matching",
    "audit_events.action": "an action name from a fixed list",
    "notes.kind": "note, whisper or transfer",
    "escalations.source": "triage or manual",
    "surveys.feels_safer": "yes, no or unsure",
    "assessments.model_version": "the triage model's version",
    "messages.client_id": "a random id the page made",
    "job_leases.name": "a job's name",
    "job_leases.holder": "a worker's name",
    "console_presence.sid": "a socket id",
    "console_presence.worker": "a worker's name",
    "resident_presence.sid": "a socket id",
    "resident_presence.worker": "a worker's name",
    "resources.name": "the public resource directory",
    "resources.area": "the public resource directory",
    "resources.contact": "the public resource directory",
    "resources.opening_hours": "the public resource directory",
    "resources.notes": "the public resource directory",
    "canned_responses.category": "the quick-reply library",
    "canned_responses.lang": "the quick-reply library",
    "canned_responses.title": "the quick-reply library",
    "canned_responses.body": "the quick-reply library",
}
# Phone numbers go on their own clock (HOTLINE_PHONE_RETENTION_DAYS).
PHONE_COLUMNS = {
    "callbacks.phone_ciphertext",
    "callbacks.phone_lookup",
    "callbacks.phone_hint",
}


def text_columns() -> list[tuple[str, str]]:
    """(table, column) for every string or text column that is not an enum."""
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text) and not isinstance(column.type, Enum)
    ]


def seed(session, now):
    """One row in every table that can hold text about a resident."""
    long_ago = now - timedelta(days=40)
    staff = User(username="ana", password_hash="x", role=Role.COUNSELOR)
    other = User(username="bo", password_hash="x", role=Role.SUPERVISOR)
    session.add_all([staff, other])
    session.flush()

    def conversation(token, channel, state, **values):
        row = Conversation(
            token_hash=token,
            lang="zh",
            channel=channel,
            state=state,
            created_at=long_ago,
            waiting_since=values.pop("waiting_since", long_ago),
            **values,
        )
        session.add(row)
        session.flush()
        return row

    closed = conversation(
        "a" * 64,
        Channel.CHAT,
        ConversationState.CLOSED,
        counselor_id=staff.id,
        closed_at=long_ago,
    )
    # Waiting two days: nobody answered, so it is expired and purged.
    waiting = conversation(
        "b" * 64,
        Channel.CHAT,
        ConversationState.WAITING,
        waiting_since=now - timedelta(days=2),
    )
    call = conversation(
        "c" * 64, Channel.CALLBACK, ConversationState.CLOSED, closed_at=long_ago
    )
    for owner in (closed, waiting):
        message = Message(
            conversation_id=owner.id,
            seq=1,
            sender=Sender.RESIDENT,
            client_id="client-0001",
            body="x",
            sent_at=long_ago,
        )
        session.add(message)
        session.flush()
        session.add(
            Assessment(
                message_id=message.id,
                conversation_id=owner.id,
                level=RiskLevel.LOW,
                score=0.1,
                model_version="v",
            )
        )
    resource = Resource(name="r", category=ResourceCategory.FOOD, contact="1")
    session.add(resource)
    session.flush()
    callback = Callback(
        conversation_id=call.id,
        phone_ciphertext="x",
        phone_lookup="x",
        phone_hint="x",
        window_start=long_ago,
        window_end=long_ago,
        consent_at=long_ago,
    )
    session.add(callback)
    session.flush()
    session.add_all(
        [
            Note(conversation_id=closed.id, author_id=staff.id, body="x"),
            WrapUp(
                conversation_id=closed.id,
                counselor_id=staff.id,
                outcome=Outcome.SUPPORTED,
                summary="x",
            ),
            Escalation(
                conversation_id=closed.id,
                level=RiskLevel.CRISIS,
                state=EscalationState.CLOSED,
                source="triage",
                reason="x",
                notes="x",
                outcome=EscalationOutcome.SAFETY_PLAN,
                closed_at=long_ago,
            ),
            TriageCorrection(
                conversation_id=closed.id,
                from_level=RiskLevel.LOW,
                to_level=RiskLevel.HIGH,
                reason="x",
                author_id=staff.id,
            ),
            Referral(
                conversation_id=closed.id,
                resource_id=resource.id,
                counselor_id=staff.id,
                follow_up_note="x",
            ),
            Survey(conversation_id=closed.id, helpfulness=4, comment="x"),
            Transfer(
                conversation_id=closed.id,
                from_id=staff.id,
                to_id=other.id,
                note="x",
                decision_note="x",
            ),
            Block(
                kind=BlockKind.TOKEN,
                value_hash="a" * 64,
                conversation_id=closed.id,
                reason="x",
                until=now + timedelta(days=1),
                created_by=other.id,
            ),
            # A block and a debrief whose conversation is already gone.
            Block(
                kind=BlockKind.TOKEN,
                value_hash="d" * 64,
                conversation_id=None,
                reason="x",
                until=long_ago,
                created_by=other.id,
            ),
            DebriefRequest(counselor_id=staff.id, conversation_id=closed.id, note="x"),
            DebriefRequest(
                counselor_id=staff.id,
                conversation_id=None,
                note="x",
                created_at=long_ago,
            ),
            CallAttempt(
                callback_id=callback.id,
                counselor_id=staff.id,
                outcome=CallOutcome.NO_ANSWER,
                note="x",
            ),
        ]
    )
    session.flush()


def test_no_free_text_survives_a_purge_with_zero_days(app):
    now = utcnow()
    columns = text_columns()
    about_residents = [
        (table, column)
        for table, column in columns
        if f"{table}.{column}" not in NOT_ABOUT_RESIDENTS
    ]
    with app.app_context():
        with db.transaction() as session:
            seed(session, now)
            for table, column in about_residents:
                model = next(
                    m.class_
                    for m in Base.registry.mappers
                    if m.local_table.name == table
                )
                session.execute(update(model).values({column: MARKER}))
        planted = {}
        with db.read() as session:
            for table, column in about_residents:
                planted[f"{table}.{column}"] = session.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE {column} = :m"),
                    {"m": MARKER},
                )
        # Every such column got the marker somewhere, or the test proves
        # nothing for it: add a row for its table in seed().
        assert {name for name, n in planted.items() if not n} == set()

        with db.transaction() as session:
            report = purge(
                session,
                RetentionPolicy(transcript_days=0, phone_days=0),
                now=now,
            )
        assert report.expired_chats == 1
        survivors = {}
        with db.read() as session:
            for table, column in about_residents:
                left = session.scalar(
                    text(
                        f"SELECT count(*) FROM {table} "
                        f"WHERE {column} LIKE '%' || :m || '%'"
                    ),
                    {"m": MARKER},
                )
                if left:
                    survivors[f"{table}.{column}"] = left
            remaining = session.scalar(select(func.count()).select_from(Message))
    assert survivors == {}
    assert remaining == 0


def test_every_listed_exception_is_a_real_column():
    names = {f"{table}.{column}" for table, column in text_columns()}
    assert set(NOT_ABOUT_RESIDENTS) - names == set()
    assert names >= PHONE_COLUMNS


def test_a_chat_with_an_open_escalation_is_not_expired(app):
    now = utcnow()
    with app.app_context():
        with db.transaction() as session:
            waiting = Conversation(
                token_hash="e" * 64,
                lang="zh",
                state=ConversationState.WAITING,
                waiting_since=now - timedelta(days=3),
            )
            session.add(waiting)
            session.flush()
            session.add(
                Escalation(
                    conversation_id=waiting.id,
                    level=RiskLevel.CRISIS,
                    source="triage",
                )
            )
        with db.transaction() as session:
            report = purge(
                session, RetentionPolicy(transcript_days=0, phone_days=0), now=now
            )
        assert report.expired_chats == 0
        with db.read() as session:
            assert session.scalar(select(Conversation.state)) == "waiting"
