"""The resident ``/chat`` namespace, driven through Flask-SocketIO's test client."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.models import Message
from tests.conftest import events

NS = "/chat"


def send(client: Any, body: Any, client_id: str = "msg-0001") -> Any:
    return client.emit(
        "message", {"client_id": client_id, "body": body}, namespace=NS, callback=True
    )


def test_connect_with_token_reports_waiting_position(start_chat, resident_socket):
    first = start_chat()
    second = start_chat()
    client = resident_socket(second["token"])
    assert client.is_connected(NS)
    assert events(client, "status", NS)[-1] == {
        "state": "waiting",
        "position": 2,
        "estimated_minutes": None,
        "long_wait": False,
    }
    assert first["conversation_id"] != second["conversation_id"]


@pytest.mark.parametrize(
    "auth", [None, {}, {"token": "forged-token-" * 3}, {"token": 7}]
)
def test_connect_refused_without_valid_token(app, auth):
    from hotline.extensions import socketio

    client = socketio.test_client(app, namespace=NS, auth=auth)
    assert not client.is_connected(NS)


def test_message_is_stored_then_acknowledged_with_seq(start_chat, resident_socket):
    chat = start_chat()
    client = resident_socket(chat["token"])
    assert send(client, "你好，我睡不着", "msg-0001") == {"ok": True, "seq": 1}
    assert send(client, "still there?", "msg-0002") == {"ok": True, "seq": 2}
    pushed = events(client, "message", NS)
    assert [m["seq"] for m in pushed] == [1, 2]
    assert pushed[0]["sender"] == "resident"
    assert pushed[0]["body"] == "你好，我睡不着"


def test_repeated_client_id_is_stored_once(start_chat, resident_socket, scalar):
    chat = start_chat()
    client = resident_socket(chat["token"])
    assert send(client, "hello", "same-client-id") == {"ok": True, "seq": 1}
    assert send(client, "hello", "same-client-id") == {"ok": True, "seq": 1}
    count = scalar(select(func.count()).select_from(Message))
    assert count == 1


def test_sync_returns_messages_after_seq(start_chat, resident_socket):
    chat = start_chat()
    client = resident_socket(chat["token"])
    for index in range(3):
        send(client, f"message {index}", f"msg-000{index}")
    ack = client.emit("sync", {"after_seq": 1}, namespace=NS, callback=True)
    assert ack["ok"] is True
    assert [m["seq"] for m in ack["messages"]] == [2, 3]
    assert ack["status"] == {
        "state": "waiting",
        "position": 1,
        "estimated_minutes": None,
        "long_wait": False,
    }
    assert ack["has_more"] is False


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, "invalid_input"),
        ("just a string", "invalid_input"),
        ({"client_id": "msg-0001"}, "invalid_input"),
        ({"client_id": "msg-0001", "body": ""}, "invalid_input"),
        ({"client_id": "msg-0001", "body": "   \n  "}, "invalid_input"),
        ({"client_id": "msg-0001", "body": 42}, "invalid_input"),
        ({"client_id": "msg-0001", "body": "x" * 4001}, "invalid_input"),
        ({"client_id": "no", "body": "hi"}, "invalid_input"),
        ({"client_id": ["x"], "body": "hi"}, "invalid_input"),
        ({"body": "hi"}, "invalid_input"),
    ],
)
def test_bad_messages_get_an_error_ack_and_store_nothing(
    start_chat, resident_socket, scalar, payload, code
):
    chat = start_chat()
    client = resident_socket(chat["token"])
    ack = client.emit("message", payload, namespace=NS, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert ack["error"]["message"]
    assert scalar(select(func.count()).select_from(Message)) == 0
    # The connection survives and still works.
    assert send(client, "still here", "msg-0009") == {"ok": True, "seq": 1}


def test_body_of_exactly_4000_characters_is_accepted(start_chat, resident_socket):
    client = resident_socket(start_chat()["token"])
    assert send(client, "好" * 4000)["ok"] is True


@pytest.mark.parametrize(
    "payload",
    [None, [], {}, {"after_seq": -1}, {"after_seq": "3"}, {"after_seq": True}],
)
def test_bad_sync_gets_an_error_ack(start_chat, resident_socket, payload):
    client = resident_socket(start_chat()["token"])
    ack = client.emit("sync", payload, namespace=NS, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_input"
    assert client.is_connected(NS)


def test_resident_cannot_reach_another_conversation(start_chat, resident_socket):
    mine = start_chat()
    theirs = start_chat()
    other = resident_socket(theirs["token"])
    send(other, "private words", "msg-other1")
    client = resident_socket(mine["token"])
    ack = client.emit("sync", {"after_seq": 0}, namespace=NS, callback=True)
    assert ack["messages"] == []
    assert all(m["body"] != "private words" for m in events(client, "message", NS))


def test_messages_are_rendered_as_text_not_html(start_chat, resident_socket, client):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    ack = send(resident, "<script>alert(1)</script>")
    assert ack["ok"] is True
    page = client.get("/")
    assert "Content-Security-Policy" in page.headers
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_resident_can_end_the_chat_and_then_cannot_write(start_chat, resident_socket):
    client = resident_socket(start_chat()["token"])
    assert client.emit("end", {}, namespace=NS, callback=True) == {"ok": True}
    assert events(client, "status", NS)[-1]["state"] == "closed"
    ack = send(client, "hello?")
    assert ack["error"]["code"] == "conversation_closed"


def test_message_rate_is_limited_per_conversation(app, start_chat, resident_socket):
    app.config.update(MESSAGE_BURST=3, MESSAGE_RATE=0.001)
    client = resident_socket(start_chat()["token"])
    acks = [send(client, f"m{i}", f"msg-rate-{i}") for i in range(4)]
    assert [ack["ok"] for ack in acks] == [True, True, True, False]
    assert acks[-1]["error"]["code"] == "rate_limited"


def test_socket_events_return_their_database_connections(
    app, start_chat, resident_socket
):
    from hotline.extensions import db

    client = resident_socket(start_chat()["token"])
    for index in range(5):
        send(client, f"message {index}", f"msg-pool-{index}")
        client.emit("sync", {"after_seq": 0}, namespace=NS, callback=True)
    send(client, "", "msg-pool-bad")  # an error path too
    assert db.engine.pool.checkedout() == 0
