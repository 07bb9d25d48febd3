"""The web app passes the conversation to triage (issue #18): a yes to the
counsellor's question about a plan is read with the question, and staff see
which earlier message it came from, and when the model was unsure."""

from __future__ import annotations

from sqlalchemy import select

from hotline.models import Assessment, Conversation
from tests.conftest import events

CHAT, CONSOLE = "/chat", "/console"


def test_a_yes_to_the_counsellors_question_is_read_with_the_question(
    app, scalar, start_chat, resident_socket, counselor_socket
):
    counselor = counselor_socket("ana")
    chat = start_chat()
    resident = resident_socket(chat["token"])

    def say(body: str, client_id: str) -> int:
        ack = resident.emit(
            "message",
            {"client_id": client_id, "body": body},
            namespace=CHAT,
            callback=True,
        )
        assert ack["ok"], ack
        return ack["seq"]

    say("最近很累，什么都不想做", "message-0001")
    ack = counselor.emit(
        "claim",
        {"conversation_id": chat["conversation_id"]},
        namespace=CONSOLE,
        callback=True,
    )
    assert ack["ok"]
    question = counselor.emit(
        "message",
        {
            "conversation_id": chat["conversation_id"],
            "client_id": "counsel-0001",
            "body": "你有没有想过用什么方式结束自己的生命？",
        },
        namespace=CONSOLE,
        callback=True,
    )
    seq = say("是的", "message-0002")
    assessment = next(
        m["assessment"]
        for m in events(counselor, "message", CONSOLE)
        if m["seq"] == seq
    )
    assert assessment["level"] in ("high", "crisis")
    assert assessment["context_seqs"] == [question["seq"]]
    assert assessment["reasons"]
    # Kept with the message: a reload shows the same.
    stored = scalar(select(Assessment.context_seqs).order_by(Assessment.id.desc()))
    assert stored == [question["seq"]]


def test_a_plain_yes_on_its_own_is_not_urgent(scalar, start_chat, resident_socket):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    ack = resident.emit(
        "message",
        {"client_id": "message-0001", "body": "是的"},
        namespace=CHAT,
        callback=True,
    )
    assert ack["ok"]
    assert scalar(select(Conversation.risk_level)) in ("low", "moderate")
