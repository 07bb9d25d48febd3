"""Retention: transcripts and numbers go after their days; the anonymous record
and the audit trail stay. Fixed clocks: the purge is run "days later"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from hotline.extensions import db
from hotline.jobs.retention import purge_expired
from hotline.models import (
    Assessment,
    Callback,
    Conversation,
    Escalation,
    Message,
    Note,
    Referral,
    RiskLevel,
    Role,
    TriageCorrection,
    WrapUp,
    utcnow,
)
from hotline.services import referrals, resources
from hotline.services.retention import RetentionPolicy, purge
from hotline.services.risk import TriageResult
from tests.conftest import events

CHAT, CONSOLE = "/chat", "/console"
POLICY = RetentionPolicy(transcript_days=30, phone_days=7)


def crisis(text_: str, context=()) -> TriageResult:
    return TriageResult(RiskLevel.CRISIS, 0.9, [], [], "fake")


@pytest.fixture
def closed_chat(
    app, start_chat, resident_socket, counselor_socket, make_user, monkeypatch
):
    """A chat with a crisis message, a note, an escalation, a referral
    followed up, and a wrap-up."""
    monkeypatch.setattr("hotline.resident.chat_namespace.assess_text", crisis)
    chat = start_chat()
    resident = resident_socket(chat["token"])
    resident.emit(
        "message",
        {"client_id": "retention-1", "body": "我叫王小明，住在幸福小区3号楼"},
        namespace=CHAT,
        callback=True,
    )
    counselor = counselor_socket()
    conversation_id = chat["conversation_id"]
    counselor.emit("claim", {"conversation_id": conversation_id}, namespace=CONSOLE)
    counselor.emit(
        "note",
        {"conversation_id": conversation_id, "body": "王小明 needs insulin"},
        namespace=CONSOLE,
    )
    counselor.emit(
        "correct",
        {"conversation_id": conversation_id, "level": "high", "reason": "王 said so"},
        namespace=CONSOLE,
    )
    counselor.emit(
        "set_name",
        {"conversation_id": conversation_id, "name": "王阿姨"},
        namespace=CONSOLE,
    )
    with app.app_context(), db.transaction() as session:
        pharmacy = resources.create(
            session,
            resources.parse_fields(
                {"name": "Pharmacy", "category": "medicine", "contact": "120"}
            ),
        )
    referred = counselor.emit(
        "refer",
        {"conversation_id": conversation_id, "resource_id": pharmacy},
        namespace=CONSOLE,
        callback=True,
    )
    assert referred["ok"], referred
    # A conversation closes only after its escalation has an outcome.
    with app.app_context(), db.transaction() as session:
        session.execute(
            text(
                "UPDATE escalations SET state = 'closed', outcome = 'safety_plan',"
                " closed_at = :now"
            ),
            {"now": utcnow()},
        )
    closed = counselor.emit(
        "close",
        {
            "conversation_id": conversation_id,
            "wrap_up": {
                "outcome": "referred",
                "needs": ["medicine"],
                "follow_up": True,
                "summary": "王小明, 3号楼, insulin arranged",
            },
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert closed["ok"], closed
    assert events(counselor, "queue", CONSOLE)
    supervisor = make_user("sue", Role.SUPERVISOR)
    with app.app_context(), db.transaction() as session:
        referrals.set_follow_up(
            session,
            referred["referral"]["referral_id"],
            supervisor,
            "confirmed",
            "王小明 got his insulin",
        )
    return conversation_id


def count(scalar, model, conversation_id):
    return scalar(
        select(func.count())
        .select_from(model)
        .where(model.conversation_id == conversation_id)
    )


def run(app, *, days_later: float, dry_run: bool = False):
    with app.app_context(), db.transaction() as session:
        return purge(
            session,
            POLICY,
            now=utcnow() + timedelta(days=days_later),
            dry_run=dry_run,
        )


def test_nothing_goes_before_its_time(app, scalar, closed_chat):
    report = run(app, days_later=29)
    assert report.transcripts == 0
    assert count(scalar, Message, closed_chat) == 2


def test_dry_run_counts_and_deletes_nothing(app, scalar, closed_chat):
    report = run(app, days_later=31, dry_run=True)
    assert (report.transcripts, report.messages, report.notes) == (1, 2, 1)
    assert count(scalar, Message, closed_chat) == 2
    assert count(scalar, Note, closed_chat) == 1


def test_transcripts_go_and_the_anonymous_record_stays(app, scalar, closed_chat):
    report = run(app, days_later=31)
    assert (report.transcripts, report.messages, report.notes) == (1, 2, 1)
    for model in (Message, Note, Assessment):
        assert count(scalar, model, closed_chat) == 0
    wrap_up = scalar(select(WrapUp).where(WrapUp.conversation_id == closed_chat))
    assert wrap_up.summary == "" and wrap_up.outcome == "referred"
    assert wrap_up.needs == ["medicine"]
    escalation = scalar(
        select(Escalation).where(Escalation.conversation_id == closed_chat)
    )
    assert escalation.notes == "" and escalation.opened_at is not None
    correction = scalar(
        select(TriageCorrection).where(TriageCorrection.conversation_id == closed_chat)
    )
    assert correction.reason == "" and correction.to_level == "high"
    conversation = scalar(select(Conversation).where(Conversation.id == closed_chat))
    assert conversation.risk_level == "high" and conversation.closed_at is not None
    # The referral stays for the reports, without the follow-up's words.
    referral = scalar(select(Referral).where(Referral.conversation_id == closed_chat))
    assert referral.follow_up_note == "" and referral.follow_up_status == "confirmed"
    # Nobody's words are left anywhere in the database.
    with app.app_context():
        session = db.new_session()
        dump = " ".join(
            str(row)
            for table in (
                "messages",
                "notes",
                "wrap_ups",
                "escalations",
                "triage_corrections",
                "referrals",
                "audit_events",
                "conversations",
            )
            for row in session.execute(text(f"SELECT * FROM {table}")).all()
        )
        session.close()
    assert "王" not in dump and "幸福" not in dump
    # The audit trail is kept and records the purge.
    assert (
        scalar(
            text(
                "SELECT count(*) FROM audit_events WHERE action = 'transcripts_purged'"
            )
        )
        == 1
    )
    assert scalar(text("SELECT count(*) FROM audit_events WHERE action = 'claim'"))
    # A second run finds nothing left to do.
    assert run(app, days_later=31).transcripts == 0


def test_open_conversations_are_never_purged(app, scalar, start_chat, resident_socket):
    chat = start_chat()
    resident_socket(chat["token"]).emit(
        "message",
        {"client_id": "retention-2", "body": "还在吗"},
        namespace=CHAT,
        callback=True,
    )
    assert run(app, days_later=365).transcripts == 0
    assert count(scalar, Message, chat["conversation_id"]) == 1


def test_callback_numbers_go_on_their_own_clock(app, client, scalar, counselor_socket):
    start = utcnow()
    booked = client.post(
        "/api/callbacks",
        json={
            "phone": "13800138000",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
            "consent": True,
        },
    ).json
    conversation_id = scalar(
        select(Callback.conversation_id).where(Callback.id == booked["callback_id"])
    )
    counselor = counselor_socket("ana", Role.COUNSELOR)
    counselor.emit("claim", {"conversation_id": conversation_id}, namespace=CONSOLE)
    counselor.emit(
        "attempt",
        {"conversation_id": conversation_id, "outcome": "wrong_number"},
        namespace=CONSOLE,
    )
    assert run(app, days_later=6).phone_numbers == 0
    report = run(app, days_later=8)
    assert report.phone_numbers == 1 and report.transcripts == 0
    assert scalar(select(Callback.phone_ciphertext)) is None


def test_the_scheduled_job_uses_the_configured_days(app, scalar, closed_chat):
    app.config["TRANSCRIPT_RETENTION_DAYS"] = 0
    report = purge_expired(app)
    assert report.transcripts == 1
    assert count(scalar, Message, closed_chat) == 0


def test_purge_command_reports_counts(app, runner, closed_chat, monkeypatch):
    app.config["TRANSCRIPT_RETENTION_DAYS"] = 0
    # The CLI builds its own app from the environment: point it at ours.
    monkeypatch.setattr("hotline.cli._app", lambda **_: app)
    from hotline.cli import main

    dry = runner.invoke(main, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete the transcripts of 1 conversations" in dry.output
    done = runner.invoke(main, ["purge"])
    assert "deleted the transcripts of 1 conversations" in done.output
    assert "erased 0 callback phone numbers" in done.output
