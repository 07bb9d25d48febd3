"""The safety net in one process: duty and held chats outlive a reload but
not a long absence; residents who leave, leave; the response clock; and
escalations follow their conversation (docs/reliability.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from hotline.extensions import db, socketio
from hotline.jobs.presence_watch import heartbeat_once
from hotline.jobs.presence_watch import sweep_once as presence_sweep
from hotline.models import (
    Conversation,
    ConversationState,
    Escalation,
    EscalationState,
    RiskLevel,
    Role,
    User,
    utcnow,
)
from hotline.services.risk import TriageResult
from hotline.services.safety_net import SafetyLimits, sweep
from tests.conftest import PASSWORD, events

CHAT, CONSOLE = "/chat", "/console"
LIMITS = SafetyLimits(
    duty_grace=timedelta(seconds=120),
    holder_grace=timedelta(seconds=120),
    abandon=timedelta(seconds=300),
    unanswered=timedelta(seconds=180),
)


def fake_assess(text: str, context=()) -> TriageResult:
    level = RiskLevel.CRISIS if "今晚" in text else RiskLevel.LOW
    return TriageResult(level, 0.9, [], [], "fake-1")


@pytest.fixture(autouse=True)
def stub_triage(monkeypatch):
    monkeypatch.setattr("hotline.resident.chat_namespace.assess_text", fake_assess)


def later(app, seconds: float):
    """Run the safety net as if ``seconds`` had passed."""
    with app.app_context(), db.transaction() as session:
        return sweep(session, LIMITS, now=utcnow() + timedelta(seconds=seconds))


def on_duty(scalar, username: str) -> bool:
    return scalar(select(User.is_on_duty).where(User.username == username))


def go_on_duty(console) -> None:
    ack = console.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)
    assert ack["ok"]


def reconnect(app, username: str):
    http = app.test_client()
    http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    return socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)


def say(resident, body: str, client_id: str):
    ack = resident.emit(
        "message", {"client_id": client_id, "body": body}, namespace=CHAT, callback=True
    )
    assert ack["ok"], ack
    return ack


def claim(console, conversation_id: int):
    ack = console.emit(
        "claim", {"conversation_id": conversation_id}, namespace=CONSOLE, callback=True
    )
    assert ack["ok"], ack
    return ack


def state_of(scalar, conversation_id: int) -> str:
    return str(
        scalar(select(Conversation.state).where(Conversation.id == conversation_id))
    )


# --- duty -------------------------------------------------------------------


def test_a_reload_within_grace_keeps_duty(app, scalar, counselor_socket):
    console = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(console)
    console.disconnect(namespace=CONSOLE)
    assert on_duty(scalar, "sw") is True
    back = reconnect(app, "sw")
    assert events(back, "duty", CONSOLE)[-1] == {"on_duty": True, "ended": None}
    assert later(app, 600).off_duty == []
    assert on_duty(scalar, "sw") is True


def test_duty_ends_past_grace_and_the_person_is_told(app, scalar, counselor_socket):
    console = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(console)
    console.disconnect(namespace=CONSOLE)
    assert later(app, 60).off_duty == []
    assert len(later(app, 121).off_duty) == 1
    assert on_duty(scalar, "sw") is False
    back = reconnect(app, "sw")
    assert events(back, "duty", CONSOLE)[-1] == {
        "on_duty": False,
        "ended": "console_gone",
    }
    # Told once.
    again = reconnect(app, "sw")
    assert events(again, "duty", CONSOLE)[-1]["ended"] is None


def test_the_last_responder_going_alerts_supervisors(app, counselor_socket):
    supervisor = counselor_socket("sup", Role.SUPERVISOR)
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(worker)
    worker.disconnect(namespace=CONSOLE)
    later(app, 121)
    assert {"kind": "no_responder_on_duty"} in events(
        supervisor, "safety_alert", CONSOLE
    )


def test_a_dead_worker_is_noticed_and_duty_ends_after_grace(
    app, scalar, counselor_socket
):
    console = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(console)
    # Its worker stops refreshing (it died): the rows go stale.
    with app.app_context(), db.transaction() as session:
        session.execute(
            text("UPDATE console_presence SET seen_at = :t"),
            {"t": utcnow() - timedelta(minutes=5)},
        )
    presence_sweep(app)
    assert scalar(text("SELECT count(*) FROM console_presence")) == 0
    later(app, 121)
    assert on_duty(scalar, "sw") is False


def test_a_live_console_is_kept_fresh_by_its_worker(app, scalar, counselor_socket):
    console = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(console)
    with app.app_context(), db.transaction() as session:
        session.execute(
            text("UPDATE console_presence SET seen_at = :t"),
            {"t": utcnow() - timedelta(minutes=5)},
        )
    heartbeat_once(app)  # this worker still holds the connection
    presence_sweep(app)
    later(app, 600)
    assert on_duty(scalar, "sw") is True


def test_on_duty_with_no_console_at_all_ends_after_grace(app, scalar, make_user):
    # E.g. the server restarted and the responder's browser never came back.
    make_user("sw", Role.SOCIAL_WORKER)
    with app.app_context(), db.transaction() as session:
        session.execute(text("UPDATE users SET is_on_duty = true"))
    presence_sweep(app)
    later(app, 121)
    assert on_duty(scalar, "sw") is False


# --- held chats -------------------------------------------------------------


def test_a_vanished_holders_crisis_chat_returns_to_the_top_and_alerts(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(worker)
    calm = start_chat()
    chat = start_chat()
    resident = resident_socket(chat["token"])
    say(resident, "我今晚就走了", "message-0001")
    counselor = counselor_socket("ana")
    claim(counselor, chat["conversation_id"])
    # The social worker acknowledges; both stay online.
    escalation_id = scalar(select(Escalation.id))
    worker.emit(
        "acknowledge",
        {"escalation_id": escalation_id},
        namespace=CONSOLE,
        callback=True,
    )
    counselor.disconnect(namespace=CONSOLE)
    assert later(app, 60).returned == []
    assert later(app, 121).returned == [chat["conversation_id"]]
    assert state_of(scalar, chat["conversation_id"]) == "waiting"
    # At the top of the queue, before the calm chat that came earlier.
    queue = events(worker, "queue", CONSOLE)[-1]["items"]
    assert queue[0]["conversation_id"] == chat["conversation_id"]
    assert calm["conversation_id"] in [item["conversation_id"] for item in queue]
    notes = [m["body"] for m in events(resident, "message", CHAT)]
    assert "counselor_disconnected" in notes
    assert events(resident, "status", CHAT)[-1]["state"] == "waiting"


def test_a_vanished_responders_escalation_opens_again_and_alerts(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    first = counselor_socket("sw1", Role.SOCIAL_WORKER)
    second = counselor_socket("sw2", Role.SOCIAL_WORKER)
    go_on_duty(first)
    go_on_duty(second)
    chat = start_chat()
    say(resident_socket(chat["token"]), "我今晚就走了", "message-0001")
    escalation_id = scalar(select(Escalation.id))
    first.emit(
        "acknowledge",
        {"escalation_id": escalation_id},
        namespace=CONSOLE,
        callback=True,
    )
    first.disconnect(namespace=CONSOLE)
    later(app, 121)
    assert scalar(select(Escalation.state)) == EscalationState.OPEN
    alerts = events(second, "escalation", CONSOLE)
    assert alerts[-1]["escalation_id"] == escalation_id and alerts[-1]["repeat"]


# --- residents who leave ----------------------------------------------------


def test_quick_exit_leaves_the_queue_and_coming_back_queues_again(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    console = counselor_socket("ana")
    first = start_chat()
    second = start_chat()
    resident = resident_socket(first["token"])
    say(resident, "有人在吗", "message-0001")
    assert resident.emit("leave", {}, namespace=CHAT, callback=True) == {"ok": True}
    assert state_of(scalar, first["conversation_id"]) == "left"
    queue = events(console, "queue", CONSOLE)[-1]["items"]
    assert [item["conversation_id"] for item in queue] == [second["conversation_id"]]
    other = resident_socket(second["token"])
    assert events(other, "status", CHAT)[-1]["position"] == 1
    # A claim of the chat that left finds nobody there.
    refused = console.emit(
        "claim",
        {"conversation_id": first["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert refused["ok"] is False
    # The same token later: queued again, earlier messages kept.
    resident.disconnect(namespace=CHAT)
    back = resident_socket(first["token"])
    assert events(back, "status", CHAT)[-1]["state"] == "waiting"
    synced = back.emit("sync", {"after_seq": 0}, namespace=CHAT, callback=True)
    assert [m["body"] for m in synced["messages"]] == ["有人在吗"]


def test_a_closed_page_past_the_abandon_limit_has_left(
    app, scalar, start_chat, resident_socket
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    resident.disconnect(namespace=CHAT)
    assert later(app, 200).left == []
    assert later(app, 301).left == [chat["conversation_id"]]
    assert state_of(scalar, chat["conversation_id"]) == "left"


def test_a_chat_whose_page_never_connected_leaves_too(app, scalar, start_chat):
    chat = start_chat()
    assert later(app, 301).left == [chat["conversation_id"]]


def test_a_reload_keeps_the_place(app, scalar, start_chat, resident_socket):
    chat = start_chat()
    resident_socket(chat["token"]).disconnect(namespace=CHAT)
    resident_socket(chat["token"])
    assert later(app, 3600).left == []
    assert state_of(scalar, chat["conversation_id"]) == "waiting"


# --- the response clock -----------------------------------------------------


def test_an_unanswered_message_alerts_the_holder_then_supervisors(
    app, start_chat, resident_socket, counselor_socket
):
    supervisor = counselor_socket("sup", Role.SUPERVISOR)
    counselor = counselor_socket("ana")
    chat = start_chat()
    resident = resident_socket(chat["token"])
    claim(counselor, chat["conversation_id"])
    say(resident, "没人，我一个人在家", "message-0001")
    assert later(app, 170).alerted == []
    assert later(app, 181).alerted == [(chat["conversation_id"], 1)]
    alert = events(counselor, "safety_alert", CONSOLE)[-1]
    assert (alert["kind"], alert["stage"]) == ("unanswered", 1)
    assert events(supervisor, "safety_alert", CONSOLE) == []
    # The board lists it as gone quiet.
    quiet = events(supervisor, "escalations", CONSOLE)[-1]["quiet"]
    assert [(q["conversation_id"], q["holder"]) for q in quiet] == [
        (chat["conversation_id"], "ana")
    ]
    assert later(app, 361).alerted == [(chat["conversation_id"], 2)]
    assert events(supervisor, "safety_alert", CONSOLE)[-1]["stage"] == 2
    # An answer stops the clock.
    counselor.emit(
        "message",
        {
            "conversation_id": chat["conversation_id"],
            "client_id": "counsel-0001",
            "body": "我在",
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert later(app, 3600).alerted == []


def test_a_crisis_chat_has_a_shorter_clock(
    app, start_chat, resident_socket, counselor_socket
):
    counselor = counselor_socket("ana")
    chat = start_chat()
    resident = resident_socket(chat["token"])
    claim(counselor, chat["conversation_id"])
    say(resident, "我今晚就走了", "message-0001")
    assert later(app, 61).alerted == [(chat["conversation_id"], 1)]


def test_a_responder_who_joins_a_waiting_chat_starts_its_clock_then(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(worker)
    chat = start_chat()
    say(resident_socket(chat["token"]), "我今晚就走了", "message-0001")
    # The resident wrote ten minutes ago, while nobody had the chat.
    with app.app_context(), db.transaction() as session:
        session.execute(
            text("UPDATE conversations SET awaiting_reply_since = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(minutes=10), "id": chat["conversation_id"]},
        )
    escalation_id = scalar(select(Escalation.id))
    for event in ("acknowledge", "join"):
        ack = worker.emit(
            event, {"escalation_id": escalation_id}, namespace=CONSOLE, callback=True
        )
        assert ack["ok"], ack
    assert state_of(scalar, chat["conversation_id"]) == "active"
    # As after a claim, the crisis clock (a minute here) runs from the join.
    assert later(app, 50).alerted == []
    assert later(app, 61).alerted == [(chat["conversation_id"], 1)]


# --- escalations follow their conversation ------------------------------------


def test_a_chat_with_an_open_escalation_closes_only_with_its_outcome(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    counselor = counselor_socket("ana")
    chat = start_chat()
    say(resident_socket(chat["token"]), "我今晚就走了", "message-0001")
    claim(counselor, chat["conversation_id"])
    wrap_up = {"outcome": "supported", "needs": [], "follow_up": False}
    refused = counselor.emit(
        "close",
        {"conversation_id": chat["conversation_id"], "wrap_up": wrap_up},
        namespace=CONSOLE,
        callback=True,
    )
    assert refused["error"]["code"] == "escalation_open"
    assert state_of(scalar, chat["conversation_id"]) == "active"
    closed = counselor.emit(
        "close",
        {
            "conversation_id": chat["conversation_id"],
            "wrap_up": {
                **wrap_up,
                "escalation": {"outcome": "safety_plan", "notes": "plan agreed"},
            },
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert closed["ok"], closed
    assert scalar(select(Escalation.state)) == EscalationState.CLOSED


def test_an_escalation_on_an_ended_chat_stops_alerting_and_shows_it(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(worker)
    chat = start_chat()
    resident = resident_socket(chat["token"])
    say(resident, "我今晚就走了", "message-0001")
    resident.emit("end", {}, namespace=CHAT, callback=True)
    from hotline.jobs.escalation_watch import realert_due

    with app.app_context(), db.transaction() as session:
        session.execute(
            text("UPDATE escalations SET last_alerted_at = :t"),
            {"t": utcnow() - timedelta(minutes=10)},
        )
    assert realert_due(app) == []
    board = worker.emit("escalations", {}, namespace=CONSOLE, callback=True)
    assert board["open"][0]["conversation_state"] == "closed"


def test_states_are_the_four_the_queue_knows():
    assert [str(s) for s in ConversationState] == [
        "waiting",
        "active",
        "closed",
        "left",
    ]


def test_a_resident_who_left_counts_as_abandoned_in_reports(app, start_chat):
    from zoneinfo import ZoneInfo

    from hotline.services.reports import abandonment

    start_chat()
    later(app, 301)
    today = utcnow().date()
    with app.app_context(), db.read() as session:
        report = abandonment(session, today, today, ZoneInfo("UTC"))
    assert (report.chats, report.abandoned) == (1, 1)
