"""A waiting resident's message under a surge (issue 20): what its hot path
no longer reads back must still be exactly what the database says.

The ``queue_item`` push is built from what ``post_message`` holds after its
UPDATE … RETURNING instead of a query per message, and the block check runs
inside that UPDATE instead of as a statement of its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from hotline.dispatcher import PositionPushes, position_pushes
from hotline.extensions import db
from hotline.models import Block, BlockKind, RiskLevel, Role, utcnow
from hotline.services.conversations import hash_token
from hotline.services.queue import PREVIEW_CHARS, waiting_queue
from hotline.services.risk import TriageResult
from tests.conftest import events
from tests.test_abuse import hung_up

CHAT = "/chat"
NS = "/console"


def send(client, body, client_id):
    return client.emit(
        "message", {"client_id": client_id, "body": body}, namespace=CHAT, callback=True
    )


def low_with_signals(body, _context=None):
    """Triage that keeps the level low but adds signals and needs, so the
    item's every field moves without moving the chat in the queue."""
    return TriageResult(
        RiskLevel.LOW,
        0.1,
        [
            {"name": "isolation.alone", "status": "active"},
            {"name": "hopeless", "status": "negated"},
        ],
        ["food"] if "米" in body else ["medicine"],
        "fake",
    )


@pytest.fixture
def quiet_triage(monkeypatch):
    monkeypatch.setattr("hotline.resident.chat_namespace.assess_text", low_with_signals)


def item_in_queue(app, conversation_id):
    with app.app_context(), db.read() as session:
        items = waiting_queue(session)
    return next(i.to_payload() for i in items if i.conversation_id == conversation_id)


def test_the_queue_item_push_is_the_item_as_stored(
    app, quiet_triage, start_chat, resident_socket, counselor_socket
):
    ahead = start_chat()
    chat = start_chat("en")
    console = counselor_socket()
    resident = resident_socket(chat["token"])
    long_words = "家里没米了，" + "还有孩子要吃饭。" * 30
    assert send(resident, long_words, "msg-0001")["ok"]
    assert send(resident, "药也快没了", "msg-0002")["ok"]
    pushed = events(console, "queue_item", NS)
    assert [p["conversation_id"] for p in pushed] == [chat["conversation_id"]] * 2
    assert pushed[0]["preview"] == long_words[:PREVIEW_CHARS]
    # Needs and signals merge across messages; the level did not move.
    assert pushed[-1] == item_in_queue(app, chat["conversation_id"])
    assert pushed[-1]["needs"] == ["food", "medicine"]
    assert pushed[-1]["signals"] == ["isolation"]
    assert pushed[-1]["message_count"] == 2
    assert item_in_queue(app, ahead["conversation_id"])["message_count"] == 0


def test_a_block_placed_after_connect_refuses_the_next_message(
    app, supervisor, start_chat, resident_socket, scalar
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    assert send(resident, "在吗", "msg-blk-1")["ok"]
    block_token(app, chat["token"], supervisor)
    ack = send(resident, "after", "msg-blk-2")
    assert ack["ok"] is False
    assert ack["error"]["code"] == "blocked"
    assert ack["error"]["details"]["crisis_contacts"]
    assert hung_up(resident, scalar)
    # Nothing of the refused message was stored.
    assert item_in_queue(app, chat["conversation_id"])["message_count"] == 1


def test_a_resend_from_a_blocked_token_is_refused_too(
    app, supervisor, start_chat, resident_socket, scalar
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    assert send(resident, "在吗", "msg-blk-1")["ok"]
    block_token(app, chat["token"], supervisor)
    assert send(resident, "在吗", "msg-blk-1")["error"]["code"] == "blocked"
    assert hung_up(resident, scalar)


def test_a_lifted_or_ended_block_lets_messages_through(
    app, supervisor, start_chat, resident_socket
):
    chat = start_chat()
    block_token(app, chat["token"], supervisor, until=utcnow() - timedelta(minutes=1))
    block_token(app, chat["token"], supervisor, lifted_at=utcnow())
    resident = resident_socket(chat["token"])
    assert send(resident, "还在吗", "msg-0001") == {"ok": True, "seq": 1}


def block_token(app, token, supervisor, *, until=None, lifted_at=None):
    """Store a block as another worker would, whose push has not reached
    this one: a refusal must not depend on this worker hearing of it."""
    with app.app_context(), db.transaction() as session:
        session.execute(
            insert(Block).values(
                kind=BlockKind.TOKEN,
                value_hash=hash_token(token),
                reason="threats",
                until=until or utcnow() + timedelta(hours=1),
                lifted_at=lifted_at,
                created_by=supervisor,
                created_at=utcnow(),
            )
        )


@pytest.fixture
def supervisor(make_user):
    return make_user("sup", Role.SUPERVISOR)


def test_a_callback_note_refreshes_the_page_with_its_window(
    monkeypatch, client, counselor_socket
):
    monkeypatch.setattr("hotline.resident.callbacks_api.assess_text", low_with_signals)
    console = counselor_socket()
    start = utcnow()
    booked = client.post(
        "/api/callbacks",
        json={
            "phone": "13800138000",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
            "lang": "zh",
            "note": "降压药快吃完了",
            "consent": True,
            "may_leave_message": False,
            "may_say_hotline": True,
        },
    )
    assert booked.status_code == 201, booked.json
    # A callback's item carries its window: only the page shows it whole.
    assert not events(console, "queue_item", NS)
    (item,) = events(console, "queue", NS)[-1]["items"]
    assert item["kind"] == "callback"
    assert item["callback"]["attempts"] == 0
    assert item["preview"] == "降压药快吃完了"
    assert item["needs"] == ["medicine"]


# --- joining costs the same however long the queue -------------------------


@pytest.fixture
def statements(app):
    """Every SQL statement run on either engine while the test runs."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engines = [e for e in (db.engine, db.read_engine) if e is not None]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", note)


def counts(statements):
    return [s for s in statements if "count(" in s.lower()]


def test_a_join_takes_its_place_from_a_recent_scan_without_counting(
    app, start_chat, resident_socket, statements
):
    chats = [start_chat() for _ in range(3)]
    app.config["POSITION_PUSH_SECONDS"] = 30
    with app.app_context():
        # The scan the last queue change ran.
        position_pushes().push()
    statements.clear()
    last = resident_socket(chats[-1]["token"])
    assert events(last, "status", CHAT)[-1]["position"] == 3
    sync = last.emit("sync", {"after_seq": 0}, namespace=CHAT, callback=True)
    assert sync["status"]["position"] == 3
    assert not counts(statements)


def test_without_a_recent_scan_a_join_counts_and_asks_for_one(
    app, start_chat, resident_socket, statements, monkeypatch
):
    app.config["POSITION_PUSH_SECONDS"] = 30
    requested = []
    monkeypatch.setattr(PositionPushes, "request", lambda self: requested.append(1))
    # Queue changes ask for a scan that never comes: none is recent.
    chats = [start_chat() for _ in range(3)]
    requested.clear()
    statements.clear()
    last = resident_socket(chats[-1]["token"])
    assert events(last, "status", CHAT)[-1]["position"] == 3
    assert counts(statements)
    assert requested
