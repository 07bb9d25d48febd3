"""The staff ``/console`` namespace: queue, claim race, replies, notes, wrap-up."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hotline.extensions import db, socketio
from hotline.models import Message, Note, Role, User, WrapUp
from tests.conftest import events

NS = "/console"
CHAT = "/chat"


def claim(client: Any, conversation_id: Any) -> Any:
    return client.emit(
        "claim", {"conversation_id": conversation_id}, namespace=NS, callback=True
    )


def reply(client: Any, conversation_id: int, body: Any, client_id: str) -> Any:
    return client.emit(
        "message",
        {"conversation_id": conversation_id, "client_id": client_id, "body": body},
        namespace=NS,
        callback=True,
    )


WRAP_UP = {
    "outcome": "referred",
    "needs": ["medicine", "supplies"],
    "follow_up": True,
    "summary": "Out of insulin; linked to the community pharmacy.",
}


def test_unauthenticated_console_connection_is_refused(app):
    client = socketio.test_client(app, namespace=NS)
    assert not client.is_connected(NS)


def test_connect_sends_queue_in_arrival_order(start_chat, counselor_socket):
    first, second = start_chat("zh"), start_chat("en")
    console = counselor_socket()
    queue = events(console, "queue", NS)[-1]["items"]
    assert [item["conversation_id"] for item in queue] == [
        first["conversation_id"],
        second["conversation_id"],
    ]
    assert queue[1]["lang"] == "en"
    assert events(console, "held", NS)[-1] == {"items": []}


def test_queue_shows_preview_of_latest_resident_words(
    start_chat, resident_socket, counselor_socket
):
    chat = start_chat()
    console = counselor_socket()
    resident = resident_socket(chat["token"])
    resident.emit(
        "message", {"client_id": "msg-0001", "body": "家里没米了"}, namespace=CHAT
    )
    # Only that item is sent again: nobody's place moved.
    item = events(console, "queue_item", NS)[-1]
    assert item["conversation_id"] == chat["conversation_id"]
    assert item["preview"] == "家里没米了"
    assert item["message_count"] == 1


def test_a_queue_push_stays_small_however_long_the_queue(
    app, start_chat, resident_socket, counselor_socket, monkeypatch
):
    from hotline.models import RiskLevel
    from hotline.services.queue import QUEUE_PAGE
    from hotline.services.risk import TriageResult

    # A message that leaves the level as it is (whatever the model of the
    # day makes of the words): only then does one item change.
    monkeypatch.setattr(
        "hotline.resident.chat_namespace.assess_text",
        lambda text, context=(): TriageResult(RiskLevel.LOW, 0.1, [], [], "fake-1"),
    )
    chats = [start_chat() for _ in range(QUEUE_PAGE + 30)]
    console = counselor_socket()
    snapshot = events(console, "queue", NS)[-1]
    assert len(snapshot["items"]) == QUEUE_PAGE
    assert snapshot["total"] == QUEUE_PAGE + 30
    assert snapshot["counts"]["low"] == QUEUE_PAGE + 30
    # A message from the last in line changes one item, not the whole queue.
    before = len(events(console, "queue", NS))
    last = resident_socket(chats[-1]["token"])
    last.emit("message", {"client_id": "msg-0001", "body": "还在等"}, namespace=CHAT)
    assert len(events(console, "queue", NS)) == before
    assert events(console, "queue_item", NS)[-1]["preview"] == "还在等"


def test_full_conversation_round_trip(
    start_chat, resident_socket, counselor_socket, scalar
):
    chat = start_chat()
    cid = chat["conversation_id"]
    resident = resident_socket(chat["token"])
    resident.emit(
        "message", {"client_id": "res-0001", "body": "我好害怕"}, namespace=CHAT
    )
    console = counselor_socket()

    ack = claim(console, cid)
    assert ack["ok"] is True
    assert ack["conversation"]["state"] == "active"
    assert events(resident, "status", CHAT)[-1] == {
        "state": "active",
        "position": None,
        "estimated_minutes": None,
        "long_wait": False,
    }

    sync = console.emit(
        "sync", {"conversation_id": cid, "after_seq": 0}, namespace=NS, callback=True
    )
    assert [m["body"] for m in sync["messages"]] == ["我好害怕"]

    assert reply(console, cid, "我在这里陪你", "cou-0001") == {"ok": True, "seq": 2}
    pushed = events(resident, "message", CHAT)
    assert pushed[-1]["body"] == "我在这里陪你"
    assert pushed[-1]["sender"] == "counselor"

    resident.emit("message", {"client_id": "res-0002", "body": "谢谢"}, namespace=CHAT)
    assert events(console, "message", NS)[-1]["body"] == "谢谢"

    note = console.emit(
        "note",
        {"conversation_id": cid, "body": "Lives alone, diabetic."},
        namespace=NS,
        callback=True,
    )
    assert note["ok"] is True
    notes = console.emit("notes", {"conversation_id": cid}, namespace=NS, callback=True)
    assert [n["body"] for n in notes["notes"]] == ["Lives alone, diabetic."]

    closed = console.emit(
        "close",
        {"conversation_id": cid, "wrap_up": WRAP_UP},
        namespace=NS,
        callback=True,
    )
    assert closed == {"ok": True, "offer_pause": False}
    assert events(resident, "status", CHAT)[-1]["state"] == "closed"
    assert scalar(select(WrapUp.needs).where(WrapUp.conversation_id == cid)) == [
        "medicine",
        "supplies",
    ]
    # A closed conversation accepts nothing more from either side.
    assert reply(console, cid, "one more", "cou-0002")["error"]["code"] in {
        "conversation_closed",
        "not_holder",
    }
    late = resident.emit(
        "message",
        {"client_id": "res-0003", "body": "hello?"},
        namespace=CHAT,
        callback=True,
    )
    assert late["error"]["code"] == "conversation_closed"
    assert scalar(select(func.count()).select_from(Message)) == 3


def test_claim_race_has_exactly_one_winner(app, start_chat, counselor_socket):
    cid = start_chat()["conversation_id"]
    consoles = [counselor_socket(f"racer{i}") for i in range(4)]
    results: list[Any] = [None] * len(consoles)
    barrier = threading.Barrier(len(consoles))

    def run(index: int) -> None:
        barrier.wait()
        results[index] = claim(consoles[index], cid)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(consoles))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [r for r in results if r["ok"]]
    losers = [r for r in results if not r["ok"]]
    assert len(winners) == 1
    assert {r["error"]["code"] for r in losers} == {"already_claimed"}


def test_counselor_cannot_write_to_a_chat_they_do_not_hold(
    start_chat, counselor_socket, scalar
):
    cid = start_chat()["conversation_id"]
    holder = counselor_socket("holder")
    other = counselor_socket("other")
    claim(holder, cid)
    ack = reply(other, cid, "intruding", "cou-0001")
    assert ack["ok"] is False
    assert ack["error"]["code"] == "not_holder"
    for event in ("sync", "notes"):
        refused = other.emit(
            event, {"conversation_id": cid, "after_seq": 0}, namespace=NS, callback=True
        )
        assert refused["error"]["code"] == "not_holder"
    note = other.emit(
        "note", {"conversation_id": cid, "body": "x"}, namespace=NS, callback=True
    )
    assert note["error"]["code"] == "not_holder"
    assert scalar(select(func.count()).select_from(Message)) == 0
    assert scalar(select(func.count()).select_from(Note)) == 0


def test_counselor_cannot_write_to_a_waiting_chat(start_chat, counselor_socket):
    cid = start_chat()["conversation_id"]
    console = counselor_socket()
    assert reply(console, cid, "hi", "cou-0001")["error"]["code"] == "not_holder"


def test_release_returns_the_chat_to_the_queue(
    start_chat, resident_socket, counselor_socket
):
    chat = start_chat()
    cid = chat["conversation_id"]
    resident = resident_socket(chat["token"])
    console = counselor_socket()
    claim(console, cid)
    ack = console.emit("release", {"conversation_id": cid}, namespace=NS, callback=True)
    assert ack == {"ok": True}
    assert events(resident, "status", CHAT)[-1] == {
        "state": "waiting",
        "position": 1,
        "estimated_minutes": None,
        "long_wait": False,
    }
    assert [
        i["conversation_id"] for i in events(console, "queue", NS)[-1]["items"]
    ] == [cid]
    # Someone else can now take it.
    assert claim(counselor_socket("second"), cid)["ok"] is True


def test_resident_leaving_leaves_the_wrap_up_owed(
    start_chat, resident_socket, counselor_socket
):
    chat = start_chat()
    cid = chat["conversation_id"]
    resident = resident_socket(chat["token"])
    console = counselor_socket()
    claim(console, cid)
    resident.emit("end", {}, namespace=CHAT, callback=True)
    change = events(console, "conversation", NS)[-1]
    # The full view of the chat, now ended: still theirs until the wrap-up.
    assert (change["conversation_id"], change["state"]) == (cid, "closed")
    reconnected = socketio.test_client(
        console.app, namespace=NS, flask_test_client=console.flask_test_client
    )
    held = events(reconnected, "held", NS)[-1]["items"]
    assert [(h["conversation_id"], h["state"]) for h in held] == [(cid, "closed")]
    ack = console.emit(
        "close",
        {"conversation_id": cid, "wrap_up": WRAP_UP},
        namespace=NS,
        callback=True,
    )
    assert ack == {"ok": True, "offer_pause": False}
    again = console.emit(
        "close",
        {"conversation_id": cid, "wrap_up": WRAP_UP},
        namespace=NS,
        callback=True,
    )
    assert again["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("claim", None),
        ("claim", {"conversation_id": "1"}),
        ("claim", {"conversation_id": 0}),
        ("claim", {}),
        ("message", {"conversation_id": 1, "client_id": "cou-0001"}),
        (
            "message",
            {"conversation_id": 1, "client_id": "cou-0001", "body": "x" * 4001},
        ),
        ("sync", {"conversation_id": 1}),
        ("note", {"conversation_id": 1, "body": ""}),
        ("close", {"conversation_id": 1}),
        ("close", {"conversation_id": 1, "wrap_up": {"outcome": "fine"}}),
        (
            "close",
            {"conversation_id": 1, "wrap_up": {"outcome": "other", "needs": "x"}},
        ),
        (
            "close",
            {"conversation_id": 1, "wrap_up": {"outcome": "other", "follow_up": "yes"}},
        ),
    ],
)
def test_malformed_console_events_get_an_error_ack(
    start_chat, counselor_socket, event, payload
):
    start_chat()
    console = counselor_socket()
    ack = console.emit(event, payload, namespace=NS, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_input"
    assert console.is_connected(NS)


@pytest.mark.parametrize(
    ("event", "code"),
    [("claim", "not_found"), ("release", "not_found")],
)
def test_unknown_conversation_is_not_found(counselor_socket, event, code):
    console = counselor_socket()
    ack = console.emit(event, {"conversation_id": 999}, namespace=NS, callback=True)
    assert ack["error"]["code"] == code


def test_deactivated_counselor_loses_access_at_next_event(
    app, start_chat, counselor_socket
):
    cid = start_chat()["conversation_id"]
    console = counselor_socket()
    with app.app_context():
        session = db.new_session()
        session.execute(
            update(User).where(User.username == "ana").values(is_active=False)
        )
        session.commit()
        session.close()
    assert claim(console, cid)["error"]["code"] == "unauthorized"


def test_all_roles_can_use_the_console(start_chat, counselor_socket):
    cid = start_chat()["conversation_id"]
    supervisor = counselor_socket("sup", Role.SUPERVISOR)
    assert claim(supervisor, cid)["ok"] is True
