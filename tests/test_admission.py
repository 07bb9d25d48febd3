"""Admission under overload (issue #20): the truth early, a cap with a clear
message, and crisis numbers at once for a resident in crisis who waits."""

from __future__ import annotations

import pytest

from hotline.models import ConversationState, RiskLevel
from hotline.services.queue import LONG_WAIT_MINUTES, status_payload
from hotline.services.risk import TriageResult
from tests.conftest import events

CHAT = "/chat"


def fake_assess(text: str, context=()) -> TriageResult:
    level = RiskLevel.CRISIS if "今晚" in text else RiskLevel.LOW
    return TriageResult(level, 0.9, [], [], "fake-1")


@pytest.fixture(autouse=True)
def stub_triage(monkeypatch):
    monkeypatch.setattr("hotline.resident.chat_namespace.assess_text", fake_assess)


def test_a_wait_of_an_hour_or_more_is_flagged_for_the_page():
    waiting = ConversationState.WAITING
    assert status_payload(waiting, 3, LONG_WAIT_MINUTES - 1)["long_wait"] is False
    assert status_payload(waiting, 90, LONG_WAIT_MINUTES)["long_wait"] is True
    # No honest estimate is not a long wait.
    assert status_payload(waiting, 90, None)["long_wait"] is False


def test_past_the_cap_a_new_chat_is_refused_with_a_clear_code(app, client):
    app.config["MAX_WAITING_CHATS"] = 2
    for _ in range(2):
        assert client.post("/api/chat", json={"lang": "zh"}).status_code == 201
    refused = client.post("/api/chat", json={"lang": "zh"})
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "queue_full"


def test_a_waiting_resident_in_crisis_sees_the_numbers_at_once(
    start_chat, resident_socket, counselor_socket
):
    # Someone is on duty, so this is not the "nobody to alert" path.
    from hotline.models import Role

    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    worker.emit("duty", {"on_duty": True}, namespace="/console", callback=True)
    chat = start_chat()
    resident = resident_socket(chat["token"])
    resident.emit(
        "message",
        {"client_id": "message-0001", "body": "我今晚就走了"},
        namespace=CHAT,
        callback=True,
    )
    lines = events(resident, "crisis_contacts", CHAT)
    assert lines and lines[-1]["lines"]
    # A calm message does not.
    calm = resident_socket(start_chat()["token"])
    calm.emit(
        "message",
        {"client_id": "message-0002", "body": "睡不着"},
        namespace=CHAT,
        callback=True,
    )
    assert events(calm, "crisis_contacts", CHAT) == []
