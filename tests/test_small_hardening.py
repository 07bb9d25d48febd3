"""The smaller findings of issue #19 (point 9), each reproduced.

The per-account sign-in limit and the hashed username are in
test_http.py and test_revocation.py; the import size in test_resources.py.
"""

from __future__ import annotations

import pytest

from hotline.errors import NotHolder
from hotline.extensions import db
from hotline.models import EscalationOutcome, Role
from hotline.services import conversations, escalations
from tests.conftest import PASSWORD

CONSOLE = "/console"


@pytest.mark.parametrize(
    "value", ["²", "99999999999999999999999", "١٢", "-1", "1e3", " 1"]
)
def test_audit_filters_refuse_odd_numbers_clearly(app, make_user, value):
    make_user("sue", Role.SUPERVISOR)
    http = app.test_client()
    http.post("/api/auth/login", json={"username": "sue", "password": PASSWORD})
    response = http.get("/api/audit", query_string={"conversation": value})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_input"
    assert (
        http.get("/supervisor/audit", query_string={"conversation": value}).status_code
        == 400
    )
    assert (
        http.get("/api/audit", query_string={"conversation": "12"}).status_code == 200
    )


def debrief(console, conversation_id):
    return console.emit(
        "debrief",
        {"conversation_id": conversation_id, "note": "hard one"},
        namespace=CONSOLE,
        callback=True,
    )


def test_debrief_about_an_unknown_conversation_is_not_found(counselor_socket):
    ack = debrief(counselor_socket("ana"), 424242)
    assert ack["error"]["code"] == "not_found"


def test_debrief_only_about_a_conversation_one_took_part_in(
    start_chat, counselor_socket
):
    chat = start_chat()
    ana = counselor_socket("ana")
    bo = counselor_socket("bo")
    claimed = ana.emit(
        "claim",
        {"conversation_id": chat["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert claimed["ok"], claimed
    assert debrief(bo, chat["conversation_id"])["error"]["code"] == "not_holder"
    assert debrief(ana, chat["conversation_id"])["ok"] is True
    # Without a conversation, a debrief is always possible.
    assert bo.emit(
        "debrief", {"note": "a long night"}, namespace=CONSOLE, callback=True
    )["ok"]


@pytest.fixture
def acknowledged(app, make_user):
    """An escalation acknowledged by one social worker; another on shift."""
    counselor = make_user("ana", Role.COUNSELOR)
    wei = make_user("wei", Role.SOCIAL_WORKER)
    li = make_user("li", Role.SOCIAL_WORKER)
    sun = make_user("sun", Role.SUPERVISOR)
    with app.app_context(), db.transaction() as session:
        cid, _ = conversations.start_conversation(session, "zh")
        escalation_id = escalations.escalate_manually(
            session, cid, actor_id=counselor, reason="worried"
        )
        escalations.acknowledge(session, escalation_id, wei)
    return escalation_id, {"wei": wei, "li": li, "sun": sun}


def close(app, escalation_id, actor_id):
    with app.app_context(), db.transaction() as session:
        escalations.close(
            session,
            escalation_id,
            actor_id=actor_id,
            outcome=EscalationOutcome.SAFETY_PLAN,
            notes="plan agreed",
        )


def test_another_responder_cannot_close_an_escalation_in_someone_elses_hands(
    app, acknowledged
):
    escalation_id, people = acknowledged
    with pytest.raises(NotHolder):
        close(app, escalation_id, people["li"])
    close(app, escalation_id, people["wei"])


def test_a_supervisor_can_close_any_escalation_in_hand(app, acknowledged):
    escalation_id, people = acknowledged
    close(app, escalation_id, people["sun"])


@pytest.mark.parametrize(
    "headers, allowed",
    [
        ({"Origin": "http://localhost"}, True),
        ({}, True),  # not a browser: nothing to protect
        ({"Origin": "http://evil.example"}, False),
        # A client-supplied X-Forwarded-Host is not trusted (PROXY_HOPS=0).
        ({"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"}, False),
        ({"Origin": "https://localhost", "X-Forwarded-Proto": "https"}, False),
    ],
)
def test_socket_origin_check_trusts_only_the_host_header(client, headers, allowed):
    response = client.get("/socket.io/?EIO=4&transport=polling", headers=headers)
    assert (response.status_code == 200) is allowed
