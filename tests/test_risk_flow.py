"""Triage in the live flow: queue order, escalation alerts, re-alerts, restarts."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from hotline import create_app
from hotline.extensions import db, socketio
from hotline.jobs.escalation_watch import realert_due
from hotline.models import Assessment, Escalation, RiskLevel, Role, User
from hotline.services.risk import TriageResult
from tests.conftest import events

CHAT, CONSOLE = "/chat", "/console"


def fake_assess(text: str, context=()) -> TriageResult:
    """Deterministic stand-in for the model: keywords pick the level."""
    level = RiskLevel.LOW
    signals = []
    if "绝望" in text:
        level = RiskLevel.HIGH
    if "今晚" in text:
        level = RiskLevel.CRISIS
        at = text.index("今晚")
        signals = [
            {
                "name": name,
                "kind": name.partition(".")[0],
                "status": "active",
                "text": "今晚",
                "start": at,
                "end": at + 2,
            }
            # Names with a detail, as the triage library gives them.
            for name in ("time", "intent.want_to_die", "intent.plan")
        ]
    needs = ["medicine"] if "药" in text else []
    return TriageResult(
        level, 0.9 if level is RiskLevel.CRISIS else 0.1, signals, needs, "fake-1"
    )


@pytest.fixture(autouse=True)
def stub_triage(monkeypatch):
    monkeypatch.setattr("hotline.resident.chat_namespace.assess_text", fake_assess)


def say(resident, body, client_id):
    return resident.emit(
        "message", {"client_id": client_id, "body": body}, namespace=CHAT, callback=True
    )


def acknowledge(worker, escalation_id):
    return worker.emit(
        "acknowledge",
        {"escalation_id": escalation_id},
        namespace=CONSOLE,
        callback=True,
    )


def join(worker, escalation_id, take_over):
    return worker.emit(
        "join",
        {"escalation_id": escalation_id, "take_over": take_over},
        namespace=CONSOLE,
        callback=True,
    )


def on_duty(console, value=True):
    return console.emit("duty", {"on_duty": value}, namespace=CONSOLE, callback=True)


def test_queue_is_ordered_by_risk_then_wait(
    start_chat, resident_socket, counselor_socket
):
    calm, worried, urgent = start_chat(), start_chat(), start_chat()
    say(resident_socket(calm["token"]), "你好", "m-calm-01")
    say(resident_socket(worried["token"]), "我很绝望", "m-worr-01")
    say(resident_socket(urgent["token"]), "今晚就结束，药准备好了", "m-urge-01")
    console = counselor_socket()
    items = events(console, "queue", CONSOLE)[-1]["items"]
    assert [i["conversation_id"] for i in items] == [
        urgent["conversation_id"],
        worried["conversation_id"],
        calm["conversation_id"],
    ]
    assert items[0]["risk_level"] == "crisis"
    # The queue names each kind once: staff are shown kinds, not names.
    assert items[0]["signals"] == ["time", "intent"]
    assert items[0]["needs"] == ["medicine"]
    calm_resident = resident_socket(calm["token"])
    assert events(calm_resident, "status", CHAT)[-1]["position"] == 3


def test_assessment_is_stored_and_shown_to_staff_not_residents(
    start_chat, resident_socket, counselor_socket, scalar
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    say(resident, "今晚就结束", "m-0000-01")
    assert scalar(select(Assessment.level)) == RiskLevel.CRISIS
    assert "assessment" not in events(resident, "message", CHAT)[-1]
    console = counselor_socket()
    console.emit(
        "claim",
        {"conversation_id": chat["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    sync = console.emit(
        "sync",
        {"conversation_id": chat["conversation_id"], "after_seq": 0},
        namespace=CONSOLE,
        callback=True,
    )
    assessment = sync["messages"][0]["assessment"]
    assert assessment["level"] == "crisis"
    assert assessment["signals"][0]["text"] == "今晚"


def test_crisis_alerts_on_duty_social_worker_not_counselors(
    start_chat, resident_socket, counselor_socket
):
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    off_duty_worker = counselor_socket("li", Role.SOCIAL_WORKER)
    counselor = counselor_socket("ana", Role.COUNSELOR)
    on_duty(worker)
    chat = start_chat()
    say(resident_socket(chat["token"]), "今晚就结束", "m-0000-01")
    alerts = events(worker, "escalation", CONSOLE)
    assert [a["conversation_id"] for a in alerts] == [chat["conversation_id"]]
    assert alerts[0]["state"] == "open" and alerts[0]["repeat"] is False
    assert events(off_duty_worker, "escalation", CONSOLE) == []
    assert events(counselor, "escalation", CONSOLE) == []
    # The off-duty worker still sees it in the list, just not as an alert.
    listing = events(off_duty_worker, "escalations", CONSOLE)[-1]
    assert [e["conversation_id"] for e in listing["open"]] == [chat["conversation_id"]]


def test_supervisors_are_alerted_when_no_social_worker_is_on_duty(
    start_chat, resident_socket, counselor_socket
):
    supervisor = counselor_socket("sun", Role.SUPERVISOR)
    on_duty(supervisor)
    chat = start_chat()
    resident = resident_socket(chat["token"])
    say(resident, "今晚就结束", "m-0000-01")
    assert len(events(supervisor, "escalation", CONSOLE)) == 1
    # A waiting resident in crisis sees the numbers at once anyway (issue
    # #20), once: the alert reached someone, so it adds no second push.
    assert len(events(resident, "crisis_contacts", CHAT)) == 1


def test_nobody_on_duty_shows_the_resident_crisis_contacts_and_waits(
    app, start_chat, resident_socket, counselor_socket
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    say(resident, "今晚就结束", "m-0000-01")
    contacts = events(resident, "crisis_contacts", CHAT)
    assert (
        contacts
        and {"key": "psychological_assistance", "number": "12356"}
        in (contacts[0]["lines"])
    )
    # Whoever comes on duty next hears about it at once.
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    on_duty(worker)
    alerts = events(worker, "escalation", CONSOLE)
    assert [a["conversation_id"] for a in alerts] == [chat["conversation_id"]]


def test_unacknowledged_escalation_is_realerted_until_acknowledged(
    app, start_chat, resident_socket, counselor_socket
):
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    on_duty(worker)
    chat = start_chat()
    say(resident_socket(chat["token"]), "今晚就结束", "m-0000-01")
    app.config["ESCALATION_REALERT_SECONDS"] = 0
    assert len(realert_due(app)) == 1
    alerts = events(worker, "escalation", CONSOLE)
    assert [a["repeat"] for a in alerts] == [False, True]
    escalation_id = alerts[0]["escalation_id"]
    ack = acknowledge(worker, escalation_id)
    assert ack["ok"] and ack["escalation"]["acknowledged_by"] == "wei"
    assert realert_due(app) == []


def test_escalation_survives_a_restart_with_its_clock(
    app_config, app, start_chat, resident_socket, counselor_socket, scalar
):
    chat = start_chat()
    say(resident_socket(chat["token"]), "今晚就结束", "m-0000-01")
    opened_at = scalar(select(Escalation.opened_at))
    db.dispose()
    restarted = create_app({**app_config, "ESCALATION_REALERT_SECONDS": 0})
    with restarted.app_context():
        session = db.new_session()
        session.execute(update(User).values(is_on_duty=False))
        session.commit()
        session.close()
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    on_duty(worker)
    assert realert_due(restarted)
    alerts = events(worker, "escalation", CONSOLE)
    assert alerts[-1]["opened_at"] == opened_at.isoformat()
    assert alerts[-1]["alert_count"] >= 2


def test_social_worker_joins_and_the_resident_is_told(
    start_chat, resident_socket, counselor_socket
):
    counselor = counselor_socket("ana")
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    on_duty(worker)
    chat = start_chat()
    cid = chat["conversation_id"]
    resident = resident_socket(chat["token"])
    counselor.emit("claim", {"conversation_id": cid}, namespace=CONSOLE, callback=True)
    say(resident, "今晚就结束", "m-0000-01")
    escalation_id = events(worker, "escalation", CONSOLE)[-1]["escalation_id"]
    acknowledge(worker, escalation_id)
    joined = join(worker, escalation_id, False)
    assert joined == {"ok": True, "conversation_id": cid}
    notice = events(resident, "message", CHAT)[-1]
    assert (notice["sender"], notice["body"]) == ("system", "social_worker_joined")
    reply = worker.emit(
        "message",
        {
            "conversation_id": cid,
            "client_id": "sw-000001",
            "body": "我是社工小魏，我在。",
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert reply["ok"] is True
    got = events(resident, "message", CHAT)[-1]
    assert got["author_role"] == "social_worker"
    # The counsellor sees the social worker's words too.
    assert events(counselor, "message", CONSOLE)[-1]["body"] == "我是社工小魏，我在。"
    closed = worker.emit(
        "close_escalation",
        {
            "escalation_id": escalation_id,
            "outcome": "safety_plan",
            "notes": "Safety plan agreed; daughter on her way.",
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert closed == {"ok": True}


def test_take_over_moves_the_conversation(
    start_chat, resident_socket, counselor_socket
):
    counselor = counselor_socket("ana")
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    on_duty(worker)
    chat = start_chat()
    cid = chat["conversation_id"]
    counselor.emit("claim", {"conversation_id": cid}, namespace=CONSOLE, callback=True)
    say(resident_socket(chat["token"]), "今晚就结束", "m-0000-01")
    escalation_id = events(worker, "escalation", CONSOLE)[-1]["escalation_id"]
    acknowledge(worker, escalation_id)
    join(worker, escalation_id, True)
    assert {"conversation_id": cid, "state": "taken_over"} in events(
        counselor, "conversation", CONSOLE
    )


def test_counselor_escalates_by_hand_and_corrects_a_level(
    start_chat, resident_socket, counselor_socket
):
    counselor = counselor_socket("ana")
    chat = start_chat()
    cid = chat["conversation_id"]
    say(resident_socket(chat["token"]), "你好", "m-0000-01")
    counselor.emit("claim", {"conversation_id": cid}, namespace=CONSOLE, callback=True)
    escalated = counselor.emit(
        "escalate",
        {"conversation_id": cid, "reason": "mentions a rope in the hall"},
        namespace=CONSOLE,
        callback=True,
    )
    assert escalated["ok"] is True and escalated["alerted"] == "nobody"
    corrected = counselor.emit(
        "correct",
        {"conversation_id": cid, "level": "high", "reason": "plan unclear"},
        namespace=CONSOLE,
        callback=True,
    )
    assert corrected == {"ok": True, "level": "high"}
    refused = counselor.emit(
        "correct",
        {"conversation_id": cid, "level": "urgent", "reason": "x"},
        namespace=CONSOLE,
        callback=True,
    )
    assert refused["error"]["code"] == "invalid_input"


def test_transcript_reads_by_supervisors_are_audited(
    client, start_chat, resident_socket, counselor_socket, scalar
):
    from hotline.models import AuditEvent

    chat = start_chat()
    say(resident_socket(chat["token"]), "你好", "m-0000-01")
    supervisor = counselor_socket("sun", Role.SUPERVISOR)
    ack = supervisor.emit(
        "transcript",
        {"conversation_id": chat["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert ack["transcript"]["messages"][0]["body"] == "你好"
    assert (
        scalar(select(AuditEvent.action).where(AuditEvent.action == "transcript_read"))
        == "transcript_read"
    )
    counselor = counselor_socket("ana")
    refused = counselor.emit(
        "transcript",
        {"conversation_id": chat["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert refused["error"]["code"] == "forbidden"


def test_admin_cannot_open_the_console_socket(app, make_user):
    from tests.conftest import PASSWORD

    make_user("root", Role.ADMIN)
    http = app.test_client()
    http.post("/api/auth/login", json={"username": "root", "password": PASSWORD})
    client = socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)
    assert not client.is_connected(CONSOLE)


def test_closing_the_last_console_tab_starts_a_grace_period(counselor_socket, scalar):
    # Duty outlives a reload; tests/test_presence.py ends it after the grace.
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    second_tab = socketio.test_client(
        worker.app, namespace=CONSOLE, flask_test_client=worker.flask_test_client
    )
    on_duty(worker)
    second_tab.disconnect(namespace=CONSOLE)
    assert scalar(select(User.console_gone_at).where(User.username == "wei")) is None
    worker.disconnect(namespace=CONSOLE)
    assert scalar(select(User.is_on_duty).where(User.username == "wei")) is True
    assert scalar(select(User.console_gone_at).where(User.username == "wei"))


def test_joining_a_waiting_chat_takes_it_out_of_the_queue(
    start_chat, resident_socket, counselor_socket
):
    worker = counselor_socket("wei", Role.SOCIAL_WORKER)
    on_duty(worker)
    chat = start_chat()
    resident = resident_socket(chat["token"])
    say(resident, "今晚就结束", "m-0000-01")
    escalation_id = events(worker, "escalation", CONSOLE)[-1]["escalation_id"]
    acknowledge(worker, escalation_id)
    join(worker, escalation_id, False)
    assert events(resident, "status", CHAT)[-1] == {
        "state": "active",
        "position": None,
        "estimated_minutes": None,
        "long_wait": False,
    }
    assert events(worker, "queue", CONSOLE)[-1]["items"] == []
    reply = worker.emit(
        "message",
        {
            "conversation_id": chat["conversation_id"],
            "client_id": "sw-000001",
            "body": "我在，你现在安全吗？",
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert reply["ok"] is True
