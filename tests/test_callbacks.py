"""Callbacks: booking over the API, the console's call list, attempts and retries,
encryption at rest and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from hotline.errors import CallbackWindowNotOpen, Forbidden
from hotline.extensions import db, phone_vault
from hotline.models import (
    AuditEvent,
    CallAttempt,
    Callback,
    CallOutcome,
    Conversation,
    ConversationState,
    Escalation,
    Outcome,
    RiskLevel,
    Role,
    WrapUp,
    utcnow,
)
from hotline.services import callbacks
from hotline.services.queue import claim_conversation
from hotline.services.risk import TriageResult
from tests.conftest import TEST_PHONE_KEY, events

CONSOLE = "/console"
MOBILE = "138 0013 8000"
MOBILE_E164 = "+8613800138000"


def fake_assess(text_: str) -> TriageResult:
    """Keyword stand-in for the model: "今晚" is a crisis."""
    level = RiskLevel.CRISIS if "今晚" in text_ else RiskLevel.MODERATE
    return TriageResult(level, 0.9, [], ["medicine"] if "药" in text_ else [], "fake")


@pytest.fixture(autouse=True)
def stub_triage(monkeypatch):
    monkeypatch.setattr("hotline.resident.callbacks_api.assess_text", fake_assess)


def window(start_in: timedelta = timedelta(0), length=timedelta(hours=2)):
    start = utcnow() + start_in
    return start.isoformat(), (start + length).isoformat()


def booking(**overrides: Any) -> dict[str, Any]:
    start, end = window()
    body = {
        "phone": MOBILE,
        "window_start": start,
        "window_end": end,
        "lang": "zh",
        "note": "",
        "consent": True,
        "may_leave_message": False,
        "may_say_hotline": True,
    }
    body.update(overrides)
    return body


def book(client, **overrides: Any):
    return client.post("/api/callbacks", json=booking(**overrides))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claim(counselor, conversation_id: int) -> dict[str, Any]:
    return counselor.emit(
        "claim", {"conversation_id": conversation_id}, namespace=CONSOLE, callback=True
    )


def attempt(counselor, conversation_id: int, outcome: str, note: str = ""):
    return counselor.emit(
        "attempt",
        {"conversation_id": conversation_id, "outcome": outcome, "note": note},
        namespace=CONSOLE,
        callback=True,
    )


def conversation_of(scalar, callback_id: int) -> int:
    return scalar(select(Callback.conversation_id).where(Callback.id == callback_id))


# --- booking ---------------------------------------------------------------


def test_booking_returns_an_id_and_token_and_shows_waiting(client):
    response = book(client)
    assert response.status_code == 201, response.json
    assert set(response.json) == {"callback_id", "token"}
    status = client.get(
        f"/api/callbacks/{response.json['callback_id']}",
        headers=bearer(response.json["token"]),
    )
    assert status.status_code == 200
    assert status.json["status"] == "waiting"
    assert status.json["position"] == 1
    assert status.json["urgent"] is False


@pytest.mark.parametrize(
    "phone",
    ["13800138000", "+86 138-0013-8000", "010 6552 9988", "+44 20 7946 0958"],
)
def test_chinese_mobiles_landlines_and_international_numbers_are_accepted(
    client, phone
):
    assert book(client, phone=phone).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "138001380001234"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": 13800138000}, "phone"),
        ({"phone": "+1" + "9" * 40}, "phone"),
        ({"consent": False}, "consent"),
        ({"consent": "yes"}, "consent"),
        ({"window_start": "tomorrow"}, "window"),
        ({"window_start": "2026-11-30T10:00:00"}, "window"),  # no offset
        ({"note": "很" * 1001}, "note"),
        ({"lang": "fr"}, "lang"),
        ({"may_leave_message": "no"}, "may_leave_message"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(client, overrides, field):
    response = book(client, **overrides)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_input"
    assert response.json["error"]["details"]["field"] == field
    assert "138" not in response.json["error"]["message"]


@pytest.mark.parametrize(
    ("start_in", "length"),
    [
        (timedelta(hours=-5), timedelta(hours=2)),  # already over
        (timedelta(days=3), timedelta(hours=2)),  # too far ahead
        (timedelta(hours=1), timedelta(minutes=5)),  # too short
        (timedelta(hours=1), timedelta(hours=-1)),  # ends before it starts
        (timedelta(hours=1), timedelta(hours=20)),  # too long
    ],
)
def test_unusable_windows_are_refused(client, start_in, length):
    start, end = window(start_in, length)
    response = book(client, window_start=start, window_end=end)
    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == "window"


def test_errors_come_in_the_residents_language(client):
    zh = client.post("/api/callbacks?lang=zh", json=booking(phone="12345")).json[
        "error"
    ]["message"]
    en = client.post("/api/callbacks?lang=en", json=booking(phone="12345")).json[
        "error"
    ]["message"]
    assert "phone number" in en
    assert zh != en and "号码" in zh


def test_a_repeated_request_is_recognised_not_doubled(client, scalar):
    first = book(client)
    assert first.status_code == 201
    # Same number written differently, overlapping window.
    start, end = window(timedelta(hours=1))
    again = book(client, phone="+86 13800138000", window_start=start, window_end=end)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "duplicate_callback"
    assert scalar(select(text("count(*)")).select_from(Callback)) == 1
    # A later, separate window for the same number is a new request.
    start, end = window(timedelta(hours=3))
    assert book(client, window_start=start, window_end=end).status_code == 201


def test_requests_per_number_are_limited(app, client):
    app.config["CALLBACK_PER_NUMBER_PER_DAY"] = 2
    for hours in (0, 3):
        start, end = window(timedelta(hours=hours))
        assert book(client, window_start=start, window_end=end).status_code == 201
    start, end = window(timedelta(hours=6))
    response = book(client, window_start=start, window_end=end)
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    # Another number is not affected.
    assert book(client, phone="13900139000").status_code == 201


def test_requests_per_address_are_limited(app, client):
    app.config["RATELIMIT_ENABLED"] = True
    app.config["CALLBACK_IP_LIMIT"] = "2 per hour"
    from hotline.extensions import limiter

    limiter.init_app(app)
    numbers = ["13800138001", "13800138002", "13800138003"]
    codes = [book(client, phone=number).status_code for number in numbers]
    assert codes == [201, 201, 429]


def test_the_number_is_encrypted_at_rest(app, client):
    response = book(client)
    # Closed at once: a session left open keeps its connection checked out,
    # and PostgreSQL's driver warns when the garbage collector finds it.
    with app.app_context(), db.new_session() as session:
        row = session.execute(text("SELECT * FROM callbacks")).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    for form in (MOBILE_E164, "13800138000", "138 0013 8000", "0013"):
        assert form not in stored
    assert row["phone_hint"] == "8000"
    assert response.status_code == 201


def test_crisis_note_escalates_at_once_and_shows_crisis_contacts(
    client, scalar, counselor_socket
):
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    worker.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)
    response = book(client, note="我今晚就不想活了")
    assert response.status_code == 201
    assert {line["number"] for line in response.json["crisis_contacts"]} >= {"120"}
    conversation_id = conversation_of(scalar, response.json["callback_id"])
    assert (
        scalar(
            select(Escalation.state).where(
                Escalation.conversation_id == conversation_id
            )
        )
        == "open"
    )
    alerts = events(worker, "escalation", CONSOLE)
    assert [alert["conversation_id"] for alert in alerts] == [conversation_id]
    status = client.get(
        f"/api/callbacks/{response.json['callback_id']}",
        headers=bearer(response.json["token"]),
    )
    assert status.json["urgent"] is True
    assert status.json["crisis_contacts"]


def test_a_calm_note_is_triaged_but_not_escalated(client, scalar):
    response = book(client, note="家里的降压药快吃完了")
    conversation_id = conversation_of(scalar, response.json["callback_id"])
    assert scalar(
        select(Conversation.needs).where(Conversation.id == conversation_id)
    ) == ["medicine"]
    assert scalar(select(text("count(*)")).select_from(Escalation)) == 0
    assert "crisis_contacts" not in response.json


def test_the_status_needs_the_right_token(client, start_chat):
    mine = book(client).json
    other = book(client, phone="13900139000").json
    url = f"/api/callbacks/{mine['callback_id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer("x" * 43)).status_code == 401
    assert client.get(url, headers=bearer(other["token"])).status_code == 404
    chat_token = start_chat()["token"]
    assert client.get(url, headers=bearer(chat_token)).status_code == 401


def test_a_callback_token_opens_no_chat(client, resident_socket):
    token = book(client).json["token"]
    resident = resident_socket(token)
    assert not resident.is_connected("/chat")


# --- cancelling ------------------------------------------------------------


def test_the_resident_can_cancel_a_waiting_callback(client, counselor_socket):
    counselor = counselor_socket()
    booked = book(client).json
    assert [i["kind"] for i in events(counselor, "queue", CONSOLE)[-1]["items"]] == [
        "callback"
    ]
    response = client.post(
        f"/api/callbacks/{booked['callback_id']}/cancel",
        headers=bearer(booked["token"]),
    )
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert events(counselor, "queue", CONSOLE)[-1]["items"] == []


def test_a_callback_being_called_cannot_be_cancelled(client, scalar, counselor_socket):
    counselor = counselor_socket()
    booked = book(client).json
    claim(counselor, conversation_of(scalar, booked["callback_id"]))
    response = client.post(
        f"/api/callbacks/{booked['callback_id']}/cancel",
        headers=bearer(booked["token"]),
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "not_cancellable"
    status = client.get(
        f"/api/callbacks/{booked['callback_id']}", headers=bearer(booked["token"])
    )
    assert status.json["status"] == "scheduled"


def test_a_crisis_callback_cannot_be_cancelled(client):
    booked = book(client, note="今晚我会结束一切").json
    response = client.post(
        f"/api/callbacks/{booked['callback_id']}/cancel",
        headers=bearer(booked["token"]),
    )
    assert response.status_code == 409
    assert (
        "social worker"
        in client.post(
            f"/api/callbacks/{booked['callback_id']}/cancel?lang=en",
            headers=bearer(booked["token"]),
        ).json["error"]["message"]
    )


# --- the console -----------------------------------------------------------


def test_callbacks_share_the_queue_ordered_by_risk_then_window(
    client, scalar, start_chat, counselor_socket
):
    counselor = counselor_socket()
    start_chat()
    later = window(timedelta(hours=2))
    book(client, phone="13900139000", window_start=later[0], window_end=later[1])
    book(client, note="今晚")  # crisis
    items = events(counselor, "queue", CONSOLE)[-1]["items"]
    assert [(i["kind"], i["risk_level"]) for i in items] == [
        ("callback", "crisis"),
        ("chat", "low"),
        ("callback", "low"),
    ]
    due_later = items[2]["callback"]
    assert due_later["due"] is False and due_later["overdue"] is False
    assert due_later["phone_masked"] == "•••• 9000"
    assert "139" not in str(items)


def test_only_the_holder_sees_the_full_number_and_it_is_audited(
    client, scalar, counselor_socket
):
    ana = counselor_socket("ana")
    bo = counselor_socket("bo")
    booked = book(client, note="想有人聊聊").json
    conversation_id = conversation_of(scalar, booked["callback_id"])
    refused = bo.emit(
        "call_sheet",
        {"conversation_id": conversation_id},
        namespace=CONSOLE,
        callback=True,
    )
    assert refused["ok"] is False and refused["error"]["code"] == "not_holder"
    assert claim(ana, conversation_id)["ok"] is True
    assert claim(bo, conversation_id)["error"]["code"] == "already_claimed"
    sheet = ana.emit(
        "call_sheet",
        {"conversation_id": conversation_id},
        namespace=CONSOLE,
        callback=True,
    )["sheet"]
    assert sheet["phone"] == "138 0013 8000"
    assert sheet["may_say_hotline"] is True and sheet["may_leave_message"] is False
    assert sheet["max_attempts"] == 3
    assert (
        scalar(text("SELECT count(*) FROM audit_events WHERE action = 'phone_viewed'"))
        == 1
    )


def test_a_callback_takes_no_chat_messages(client, scalar, counselor_socket):
    counselor = counselor_socket()
    conversation_id = conversation_of(scalar, book(client).json["callback_id"])
    claim(counselor, conversation_id)
    ack = counselor.emit(
        "message",
        {"conversation_id": conversation_id, "client_id": "abcdefgh1", "body": "hi"},
        namespace=CONSOLE,
        callback=True,
    )
    assert ack["error"]["code"] == "not_a_chat"


def test_unanswered_calls_retry_then_close_as_not_reached(
    app, client, scalar, counselor_socket
):
    app.config["CALLBACK_MAX_ATTEMPTS"] = 2
    counselor = counselor_socket()
    booked = book(client).json
    conversation_id = conversation_of(scalar, booked["callback_id"])
    claim(counselor, conversation_id)
    before = utcnow()
    first = attempt(counselor, conversation_id, "no_answer", "rang 8 times")
    assert first["ok"] is True and first["result"] == "retry"
    next_call = datetime.fromisoformat(first["next_call_at"])
    assert before + timedelta(minutes=29) < next_call < utcnow() + timedelta(minutes=31)
    # Back in the queue, not yet due; the resident sees "attempted".
    item = events(counselor, "queue", CONSOLE)[-1]["items"][0]
    assert item["conversation_id"] == conversation_id
    assert item["callback"]["attempts"] == 1 and item["callback"]["due"] is False
    status = client.get(
        f"/api/callbacks/{booked['callback_id']}", headers=bearer(booked["token"])
    ).json
    assert status["status"] == "attempted"
    assert datetime.fromisoformat(status["next_call_at"]) == next_call
    # The second (last allowed) try closes it, wrap-up recorded.
    claim(counselor, conversation_id)
    second = attempt(counselor, conversation_id, "busy")
    assert second["result"] == "closed" and second["attempts"] == 2
    assert (
        scalar(select(WrapUp.outcome).where(WrapUp.conversation_id == conversation_id))
        == Outcome.NOT_REACHED
    )
    assert scalar(select(text("count(*)")).select_from(CallAttempt)) == 2
    status = client.get(
        f"/api/callbacks/{booked['callback_id']}", headers=bearer(booked["token"])
    ).json
    assert status["status"] == "done"


def test_a_wrong_number_is_not_tried_again(client, scalar, counselor_socket):
    counselor = counselor_socket()
    conversation_id = conversation_of(scalar, book(client).json["callback_id"])
    claim(counselor, conversation_id)
    assert attempt(counselor, conversation_id, "wrong_number")["result"] == "closed"


def test_a_reached_call_closes_with_the_chat_wrap_up(client, scalar, counselor_socket):
    counselor = counselor_socket()
    booked = book(client).json
    conversation_id = conversation_of(scalar, booked["callback_id"])
    claim(counselor, conversation_id)
    assert attempt(counselor, conversation_id, "reached")["result"] == "reached"
    closed = counselor.emit(
        "close",
        {
            "conversation_id": conversation_id,
            "wrap_up": {
                "outcome": "referred",
                "needs": ["supplies"],
                "follow_up": True,
                "summary": "food parcel arranged",
            },
        },
        namespace=CONSOLE,
        callback=True,
    )
    assert closed["ok"] is True
    assert (
        scalar(select(Conversation.state).where(Conversation.id == conversation_id))
        == ConversationState.CLOSED
    )


def test_attempts_are_for_the_holder_only(client, scalar, counselor_socket):
    ana = counselor_socket("ana")
    bo = counselor_socket("bo")
    conversation_id = conversation_of(scalar, book(client).json["callback_id"])
    claim(ana, conversation_id)
    ack = attempt(bo, conversation_id, "reached")
    assert ack["error"]["code"] == "not_holder"
    bad = attempt(ana, conversation_id, "hung_up")
    assert bad["error"]["code"] == "invalid_input"


def test_windows_that_pass_unanswered_are_overdue(
    app, client, scalar, counselor_socket
):
    counselor = counselor_socket()
    conversation_id = conversation_of(scalar, book(client).json["callback_id"])
    with app.app_context():
        with db.transaction() as session:
            session.execute(
                update(Callback).values(
                    window_start=utcnow() - timedelta(hours=3),
                    window_end=utcnow() - timedelta(hours=1),
                )
            )
        with db.read() as session:
            overdue = callbacks.overdue_callbacks(session)
    assert [o.conversation_id for o in overdue] == [conversation_id]
    client.post("/api/chat", json={})  # any queue change republishes
    item = next(
        i
        for i in events(counselor, "queue", CONSOLE)[-1]["items"]
        if i["kind"] == "callback"
    )
    assert item["callback"]["due"] is True and item["callback"]["overdue"] is True


def test_claiming_is_atomic_across_two_racers(app, client, scalar, make_user):
    conversation_id = conversation_of(scalar, book(client).json["callback_id"])
    ids = [make_user(name) for name in ("ana", "bo")]
    from concurrent.futures import ThreadPoolExecutor

    from hotline.errors import AlreadyClaimed
    from hotline.services.queue import claim_conversation

    def try_claim(user_id: int) -> str:
        with app.app_context():
            try:
                with db.transaction() as session:
                    claim_conversation(session, conversation_id, user_id)
                return "won"
            except AlreadyClaimed:
                return "lost"

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(try_claim, ids))
    assert results == ["lost", "won"]


# --- the resident's window --------------------------------------------------


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    # Shanghai is UTC+8 all year (no daylight saving).
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def booked_for_the_morning(app, make_user):
    """A callback for 08:00-10:00 (Shanghai), a counsellor and a supervisor."""
    staff = {"ana": make_user("ana"), "sue": make_user("sue", Role.SUPERVISOR)}
    request = callbacks.CallbackRequest(
        phone=MOBILE_E164,
        window_start=shanghai(1, 8),
        window_end=shanghai(1, 10),
        lang="zh",
        note="",
        may_leave_message=False,
        may_say_hotline=True,
    )
    with app.app_context(), db.transaction() as session:
        created = callbacks.request_callback(
            session,
            phone_vault(),
            request,
            assessment=None,
            rules=callbacks.CallbackRules(),
        )
    return created, staff


def test_a_callback_is_not_claimable_before_its_window_opens(
    app, booked_for_the_morning
):
    created, staff = booked_for_the_morning
    cid = created.conversation_id
    with app.app_context():
        with (
            pytest.raises(CallbackWindowNotOpen) as refused,
            db.transaction() as session,
        ):
            claim_conversation(session, cid, staff["ana"], now=shanghai(1, 3, 36))
        assert refused.value.details == {"opens_at": shanghai(1, 8).isoformat()}
        # Only a supervisor may override.
        with pytest.raises(Forbidden), db.transaction() as session:
            claim_conversation(
                session, cid, staff["ana"], before_window=True, now=shanghai(1, 3, 36)
            )
        with db.transaction() as session:
            held = claim_conversation(session, cid, staff["ana"], now=shanghai(1, 8))
        assert held.holder_id == staff["ana"]


def test_no_answer_retries_inside_the_window_or_the_next_one(
    app, booked_for_the_morning
):
    created, staff = booked_for_the_morning
    cid, token = created.conversation_id, created.token
    rules = callbacks.CallbackRules()

    def no_answer(user_id: int, at: datetime) -> callbacks.AttemptResult:
        with db.transaction() as session:
            return callbacks.log_attempt(
                session,
                cid,
                user_id,
                outcome=CallOutcome.NO_ANSWER,
                note="",
                rules=rules,
                now=at,
            )

    def resident_sees() -> dict[str, Any]:
        with db.read() as session:
            return callbacks.resident_view(
                session, created.callback_id, token
            ).to_payload()

    with app.app_context():
        # 03:36: a supervisor rings early, on purpose; the record says so.
        with db.transaction() as session:
            claim_conversation(
                session, cid, staff["sue"], before_window=True, now=shanghai(1, 3, 36)
            )
        with db.read() as session:
            overridden = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "callback_window_overridden"
                )
            ).all()
            assert [(e.actor_id, e.conversation_id) for e in overridden] == [
                (staff["sue"], cid)
            ]
            assert overridden[0].details == {"window_start": shanghai(1, 8).isoformat()}
        # No answer: the retry waits for the window (08:00, not 04:06) ...
        first = no_answer(staff["sue"], shanghai(1, 3, 36))
        assert first.next_call_at == shanghai(1, 8)
        # ... and the resident's page says so.
        seen = resident_sees()
        assert seen["status"] == "attempted"
        assert seen["next_call_at"] == shanghai(1, 8).isoformat()
        assert (seen["window_start"], seen["window_end"]) == (
            shanghai(1, 8).isoformat(),
            shanghai(1, 10).isoformat(),
        )
        # 09:50: too late for a retry today, so the same hours tomorrow.
        with db.transaction() as session:
            claim_conversation(session, cid, staff["ana"], now=shanghai(1, 9, 45))
        second = no_answer(staff["ana"], shanghai(1, 9, 50))
        assert second.next_call_at == shanghai(2, 8)
        assert (second.window_start, second.window_end) == (
            shanghai(2, 8),
            shanghai(2, 10),
        )
        seen = resident_sees()
        assert seen["next_call_at"] == shanghai(2, 8).isoformat()
        assert seen["window_start"] == shanghai(2, 8).isoformat()
        # Not claimable again before tomorrow's window.
        with pytest.raises(CallbackWindowNotOpen), db.transaction() as session:
            claim_conversation(session, cid, staff["ana"], now=shanghai(1, 10, 30))


def test_the_console_refuses_a_callback_before_its_window(
    client, scalar, counselor_socket
):
    ana = counselor_socket("ana")
    sue = counselor_socket("sue", Role.SUPERVISOR)
    start, end = window(timedelta(hours=2))
    booked = book(client, window_start=start, window_end=end).json
    cid = conversation_of(scalar, booked["callback_id"])
    opens_at = datetime.fromisoformat(start)

    for staff in (ana, sue):
        refused = claim(staff, cid)
        assert refused["ok"] is False
        assert refused["error"]["code"] == "callback_window_not_open"
        assert datetime.fromisoformat(refused["error"]["details"]["opens_at"]) == (
            opens_at
        )
    early = {"conversation_id": cid, "before_window": True}
    forced = ana.emit("claim", early, namespace=CONSOLE, callback=True)
    assert forced["error"]["code"] == "forbidden"
    assert scalar(select(Conversation.state).where(Conversation.id == cid)) == (
        ConversationState.WAITING
    )

    # A supervisor may ring early; it is audited.
    taken = sue.emit("claim", early, namespace=CONSOLE, callback=True)
    assert taken["ok"] is True, taken
    assert (
        scalar(
            text(
                "SELECT count(*) FROM audit_events"
                " WHERE action = 'callback_window_overridden'"
            )
        )
        == 1
    )
    # No answer: the next try is when the window opens, and the page says so.
    retry = attempt(sue, cid, "no_answer")
    assert retry["result"] == "retry"
    assert datetime.fromisoformat(retry["next_call_at"]) == opens_at
    status = client.get(
        f"/api/callbacks/{booked['callback_id']}", headers=bearer(booked["token"])
    ).json
    assert status["status"] == "attempted"
    assert datetime.fromisoformat(status["next_call_at"]) == opens_at
    assert datetime.fromisoformat(status["window_end"]) == datetime.fromisoformat(end)
    assert claim(ana, cid)["error"]["code"] == "callback_window_not_open"


# --- erasure ---------------------------------------------------------------


def test_numbers_are_erased_days_after_the_callback_closed(
    app, client, scalar, counselor_socket
):
    counselor = counselor_socket()
    closed_id = conversation_of(scalar, book(client).json["callback_id"])
    open_id = conversation_of(
        scalar, book(client, phone="13900139000").json["callback_id"]
    )
    claim(counselor, closed_id)
    attempt(counselor, closed_id, "wrong_number")
    ten_days_on = utcnow() + timedelta(days=10)
    cutoff = ten_days_on - timedelta(days=app.config["PHONE_RETENTION_DAYS"])
    with app.app_context():
        with db.read() as session:
            assert (
                callbacks.erase_numbers(session, closed_before=cutoff, dry_run=True)
                == 1
            )
        for erased in (1, 0):
            with db.transaction() as session:
                assert callbacks.erase_numbers(session, closed_before=cutoff) == erased
    erased = scalar(select(Callback).where(Callback.conversation_id == closed_id))
    assert erased.phone_ciphertext is None and erased.phone_lookup is None
    assert erased.phone_hint is None and erased.erased_at is not None
    kept = scalar(select(Callback).where(Callback.conversation_id == open_id))
    assert kept.phone_ciphertext is not None
    # The audit trail records the erasure, without any number.
    assert (
        scalar(
            text("SELECT count(*) FROM audit_events WHERE action = 'numbers_erased'")
        )
        == 1
    )


def test_numbers_sealed_with_an_old_key_still_open_after_rotation():
    from hotline.phones import PhoneVault

    old = PhoneVault([TEST_PHONE_KEY])
    sealed = old.seal(MOBILE_E164)
    rotated = PhoneVault([PhoneVault.generate_key(), TEST_PHONE_KEY])
    assert rotated.open(sealed.ciphertext) == MOBILE_E164
    with pytest.raises(ValueError):
        PhoneVault([PhoneVault.generate_key()]).open(sealed.ciphertext)


def test_slots_endpoint_lists_todays_and_tomorrows_slots(client):
    body = client.get("/api/callbacks/slots").json
    assert body["timezone"] == "Asia/Shanghai"
    assert body["slots"]
    assert {slot["day"] for slot in body["slots"]} <= {"today", "tomorrow"}
    first = body["slots"][0]
    assert datetime.fromisoformat(first["end"]) > datetime.now(UTC)


def test_a_new_callback_with_a_calm_note_enters_the_pushed_queue(
    client, counselor_socket
):
    counselor = counselor_socket("ana")
    slot = client.get("/api/callbacks/slots").json["slots"][0]
    response = client.post(
        "/api/callbacks",
        json={
            "phone": "138 0013 8000",
            "window_start": slot["start"],
            "window_end": slot["end"],
            "lang": "zh",
            "note": "想和人聊聊",
            "consent": True,
        },
    )
    assert response.status_code == 201
    pushed = events(counselor, "queue", CONSOLE)[-1]
    assert [item["kind"] for item in pushed["items"]] == ["callback"]
