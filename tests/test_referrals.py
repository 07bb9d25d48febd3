"""Referrals: suggestions in the console, a card sent to the resident over the
socket, callbacks, the resident's area, and supervisors' follow-up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.models import (
    AuditEvent,
    Callback,
    Conversation,
    FollowUpStatus,
    Message,
    Referral,
    Role,
    User,
    utcnow,
)
from hotline.services import referrals, resources
from tests.conftest import PASSWORD, events

CHAT, NS = "/chat", "/console"


@pytest.fixture
def add_resource(app):
    def add(name: str, category: str = "food", **fields: Any) -> int:
        data = resources.parse_fields({"name": name, "category": category, **fields})
        with app.app_context(), db.transaction() as session:
            return resources.create(session, data)

    return add


def set_needs(app, conversation_id: int, needs: list[str]) -> None:
    with app.app_context():
        session = db.new_session()
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(needs=needs)
        )
        session.commit()
        session.close()


def emit(client, event: str, **payload: Any) -> dict[str, Any]:
    return client.emit(event, payload, namespace=NS, callback=True)


@pytest.fixture
def held_chat(app, start_chat, resident_socket, counselor_socket):
    """A chat that needs supplies, held by counsellor ``ana``."""
    chat = start_chat("zh")
    cid = chat["conversation_id"]
    set_needs(app, cid, ["supplies"])
    resident = resident_socket(chat["token"])
    console = counselor_socket("ana")
    assert emit(console, "claim", conversation_id=cid)["ok"]
    return cid, resident, console


def test_refer_delivers_a_card_to_the_resident_and_the_console(
    app, scalar, held_chat, add_resource
):
    cid, resident, console = held_chat
    food = add_resource(
        "社区食物站",
        contact="138 0013 8000",
        opening_hours="9:00-17:00",
        notes="<b>bring a bag</b>",
        languages="zh",
    )
    add_resource("Pharmacy", category="medicine", contact="120")

    panel = emit(console, "resources", conversation_id=cid)
    assert panel["ok"] and panel["area"] is None and panel["referrals"] == []
    assert [r["name"] for r in panel["resources"]] == ["社区食物站"]

    ack = emit(console, "refer", conversation_id=cid, resource_id=food)
    assert ack["ok"] and ack["seq"] == 1 and ack["channel"] == "chat"
    assert ack["referral"]["follow_up_status"] == "pending"

    card = {
        "resource_id": food,
        "name": "社区食物站",
        "contact": "138 0013 8000",
        "opening_hours": "9:00-17:00",
        "area": "",
        "notes": "<b>bring a bag</b>",
    }
    pushed = events(resident, "message", CHAT)[-1]
    assert pushed["seq"] == 1 and pushed["sender"] == "counselor"
    assert pushed["card"] == card
    # The body is the same card as plain text: transcripts need nothing new.
    lines = pushed["body"].splitlines()
    assert lines[0].endswith("社区食物站")
    assert lines[1].endswith(": 138 0013 8000")
    assert lines[2].endswith(": 9:00-17:00")
    assert lines[-1].endswith(": <b>bring a bag</b>")
    staff = events(console, "message", NS)[-1]
    assert staff["card"] == card and "assessment" in staff

    # A resident who resyncs gets the card again.
    sync = resident.emit("sync", {"after_seq": 0}, namespace=CHAT, callback=True)
    assert sync["messages"][0]["card"] == card

    referral = scalar(select(Referral).where(Referral.conversation_id == cid))
    assert (referral.resource_id, referral.message_seq) == (food, 1)
    # The wrap-up lists what was sent.
    panel = emit(console, "resources", conversation_id=cid)
    assert [r["resource_name"] for r in panel["referrals"]] == ["社区食物站"]


def test_search_and_area_shape_the_panel(app, held_chat, add_resource):
    cid, _, console = held_chat
    add_resource("Citywide rice", contact="1")
    add_resource("Xuhui rice", contact="2", area="Xuhui")
    add_resource("Pudong rice", contact="3", area="Pudong")
    add_resource("Legal clinic", category="legal_financial", contact="4")

    assert emit(console, "set_area", conversation_id=cid, area="  Xuhui ") == {
        "ok": True,
        "area": "Xuhui",
    }
    panel = emit(console, "resources", conversation_id=cid)
    assert [r["name"] for r in panel["resources"]] == ["Xuhui rice", "Citywide rice"]
    assert panel["area"] == "Xuhui" and panel["areas"] == ["Pudong", "Xuhui"]

    found = emit(console, "resources", conversation_id=cid, query="clinic")
    assert [r["name"] for r in found["resources"]] == ["Legal clinic"]

    too_long = emit(console, "set_area", conversation_id=cid, area="x" * 101)
    assert too_long["error"]["code"] == "invalid_input"
    assert emit(console, "set_area", conversation_id=cid, area="")["area"] is None


def test_only_the_holder_may_refer(
    app, scalar, start_chat, held_chat, counselor_socket, add_resource
):
    cid, resident, _ = held_chat
    food = add_resource("Food bank", contact="1")
    other = counselor_socket("bo")
    for event, payload in (
        ("refer", {"resource_id": food}),
        ("resources", {}),
        ("set_area", {"area": "Xuhui"}),
    ):
        ack = emit(other, event, conversation_id=cid, **payload)
        assert ack["error"]["code"] == "not_holder", (event, ack)
    # Nobody holds a waiting chat yet.
    waiting = start_chat()["conversation_id"]
    ack = emit(other, "refer", conversation_id=waiting, resource_id=food)
    assert ack["error"]["code"] == "not_holder"
    assert scalar(select(Referral.id)) is None
    assert scalar(select(Message.id).where(Message.conversation_id == cid)) is None
    assert events(resident, "message", CHAT) == []


def test_retired_unknown_and_closed_are_refused(app, held_chat, add_resource):
    cid, _, console = held_chat
    old = add_resource("Old pantry", contact="1")
    with app.app_context(), db.transaction() as session:
        resources.retire(session, old)
    ack = emit(console, "refer", conversation_id=cid, resource_id=old)
    assert ack["error"]["code"] == "conflict"
    assert emit(console, "refer", conversation_id=cid, resource_id=999)["error"][
        "code"
    ] == ("not_found")
    assert emit(console, "refer", conversation_id=cid, resource_id="1")["error"][
        "code"
    ] == ("invalid_input")
    fresh = add_resource("Fresh pantry", contact="2")
    closed = emit(
        console,
        "close",
        conversation_id=cid,
        wrap_up={"outcome": "referred", "needs": [], "follow_up": False},
    )
    assert closed["ok"]
    ack = emit(console, "refer", conversation_id=cid, resource_id=fresh)
    assert ack["error"]["code"] == "conversation_closed"


def test_a_callback_gets_the_referral_recorded(
    app, client, scalar, counselor_socket, add_resource
):
    start = utcnow()
    booked = client.post(
        "/api/callbacks",
        json={
            "phone": "13800138000",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
            "consent": True,
            "lang": "en",
            "note": "my mother needs her medicine",
        },
    ).json
    cid = scalar(
        select(Callback.conversation_id).where(Callback.id == booked["callback_id"])
    )
    pharmacy = add_resource("Pharmacy runners", category="medicine", contact="021 1")
    console = counselor_socket("ana")
    assert emit(console, "claim", conversation_id=cid)["ok"]

    ack = emit(console, "refer", conversation_id=cid, resource_id=pharmacy)
    assert ack["ok"] and ack["channel"] == "callback"
    assert scalar(select(Referral.resource_id).where(Referral.conversation_id == cid))
    # The card text is in the transcript, for the counsellor to read out.
    sync = emit(console, "sync", conversation_id=cid, after_seq=0)
    card_message = sync["messages"][-1]
    assert card_message["seq"] == ack["seq"]
    assert card_message["body"].splitlines() == [
        "【Community resource】Pharmacy runners",
        "Contact: 021 1",
        "Area: Citywide",
    ]


# --- follow-up -------------------------------------------------------------


@pytest.fixture
def referral_id(app, held_chat, add_resource) -> int:
    cid, _, console = held_chat
    food = add_resource("Food bank", contact="1")
    return emit(console, "refer", conversation_id=cid, resource_id=food)["referral"][
        "referral_id"
    ]


def signed_in(app, make_user, username: str, role: Role) -> Any:
    make_user(username, role)
    http = app.test_client()
    response = http.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200
    http.get("/console/login?lang=en")  # pages in English from here on
    return http


def test_supervisor_follows_up_and_it_is_audited(app, make_user, scalar, referral_id):
    http = signed_in(app, make_user, "sue", Role.SUPERVISOR)
    page = http.get("/supervisor/referrals").get_data(as_text=True)
    assert "Food bank" in page and "Not followed up yet" in page
    assert "/supervisor/conversations/" in page

    response = http.post(
        f"/supervisor/referrals/{referral_id}",
        data={"status": "confirmed", "note": "Rice delivered on Tuesday"},
    )
    assert response.status_code == 302
    referral = scalar(select(Referral).where(Referral.id == referral_id))
    assert referral.follow_up_status is FollowUpStatus.CONFIRMED
    assert referral.follow_up_note == "Rice delivered on Tuesday"
    assert referral.followed_up_at is not None
    event = scalar(
        select(AuditEvent).where(AuditEvent.action == "referral_followed_up")
    )
    assert event.details == {"referral_id": referral_id, "status": "confirmed"}
    assert event.conversation_id == referral.conversation_id

    confirmed = http.get("/supervisor/referrals?status=confirmed").get_data(
        as_text=True
    )
    assert "Rice delivered on Tuesday" in confirmed
    pending = http.get("/supervisor/referrals?status=pending").get_data(as_text=True)
    assert "Food bank" not in pending

    bad = http.post(f"/supervisor/referrals/{referral_id}", data={"status": "done"})
    assert bad.status_code == 400


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.SOCIAL_WORKER, Role.ADMIN])
def test_only_supervisors_follow_up(app, make_user, scalar, referral_id, role):
    http = signed_in(app, make_user, f"not-{role.value}", role)
    response = http.post(
        f"/supervisor/referrals/{referral_id}", data={"status": "not_needed"}
    )
    assert response.status_code == 403
    assert scalar(select(Referral.follow_up_status)) is FollowUpStatus.PENDING
    # The service refuses too, whoever calls it.
    with app.app_context(), db.transaction() as session:
        actor = session.scalar(
            select(User.id).where(User.username == f"not-{role.value}")
        )
        with pytest.raises(Forbidden):
            referrals.set_follow_up(session, referral_id, actor, "not_needed", "")


def test_list_referrals_filters_by_status(app, referral_id, make_user):
    supervisor = make_user("sue", Role.SUPERVISOR)
    with app.app_context():
        with db.transaction() as session:
            referrals.set_follow_up(
                session,
                referral_id,
                supervisor,
                FollowUpStatus.NOT_REACHABLE,
                "no answer",
            )
        with db.read() as session:
            assert [r.referral_id for r in referrals.list_referrals(session)] == [
                referral_id
            ]
            assert referrals.list_referrals(session, "pending") == []
            (view,) = referrals.list_referrals(session, FollowUpStatus.NOT_REACHABLE)
        assert (view.followed_up_by, view.follow_up_note) == ("sue", "no answer")
