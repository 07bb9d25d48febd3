"""One resident cannot flood or outlast the service (issue #19, points 2 and 3).

The message budget belongs to the conversation, not to a socket, so more
sockets and reconnections on one token buy nothing; a block holds at once on
open sockets and for new chats from the same address. The same across real
workers on Redis: tests/test_abuse_processes.py.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from hotline.extensions import socketio
from hotline.models import Role
from tests.conftest import events

CHAT = "/chat"


def send(client, body, client_id):
    return client.emit(
        "message", {"client_id": client_id, "body": body}, namespace=CHAT, callback=True
    )


@pytest.fixture
def small_budget(app):
    app.config.update(MESSAGE_BURST=3, MESSAGE_RATE=0.001)


def test_parallel_sockets_on_one_token_share_one_budget(
    small_budget, start_chat, resident_socket
):
    token = start_chat()["token"]
    sockets = [resident_socket(token) for _ in range(5)]
    acks = [
        send(sock, f"m{n}-{i}", f"msg-par-{n}-{i}-x")
        for i in range(2)
        for n, sock in enumerate(sockets)
    ]
    assert sum(ack["ok"] for ack in acks) == 3
    refused = [ack for ack in acks if not ack["ok"]]
    assert {ack["error"]["code"] for ack in refused} == {"rate_limited"}
    assert all(ack["error"]["details"]["retry_after"] >= 1 for ack in refused)


def test_reconnecting_does_not_refill_the_budget(
    small_budget, start_chat, resident_socket
):
    token = start_chat()["token"]
    for attempt in range(3):
        sock = resident_socket(token)
        assert send(sock, "hi", f"msg-rec-{attempt}")["ok"]
        sock.disconnect(namespace=CHAT)
    again = resident_socket(token)
    assert send(again, "and again", "msg-rec-9")["error"]["code"] == "rate_limited"


def test_each_conversation_has_its_own_budget(
    small_budget, start_chat, resident_socket
):
    first = resident_socket(start_chat()["token"])
    second = resident_socket(start_chat()["token"])
    for i in range(3):
        ack = send(first, "a", f"msg-aaa-{i}")
        assert ack["ok"], ack
    assert not send(first, "a", "msg-aaa-9")["ok"]
    assert send(second, "b", "msg-bbb-0")["ok"]


def test_staff_share_one_budget_across_console_tabs(
    app, small_budget, start_chat, counselor_socket
):
    chat = start_chat()
    first = counselor_socket("ana")
    ack = first.emit(
        "claim",
        {"conversation_id": chat["conversation_id"]},
        namespace="/console",
        callback=True,
    )
    assert ack["ok"], ack
    http = app.test_client()
    from tests.conftest import PASSWORD

    http.post("/api/auth/login", json={"username": "ana", "password": PASSWORD})
    second = socketio.test_client(app, namespace="/console", flask_test_client=http)
    acks = [
        tab.emit(
            "message",
            {
                "conversation_id": chat["conversation_id"],
                "client_id": f"msg-staff-{i}-{n}",
                "body": "hello",
            },
            namespace="/console",
            callback=True,
        )
        for i in range(2)
        for n, tab in enumerate((first, second))
    ]
    assert [a["ok"] for a in acks] == [True, True, True, False]


# --- blocks hold at once -----------------------------------------------------


def block(client, conversation_id, hours="24"):
    response = client.post(
        f"/supervisor/conversations/{conversation_id}/block",
        data={"hours": hours, "reason": "threats"},
    )
    assert response.status_code == 302
    return response


@pytest.fixture
def supervisor(make_user, auth):
    make_user("sup", Role.SUPERVISOR)
    auth.login("sup")


def test_an_open_socket_is_refused_and_hung_up_once_blocked(
    supervisor, client, start_chat, resident_socket, scalar
):
    chat = start_chat(lang="en")
    resident = resident_socket(chat["token"])
    assert send(resident, "before", "msg-blk-1")["ok"]
    block(client, chat["conversation_id"])
    # The open page hears it at once, in its own language.
    pushed = events(resident, "blocked", CHAT)
    assert pushed and pushed[-1]["code"] == "blocked"
    assert "danger" in pushed[-1]["message"]
    ack = send(resident, "after", "msg-blk-2")
    assert ack["ok"] is False
    assert ack["error"]["code"] == "blocked"
    assert {c["number"] for c in ack["error"]["details"]["crisis_contacts"]} >= {"120"}
    assert hung_up(resident, scalar)


def hung_up(resident, scalar) -> bool:
    """Whether the server hangs the socket up (shortly after its refusal),
    its disconnect handler included (it must not outlive the test)."""
    deadline = time.monotonic() + 5

    def gone() -> bool:
        return not resident.is_connected(CHAT) and not scalar(
            text("SELECT count(*) FROM resident_presence")
        )

    while not gone() and time.monotonic() < deadline:
        time.sleep(0.05)
    return gone()


def test_a_sync_from_a_blocked_socket_is_refused(
    supervisor, client, start_chat, resident_socket, scalar
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    block(client, chat["conversation_id"])
    ack = resident.emit("sync", {"after_seq": 0}, namespace=CHAT, callback=True)
    assert ack["error"]["code"] == "blocked"
    assert hung_up(resident, scalar)


def test_a_new_chat_from_a_blocked_address_is_refused_without_a_token(
    app, supervisor, client, start_chat
):
    chat = start_chat()
    block(client, chat["conversation_id"])
    resident = app.test_client()
    refused = resident.post("/api/chat?lang=en", json={"lang": "en"})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "blocked"
    assert "danger" in refused.json["error"]["message"]
    # Someone at another address is not affected.
    elsewhere = app.test_client().post(
        "/api/chat", json={"lang": "en"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert elsewhere.status_code == 201


def test_an_address_block_ends_with_the_block(app, supervisor, client, start_chat):
    chat = start_chat()
    block(client, chat["conversation_id"], hours="1")
    assert app.test_client().post("/api/chat", json={}).status_code == 403
    with app.app_context():
        from hotline.extensions import db

        with db.transaction() as session:
            session.execute(text("UPDATE blocks SET until = created_at"))
    assert app.test_client().post("/api/chat", json={}).status_code == 201


def test_the_address_is_kept_only_as_a_keyed_hash(app, start_chat, scalar):
    start_chat()
    stored = scalar(text("SELECT address_hash FROM conversations"))
    assert stored and "127.0.0.1" not in stored and len(stored) == 64
