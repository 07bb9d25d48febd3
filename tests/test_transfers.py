"""Handing a conversation over: warm transfers to a colleague (offer, accept,
decline, withdraw) and cold transfers back to the queue, as services and over
the ``/console`` and ``/chat`` sockets."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hotline.database import EVENTS
from hotline.errors import Conflict, Forbidden, NotHolder
from hotline.events import HeldChanged, TransferAccepted, TransferOffered
from hotline.extensions import db, socketio
from hotline.models import (
    AuditEvent,
    Conversation,
    ConversationState,
    Note,
    Role,
    Sender,
    Transfer,
    TransferState,
)
from hotline.services import conversations, risk, transfers
from hotline.services.accounts import set_on_duty
from hotline.services.queue import (
    LoadLimitReached,
    LoadLimits,
    claim_conversation,
    waiting_queue,
)
from tests.conftest import PASSWORD, events

NS = "/console"
CHAT = "/chat"
WORRIED = risk.TriageResult(
    level=risk.RiskLevel.HIGH,
    score=0.81,
    signals=[
        {"name": "hopeless", "kind": "mood", "status": "active", "text": "没希望"}
    ],
    needs=["medicine"],
    model_version="test",
)


@pytest.fixture
def context(app):
    """An app context for calling services, each call in its own unit of work."""
    with app.app_context():
        yield


@pytest.fixture
def staff(context, make_user):
    """ana holds a chat; bo is an on-duty colleague; cy is off duty."""
    ids = {
        "ana": make_user("ana", Role.COUNSELOR),
        "bo": make_user("bo", Role.COUNSELOR),
        "cy": make_user("cy", Role.SOCIAL_WORKER),
        "root": make_user("root", Role.ADMIN),
    }
    with db.transaction() as session:
        for name in ("ana", "bo", "root"):
            set_on_duty(session, ids[name], True)
    return ids


def held_chat(holder_id: int) -> int:
    with db.transaction() as session:
        conversation_id, _ = conversations.start_conversation(session, "zh")
        conversations.post_message(
            session,
            conversation_id,
            sender=Sender.RESIDENT,
            body="我没希望了，药也吃完了",
            client_id="res-0001",
            assessment=WORRIED,
        )
        claim_conversation(session, conversation_id, holder_id)
    return conversation_id


def in_unit(service: Any, *args: Any) -> Any:
    """Call ``service`` in a unit of work of its own, as a handler does."""
    with db.transaction() as session:
        return service(session, *args)


def read(service: Any, *args: Any) -> Any:
    with db.read() as session:
        return service(session, *args)


def audited(action: str) -> list[AuditEvent]:
    with db.read() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        )


# --- services ------------------------------------------------------------


def test_warm_accept_moves_the_holder_and_keeps_the_note(staff):
    cid = held_chat(staff["ana"])
    offer = in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "Needs insulin")
    assert offer.state is TransferState.PENDING
    assert (offer.from_name, offer.to_name) == ("ana", "bo")
    assert offer.risk_level == "high" and offer.needs == ["medicine"]

    accepted = in_unit(transfers.accept, offer.transfer_id, staff["bo"])

    assert accepted.state is TransferState.ACCEPTED
    with db.read() as session:
        conversation = session.get(Conversation, cid)
        assert conversation.counselor_id == staff["bo"]
        assert conversation.state is ConversationState.ACTIVE
        note = session.scalar(select(Note).where(Note.conversation_id == cid))
        assert (note.kind, note.body, note.author_id) == (
            "transfer",
            "Needs insulin",
            staff["ana"],
        )
    assert [e.actor_id for e in audited("transfer_offered")] == [staff["ana"]]
    assert [e.actor_id for e in audited("transfer_accepted")] == [staff["bo"]]


def test_services_record_what_both_people_hear(staff):
    cid = held_chat(staff["ana"])
    with db.transaction() as session:
        offer = transfers.offer(session, cid, staff["ana"], staff["bo"], "")
        assert session.info[EVENTS] == [TransferOffered(offer.transfer_id)]
    with db.transaction() as session:
        transfers.accept(session, offer.transfer_id, staff["bo"])
        recorded = session.info[EVENTS]
    # The new holder's view, the old holder's hand-off, then the resident's notice.
    assert recorded[:2] == [
        HeldChanged(staff["bo"], cid),
        TransferAccepted(offer.transfer_id),
    ]
    assert recorded[2].posted.message.body == transfers.COUNSELOR_CHANGED


@pytest.mark.parametrize(
    "target", ["cy", "ana", "root", "nobody"], ids=["off-duty", "self", "admin", "none"]
)
def test_offer_only_to_an_on_duty_console_colleague(staff, target):
    cid = held_chat(staff["ana"])
    to_id = staff.get(target, 9999)
    with pytest.raises(transfers.TargetUnavailable):
        in_unit(transfers.offer, cid, staff["ana"], to_id, "")
    with db.read() as session:
        assert session.scalar(select(Transfer.id)) is None


def test_only_the_holder_offers(staff):
    cid = held_chat(staff["ana"])
    with pytest.raises(NotHolder):
        in_unit(transfers.offer, cid, staff["bo"], staff["ana"], "")


def test_one_pending_offer_per_conversation(staff, make_user):
    cid = held_chat(staff["ana"])
    dee = make_user("dee", Role.SUPERVISOR)
    in_unit(set_on_duty, dee, True)
    in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "")
    with pytest.raises(transfers.TransferPending):
        in_unit(transfers.offer, cid, staff["ana"], dee, "")


def test_decline_and_cancel_leave_the_holder(staff):
    cid = held_chat(staff["ana"])
    first = in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "")
    with pytest.raises(Forbidden):
        in_unit(transfers.decline, first.transfer_id, staff["ana"], "")
    declined = in_unit(transfers.decline, first.transfer_id, staff["bo"], "Full up")
    assert (declined.state, declined.decision_note) == (
        TransferState.DECLINED,
        "Full up",
    )
    with pytest.raises(Conflict):
        in_unit(transfers.accept, first.transfer_id, staff["bo"])

    second = in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "")
    with pytest.raises(Forbidden):
        in_unit(transfers.cancel, second.transfer_id, staff["bo"])
    assert in_unit(transfers.cancel, second.transfer_id, staff["ana"]).state is (
        TransferState.CANCELLED
    )
    with db.read() as session:
        assert session.get(Conversation, cid).counselor_id == staff["ana"]
    assert len(audited("transfer_declined")) == 1
    assert len(audited("transfer_cancelled")) == 1


def test_accept_after_the_holder_changed_fails_cleanly(staff, make_user):
    cid = held_chat(staff["ana"])
    offer = in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "")
    # Meanwhile ana hands it back and someone else claims it.
    in_unit(transfers.to_queue, cid, staff["ana"], "Back you go")
    eve = make_user("eve", Role.COUNSELOR)
    in_unit(claim_conversation, cid, eve)
    with pytest.raises(Conflict):
        in_unit(transfers.accept, offer.transfer_id, staff["bo"])
    with db.read() as session:
        assert session.get(Conversation, cid).counselor_id == eve


def test_stale_offer_is_closed_and_does_not_block_the_new_holder(staff):
    cid = held_chat(staff["ana"])
    stale = in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "")
    # The holder changes behind the offer's back (an escalation take-over).
    with db.transaction() as session:
        session.execute(
            Conversation.__table__.update()
            .where(Conversation.id == cid)
            .values(counselor_id=staff["cy"])
        )
    with pytest.raises(transfers.TransferStale):
        in_unit(transfers.accept, stale.transfer_id, staff["bo"])
    with db.read() as session:
        transfer = session.get(Transfer, stale.transfer_id)
        assert transfer.state is TransferState.PENDING  # nothing changed
        assert session.get(Conversation, cid).counselor_id == staff["cy"]
    assert in_unit(transfers.withdraw_stale, stale.transfer_id) is True
    with db.read() as session:
        transfer = session.get(Transfer, stale.transfer_id)
        assert transfer.state is TransferState.CANCELLED
    fresh = in_unit(transfers.offer, cid, staff["cy"], staff["bo"], "")
    assert fresh.state is TransferState.PENDING
    # An offer whose offerer still holds the chat is never withdrawn as stale.
    assert in_unit(transfers.withdraw_stale, fresh.transfer_id) is False


def test_cold_transfer_keeps_the_note_and_the_place_in_the_queue(staff):
    cid = held_chat(staff["ana"])
    with db.read() as session:
        waiting_since = session.get(Conversation, cid).waiting_since
    in_unit(transfers.to_queue, cid, staff["ana"], "Wants a woman counsellor")
    with db.read() as session:
        conversation = session.get(Conversation, cid)
        assert conversation.state is ConversationState.WAITING
        assert conversation.counselor_id is None
        assert conversation.waiting_since == waiting_since
        note = session.scalar(select(Note).where(Note.conversation_id == cid))
        assert (note.kind, note.body) == ("transfer", "Wants a woman counsellor")
        assert [item.conversation_id for item in waiting_queue(session)] == [cid]
    assert len(audited("transfer_to_queue")) == 1


def test_cold_transfer_needs_a_note_and_the_holder(staff):
    cid = held_chat(staff["ana"])
    with pytest.raises(NotHolder):
        in_unit(transfers.to_queue, cid, staff["bo"], "mine now")
    with pytest.raises(Exception, match="note"):
        in_unit(transfers.to_queue, cid, staff["ana"], "  ")


def test_colleagues_are_on_duty_console_staff_with_their_load(staff):
    held_chat(staff["bo"])
    listed = read(transfers.colleagues, staff["ana"])
    assert [(c.name, c.role, c.load) for c in listed] == [("bo", "counselor", 1)]


# --- sockets -------------------------------------------------------------


def emit(client: Any, event: str, payload: dict[str, Any]) -> Any:
    return client.emit(event, payload, namespace=NS, callback=True)


def on_duty(client: Any) -> None:
    assert emit(client, "duty", {"on_duty": True})["ok"]


@pytest.fixture
def handover(start_chat, resident_socket, counselor_socket):
    """A resident in a chat claimed by ana; bo on duty in another console."""
    chat = start_chat()
    cid = chat["conversation_id"]
    resident = resident_socket(chat["token"])
    ack = resident.emit(
        "message",
        {"client_id": "res-0001", "body": "药吃完了，我好害怕"},
        namespace=CHAT,
        callback=True,
    )
    assert ack["ok"]
    ana = counselor_socket("ana")
    bo = counselor_socket("bo")
    on_duty(bo)
    assert emit(ana, "claim", {"conversation_id": cid})["ok"]
    assert emit(ana, "note", {"conversation_id": cid, "body": "Lives alone"})["ok"]
    return {"cid": cid, "resident": resident, "ana": ana, "bo": bo}


def test_warm_transfer_over_sockets(handover, scalar):
    cid, ana, bo, resident = (handover[k] for k in ("cid", "ana", "bo", "resident"))
    colleagues = emit(ana, "colleagues", {})["colleagues"]
    assert [(c["name"], c["load"]) for c in colleagues] == [("bo", 0)]
    bo_id = colleagues[0]["user_id"]

    sent = emit(
        ana,
        "transfer",
        {"conversation_id": cid, "to_user_id": bo_id, "note": "Out of insulin"},
    )
    assert sent["ok"], sent
    offer = events(bo, "transfer_offer", NS)[-1]
    assert (offer["conversation_id"], offer["from_name"], offer["note"]) == (
        cid,
        "ana",
        "Out of insulin",
    )
    assert "risk_level" in offer and "needs" in offer

    accepted = emit(bo, "transfer_accept", {"transfer_id": offer["transfer_id"]})
    assert accepted["ok"], accepted
    assert accepted["conversation"]["holder_id"] == bo_id
    assert events(bo, "conversation", NS)[-1]["holder_id"] == bo_id
    assert events(ana, "conversation", NS)[-1] == {
        "conversation_id": cid,
        "state": "transferred",
        "to_name": "bo",
    }
    assert events(ana, "transfer_update", NS)[-1]["state"] == "accepted"
    assert events(resident, "message", CHAT)[-1]["body"] == "counselor_changed"
    assert scalar(select(Conversation.counselor_id).where(Conversation.id == cid)) == (
        bo_id
    )

    # The new holder sees the notes, the hand-over note, and the triage.
    notes = emit(bo, "notes", {"conversation_id": cid})["notes"]
    assert [(n["kind"], n["body"]) for n in notes] == [
        ("note", "Lives alone"),
        ("transfer", "Out of insulin"),
    ]
    synced = emit(bo, "sync", {"conversation_id": cid, "after_seq": 0})["messages"]
    assert synced[0]["sender"] == "resident"
    assert synced[0]["assessment"]["level"] in ("low", "moderate", "high", "crisis")
    assert synced[-1]["body"] == "counselor_changed"
    # The old holder can no longer write.
    refused = emit(
        ana, "message", {"conversation_id": cid, "client_id": "ana-0001", "body": "hi"}
    )
    assert refused["error"]["code"] == "not_holder"
    wrote = emit(
        bo, "message", {"conversation_id": cid, "client_id": "bo-00001", "body": "我在"}
    )
    assert wrote["ok"], wrote


def test_decline_and_withdraw_tell_both_sides(handover):
    cid, ana, bo = handover["cid"], handover["ana"], handover["bo"]
    bo_id = emit(ana, "colleagues", {})["colleagues"][0]["user_id"]
    offer = emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id})
    declined = emit(
        bo,
        "transfer_decline",
        {"transfer_id": offer["transfer"]["transfer_id"], "note": "In a crisis chat"},
    )
    assert declined["ok"]
    for side in (ana, bo):
        update = events(side, "transfer_update", NS)[-1]
        assert (update["state"], update["decision_note"]) == (
            "declined",
            "In a crisis chat",
        )

    again = emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id})
    assert emit(
        ana, "transfer_cancel", {"transfer_id": again["transfer"]["transfer_id"]}
    )["ok"]
    assert events(bo, "transfer_update", NS)[-1]["state"] == "cancelled"
    held = emit(ana, "sync", {"conversation_id": cid, "after_seq": 0})
    assert held["ok"]


def test_second_offer_and_bad_targets_are_refused_over_sockets(
    handover, counselor_socket
):
    cid, ana = handover["cid"], handover["ana"]
    counselor_socket("cy", Role.SOCIAL_WORKER)  # signed in, but off duty
    off_duty = emit(ana, "colleagues", {})
    assert [c["name"] for c in off_duty["colleagues"]] == ["bo"]
    bo_id = off_duty["colleagues"][0]["user_id"]
    refused = emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id + 1})
    assert refused["error"]["code"] == "target_unavailable"
    assert emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id})["ok"]
    second = emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id})
    assert second["error"]["code"] == "transfer_pending"


def test_a_stale_offer_is_refused_and_closed_over_sockets(
    app, handover, scalar, make_user
):
    cid, ana, bo = handover["cid"], handover["ana"], handover["bo"]
    bo_id = emit(ana, "colleagues", {})["colleagues"][0]["user_id"]
    offer = emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id})
    transfer_id = offer["transfer"]["transfer_id"]
    # The holder changes behind the offer's back (an escalation take-over).
    eve = make_user("eve", Role.SOCIAL_WORKER)
    with app.app_context(), db.transaction() as session:
        session.execute(
            Conversation.__table__.update()
            .where(Conversation.id == cid)
            .values(counselor_id=eve)
        )
    refused = emit(bo, "transfer_accept", {"transfer_id": transfer_id})
    assert refused["error"]["code"] == "transfer_stale"
    state = scalar(select(Transfer.state).where(Transfer.id == transfer_id))
    assert state is TransferState.CANCELLED
    assert scalar(select(Conversation.counselor_id).where(Conversation.id == cid)) == (
        eve
    )


def test_pending_offers_come_back_on_reconnect(app, handover):
    cid, ana = handover["cid"], handover["ana"]
    bo_id = emit(ana, "colleagues", {})["colleagues"][0]["user_id"]
    emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id, "note": "n"})
    http = app.test_client()
    http.post("/api/auth/login", json={"username": "bo", "password": PASSWORD})
    again = socketio.test_client(app, namespace=NS, flask_test_client=http)
    incoming = events(again, "transfers", NS)[-1]["incoming"]
    assert [offer["conversation_id"] for offer in incoming] == [cid]


def test_cold_transfer_over_sockets(handover, counselor_socket):
    cid, ana, bo = handover["cid"], handover["ana"], handover["bo"]
    bo_id = emit(ana, "colleagues", {})["colleagues"][0]["user_id"]
    emit(ana, "transfer", {"conversation_id": cid, "to_user_id": bo_id})
    empty = emit(ana, "transfer_to_queue", {"conversation_id": cid, "note": " "})
    assert empty["error"]["code"] == "invalid_input"
    done = emit(
        ana, "transfer_to_queue", {"conversation_id": cid, "note": "Prefers English"}
    )
    assert done["ok"], done
    assert events(ana, "conversation", NS)[-1]["state"] == "released"
    # The colleague's pending offer is withdrawn and they are told.
    assert events(bo, "transfer_update", NS)[-1]["state"] == "cancelled"
    assert [i["conversation_id"] for i in events(bo, "queue", NS)[-1]["items"]] == [cid]
    assert events(handover["resident"], "status", CHAT)[-1]["state"] == "waiting"
    # Whoever claims it next reads the note.
    assert emit(bo, "claim", {"conversation_id": cid})["ok"]
    notes = emit(bo, "notes", {"conversation_id": cid})["notes"]
    assert ("transfer", "Prefers English") in [(n["kind"], n["body"]) for n in notes]


def test_accept_respects_the_colleagues_load_limit(staff):
    held_chat(staff["bo"])
    cid = held_chat(staff["ana"])
    offer = in_unit(transfers.offer, cid, staff["ana"], staff["bo"], "")
    with pytest.raises(LoadLimitReached):
        in_unit(
            transfers.accept,
            offer.transfer_id,
            staff["bo"],
            LoadLimits(max_conversations=1),
        )
    with db.read() as session:
        assert session.get(Conversation, cid).counselor_id == staff["ana"]
        transfer = session.get(Transfer, offer.transfer_id)
        assert transfer.state is TransferState.PENDING
