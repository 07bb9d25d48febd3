"""Load limits, breaks and debriefs; blocking abusive contacts; returning
residents' earlier contacts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text, update

from hotline.extensions import db
from hotline.models import Conversation, RiskLevel, Role, utcnow
from tests.conftest import events

CHAT, CONSOLE = "/chat", "/console"


def claim(counselor, conversation_id):
    return counselor.emit(
        "claim", {"conversation_id": conversation_id}, namespace=CONSOLE, callback=True
    )


def close(counselor, conversation_id, outcome="supported", summary=""):
    return counselor.emit(
        "close",
        {
            "conversation_id": conversation_id,
            "wrap_up": {
                "outcome": outcome,
                "needs": [],
                "follow_up": False,
                "summary": summary,
            },
        },
        namespace=CONSOLE,
        callback=True,
    )


def set_risk(app, conversation_id, level: RiskLevel) -> None:
    with app.app_context():
        session = db.new_session()
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(risk_level=level, risk_rank=level.rank)
        )
        session.commit()
        session.close()


# --- load limits -----------------------------------------------------------


def test_a_claim_beyond_the_limit_is_refused_clearly(app, start_chat, counselor_socket):
    app.config["MAX_CONVERSATIONS_PER_COUNSELOR"] = 2
    counselor = counselor_socket()
    chats = [start_chat()["conversation_id"] for _ in range(3)]
    assert claim(counselor, chats[0])["ok"] and claim(counselor, chats[1])["ok"]
    refused = claim(counselor, chats[2])
    assert refused["ok"] is False
    assert refused["error"]["code"] == "load_limit"
    # In the console's language (Chinese unless the staff member chose).
    assert "2 个对话" in refused["error"]["message"]
    # Nothing changed: the chat is still waiting for someone else.
    queue = events(counselor, "queue", CONSOLE)[-1]["items"]
    assert [i["conversation_id"] for i in queue] == [chats[2]]
    # Closing one frees a place.
    close(counselor, chats[0])
    assert claim(counselor, chats[2])["ok"]


def test_only_one_high_risk_conversation_at_a_time(app, start_chat, counselor_socket):
    counselor = counselor_socket()
    first, second, calm = (start_chat()["conversation_id"] for _ in range(3))
    set_risk(app, first, RiskLevel.HIGH)
    set_risk(app, second, RiskLevel.CRISIS)
    assert claim(counselor, first)["ok"]
    refused = claim(counselor, second)
    assert refused["error"]["code"] == "load_limit"
    assert "高风险" in refused["error"]["message"]
    assert claim(counselor, calm)["ok"]  # a calm one is still fine


# --- breaks and debriefs ---------------------------------------------------


def test_a_break_pauses_claims_until_it_ends(start_chat, counselor_socket):
    counselor = counselor_socket()
    chat = start_chat()["conversation_id"]
    ack = counselor.emit("pause", {"minutes": 5}, namespace=CONSOLE, callback=True)
    assert ack["ok"] and ack["on_break_until"]
    assert events(counselor, "break", CONSOLE)[-1]["on_break_until"]
    assert claim(counselor, chat)["error"]["code"] == "on_break"
    bad = counselor.emit("pause", {"minutes": 7}, namespace=CONSOLE, callback=True)
    assert bad["error"]["code"] == "invalid_input"
    counselor.emit("resume", {}, namespace=CONSOLE, callback=True)
    assert events(counselor, "break", CONSOLE)[-1] == {"on_break_until": None}
    assert claim(counselor, chat)["ok"]


def test_closing_a_crisis_offers_a_pause_and_a_debrief_reaches_supervisors(
    app, start_chat, counselor_socket
):
    supervisor = counselor_socket("sup", Role.SUPERVISOR)
    counselor = counselor_socket()
    calm, hard = (start_chat()["conversation_id"] for _ in range(2))
    set_risk(app, hard, RiskLevel.CRISIS)
    claim(counselor, calm)
    assert close(counselor, calm)["offer_pause"] is False
    claim(counselor, hard)
    assert close(counselor, hard)["offer_pause"] is True
    ack = counselor.emit(
        "debrief",
        {"conversation_id": hard, "note": "heavy one"},
        namespace=CONSOLE,
        callback=True,
    )
    assert ack["ok"]
    debrief = events(supervisor, "debrief", CONSOLE)[-1]
    assert debrief["conversation_id"] == hard and debrief["handled_at"] is None
    handled = supervisor.emit(
        "debrief_handled",
        {"debrief_id": debrief["debrief_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert handled["debrief"]["handled_by"] == "sup"
    refused = counselor.emit(
        "debrief_handled",
        {"debrief_id": debrief["debrief_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert refused["error"]["code"] == "forbidden"


def test_supervisors_see_the_team_load(
    app, client, make_user, auth, start_chat, counselor_socket
):
    counselor = counselor_socket("ana")
    counselor.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)
    chat = start_chat()["conversation_id"]
    set_risk(app, chat, RiskLevel.HIGH)
    claim(counselor, chat)
    counselor.emit("pause", {"minutes": 10}, namespace=CONSOLE, callback=True)
    make_user("sup", Role.SUPERVISOR)
    auth.login("sup")
    team = client.get("/api/team").json
    ana = next(m for m in team["members"] if m["name"] == "ana")
    assert (ana["on_duty"], ana["active"], ana["high_risk"]) == (True, 1, 1)
    assert ana["on_break_until"] is not None
    auth.logout()
    auth.login("ana")
    assert client.get("/api/team").status_code == 403


# --- abuse handling --------------------------------------------------------


def test_no_data_outcomes_close_a_prank(start_chat, counselor_socket, scalar):
    counselor = counselor_socket()
    chat = start_chat()["conversation_id"]
    claim(counselor, chat)
    assert close(counselor, chat, outcome="prank")["ok"]
    assert scalar(text("SELECT outcome FROM wrap_ups")) == "prank"


def block_from_transcript(client, conversation_id, hours="24", reason="abusive"):
    return client.post(
        f"/supervisor/conversations/{conversation_id}/block",
        data={"hours": hours, "reason": reason},
    )


def test_a_blocked_token_gets_a_neutral_message_with_crisis_numbers(
    client, make_user, auth, start_chat, resident_socket, scalar
):
    chat = start_chat()
    make_user("sup", Role.SUPERVISOR)
    auth.login("sup")
    response = block_from_transcript(client, chat["conversation_id"])
    assert response.status_code == 302
    # The resident's page cannot reconnect, and is told where to get help.
    resident = resident_socket(chat["token"])
    assert not resident.is_connected(CHAT)
    # A new chat from the same browser (sending the earlier token) is refused
    # the same way.
    refused = client.post("/api/chat?lang=en", json={"previous_token": chat["token"]})
    assert refused.status_code == 403
    error = refused.json["error"]
    assert error["code"] == "blocked"
    assert "danger" in error["message"]
    assert {c["number"] for c in error["details"]["crisis_contacts"]} >= {"120"}
    # Audited without the reason's words; listed for supervisors.
    assert (
        scalar(
            text("SELECT count(*) FROM audit_events WHERE action = 'contact_blocked'")
        )
        == 1
    )
    assert "abusive" not in str(
        scalar(
            text("SELECT details FROM audit_events WHERE action = 'contact_blocked'")
        )
    )
    page = client.get("/supervisor/blocks").get_data(as_text=True)
    assert "abusive" in page


def test_a_lifted_or_expired_block_lets_them_back(
    app, client, make_user, auth, start_chat, resident_socket
):
    chat = start_chat()
    make_user("sup", Role.SUPERVISOR)
    auth.login("sup")
    block_from_transcript(client, chat["conversation_id"], hours="1")
    with app.app_context():
        session = db.new_session()
        session.execute(
            text("UPDATE blocks SET until = :t"), {"t": utcnow() - timedelta(minutes=1)}
        )
        session.commit()
        session.close()
    assert resident_socket(chat["token"]).is_connected(CHAT)
    block_from_transcript(client, chat["conversation_id"], hours="24")
    assert not resident_socket(chat["token"]).is_connected(CHAT)
    with app.app_context():
        session = db.new_session()
        block_id = session.scalar(text("SELECT max(id) FROM blocks"))
        session.close()
    client.post(f"/supervisor/blocks/{block_id}/lift", data={})
    assert resident_socket(chat["token"]).is_connected(CHAT)


def test_a_blocked_number_cannot_book_a_callback(client, make_user, auth, scalar):
    start = utcnow()
    booking = {
        "phone": "13800138000",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "consent": True,
    }
    first = client.post("/api/callbacks", json=booking).json
    conversation_id = scalar(text("SELECT conversation_id FROM callbacks"))
    make_user("sup", Role.SUPERVISOR)
    auth.login("sup")
    block_from_transcript(client, conversation_id)
    later = start + timedelta(hours=3)
    again = client.post(
        "/api/callbacks",
        json={
            **booking,
            "window_start": later.isoformat(),
            "window_end": (later + timedelta(hours=2)).isoformat(),
        },
    )
    assert again.status_code == 403
    assert again.json["error"]["code"] == "blocked"
    assert first["callback_id"]


def test_only_supervisors_block(client, make_user, auth, start_chat):
    chat = start_chat()
    make_user("ana")
    auth.login("ana")
    assert block_from_transcript(client, chat["conversation_id"]).status_code == 403


# --- returning residents ---------------------------------------------------


def test_a_returning_resident_who_agreed_brings_their_earlier_wrap_up(
    client, start_chat, counselor_socket, resident_socket
):
    counselor = counselor_socket()
    first = start_chat()
    claim(counselor, first["conversation_id"])
    close(
        counselor,
        first["conversation_id"],
        outcome="referred",
        summary="food parcel arranged",
    )
    # The page sends the earlier token only when the resident ticked the box.
    second = client.post("/api/chat", json={"previous_token": first["token"]}).json
    claim(counselor, second["conversation_id"])
    ack = counselor.emit(
        "history",
        {"conversation_id": second["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert [c["conversation_id"] for c in ack["earlier"]] == [first["conversation_id"]]
    assert ack["earlier"][0]["outcome"] == "referred"
    assert ack["earlier"][0]["summary"] == "food parcel arranged"
    # Without the earlier token there is no link.
    third = start_chat()
    claim(counselor, third["conversation_id"])
    assert (
        counselor.emit(
            "history",
            {"conversation_id": third["conversation_id"]},
            namespace=CONSOLE,
            callback=True,
        )["earlier"]
        == []
    )


def test_history_is_for_the_holder_only(start_chat, counselor_socket):
    ana = counselor_socket("ana")
    bo = counselor_socket("bo")
    chat = start_chat()["conversation_id"]
    claim(ana, chat)
    refused = bo.emit(
        "history", {"conversation_id": chat}, namespace=CONSOLE, callback=True
    )
    assert refused["error"]["code"] == "not_holder"


def test_an_unknown_earlier_token_never_stops_a_new_chat(client):
    response = client.post("/api/chat", json={"previous_token": "nonsense" * 3})
    assert response.status_code == 201


def test_a_callback_number_shared_twice_links_the_earlier_callback(client, scalar):
    start = utcnow()

    def book(hours_later: int, share: bool):
        at = start + timedelta(hours=hours_later)
        return client.post(
            "/api/callbacks",
            json={
                "phone": "13800138000",
                "window_start": at.isoformat(),
                "window_end": (at + timedelta(hours=1)).isoformat(),
                "consent": True,
                "share_history": share,
            },
        ).json

    first = book(0, share=True)
    book(2, share=False)
    third = book(4, share=True)
    first_conversation = scalar(
        text("SELECT conversation_id FROM callbacks WHERE id = :i").bindparams(
            i=first["callback_id"]
        )
    )
    linked = scalar(
        text(
            "SELECT c.previous_id FROM conversations c JOIN callbacks b "
            "ON b.conversation_id = c.id WHERE b.id = :i"
        ).bindparams(i=third["callback_id"])
    )
    assert linked == first_conversation
