"""Supervisors and live conversations: the live list, watching read-only
(audited), whispering to the holder (never to the resident), joining openly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.models import AuditEvent, Conversation, Note, Role
from tests.conftest import events

NS = "/console"
CHAT = "/chat"


def emit(client: Any, event: str, payload: dict[str, Any]) -> Any:
    return client.emit(event, payload, namespace=NS, callback=True)


def resident_says(resident: Any, client_id: str, body: str) -> int:
    ack = resident.emit(
        "message", {"client_id": client_id, "body": body}, namespace=CHAT, callback=True
    )
    assert ack["ok"], ack
    return ack["seq"]


@pytest.fixture
def live(start_chat, resident_socket, counselor_socket):
    """A chat ana holds, and supervisor sue's board connected to ``/console``."""
    chat = start_chat()
    cid = chat["conversation_id"]
    resident = resident_socket(chat["token"])
    resident_says(resident, "res-0001", "我睡不着")
    ana = counselor_socket("ana")
    assert emit(ana, "claim", {"conversation_id": cid})["ok"]
    sue = counselor_socket("sue", Role.SUPERVISOR)
    return {"cid": cid, "resident": resident, "ana": ana, "sue": sue}


def count_audited(scalar, action: str) -> int:
    return scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def test_live_list_shows_active_conversations_with_their_holder(live):
    listed = emit(live["sue"], "live_conversations", {})["conversations"]
    assert [(c["conversation_id"], c["holder_name"]) for c in listed] == [
        (live["cid"], "ana")
    ]
    assert listed[0]["claimed_at"] and listed[0]["risk_level"]


def test_monitor_is_audited_every_time_and_gets_live_messages(live, scalar):
    cid, sue, resident, ana = (live[k] for k in ("cid", "sue", "resident", "ana"))
    watched = emit(sue, "monitor", {"conversation_id": cid})
    assert watched["ok"], watched
    assert [m["body"] for m in watched["messages"]] == ["我睡不着"]
    assert "assessment" in watched["messages"][0]
    assert count_audited(scalar, "chat_monitored") == 1

    resident_says(resident, "res-0002", "还是很怕")
    reply = emit(
        ana,
        "message",
        {"conversation_id": cid, "client_id": "ana-0001", "body": "我在"},
    )
    assert reply["ok"]
    seen = [m["body"] for m in events(sue, "message", NS)]
    assert seen == ["还是很怕", "我在"]

    # Read-only: watching gives no right to write.
    refused = emit(
        sue, "message", {"conversation_id": cid, "client_id": "sue-0001", "body": "x"}
    )
    assert refused["error"]["code"] == "not_holder"

    emit(sue, "monitor", {"conversation_id": cid, "after_seq": 3})
    assert count_audited(scalar, "chat_monitored") == 2
    assert emit(sue, "unmonitor", {"conversation_id": cid})["ok"]
    resident_says(resident, "res-0003", "谢谢")
    assert [m["body"] for m in events(sue, "message", NS)] == seen


def test_whisper_reaches_only_the_holder_never_the_resident(live, scalar):
    cid, sue, resident, ana = (live[k] for k in ("cid", "sue", "resident", "ana"))
    before = len(events(resident, "message", CHAT))
    sent = emit(sue, "whisper", {"conversation_id": cid, "body": "Ask about sleep"})
    assert sent["ok"], sent
    whisper = events(ana, "whisper", NS)[-1]
    assert (whisper["body"], whisper["author_name"], whisper["kind"]) == (
        "Ask about sleep",
        "sue",
        "whisper",
    )
    # Nothing reached the resident's socket: no event of any kind carries it.
    received = resident.get_received(CHAT)
    assert all("Ask about sleep" not in str(event["args"]) for event in received)
    assert len(events(resident, "message", CHAT)) == before
    sync = resident.emit("sync", {"after_seq": 0}, namespace=CHAT, callback=True)
    assert all(m["body"] != "Ask about sleep" for m in sync["messages"])
    # It is kept as a private note the holder reads again later.
    notes = emit(ana, "notes", {"conversation_id": cid})["notes"]
    assert [(n["kind"], n["body"]) for n in notes] == [("whisper", "Ask about sleep")]
    assert scalar(select(Note.kind)) == "whisper"


def test_join_openly_lets_the_supervisor_write_as_a_supervisor(live, scalar):
    cid, sue, resident, ana = (live[k] for k in ("cid", "sue", "resident", "ana"))
    staff_joined = select(Conversation.staff_joined).where(Conversation.id == cid)
    # Until someone joins, delivery skips the lookup of joined staff.
    assert scalar(staff_joined) is False
    joined = emit(sue, "join_openly", {"conversation_id": cid})
    assert joined["ok"], joined
    assert scalar(staff_joined) is True
    assert events(resident, "message", CHAT)[-1]["body"] == "supervisor_joined"
    assert events(ana, "message", NS)[-1]["body"] == "supervisor_joined"
    assert events(sue, "conversation", NS)[-1]["conversation_id"] == cid
    assert count_audited(scalar, "chat_joined_openly") == 1

    wrote = emit(
        sue,
        "message",
        {"conversation_id": cid, "client_id": "sue-0001", "body": "我是督导"},
    )
    assert wrote["ok"], wrote
    to_resident = events(resident, "message", CHAT)[-1]
    assert (to_resident["body"], to_resident["author_role"]) == (
        "我是督导",
        "supervisor",
    )
    assert events(ana, "message", NS)[-1]["body"] == "我是督导"
    # The supervisor now hears the resident in their own console.
    resident_says(resident, "res-0002", "好的")
    assert events(sue, "message", NS)[-1]["body"] == "好的"

    # Joining again changes nothing and tells the resident nothing new.
    assert emit(sue, "join_openly", {"conversation_id": cid})["ok"]
    assert count_audited(scalar, "chat_joined_openly") == 1
    notices = [
        m for m in events(resident, "message", CHAT) if m["body"] == "supervisor_joined"
    ]
    assert len(notices) == 1


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.SOCIAL_WORKER], ids=str)
@pytest.mark.parametrize(
    "event", ["live_conversations", "monitor", "unmonitor", "whisper", "join_openly"]
)
def test_non_supervisors_are_refused(live, counselor_socket, role, event, scalar):
    other = counselor_socket(f"other-{role.value}", role)
    payload = {"conversation_id": live["cid"], "body": "x"}
    assert emit(other, event, payload)["error"]["code"] == "forbidden"
    assert count_audited(scalar, "chat_monitored") == 0
    assert not events(live["ana"], "whisper", NS)


def test_closed_conversations_cannot_be_watched(live):
    live["resident"].emit("end", {}, namespace=CHAT, callback=True)
    refused = emit(live["sue"], "monitor", {"conversation_id": live["cid"]})
    assert refused["error"]["code"] == "conversation_closed"
