"""The waiting room: wait estimates from the recent pace, chat hours, and the
anonymous survey after a conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import AuditEvent, Survey, utcnow
from hotline.services.callback_windows import ServiceHours, is_open
from hotline.services.queue import estimate_minutes, service_pace
from tests.conftest import events

CHAT, CONSOLE = "/chat", "/console"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- wait estimate ---------------------------------------------------------


def test_estimate_is_position_over_pace_and_honest_without_data():
    assert estimate_minutes(3, 0.5) == 6
    assert estimate_minutes(1, 2.0) == 1  # never "0 minutes"
    assert estimate_minutes(4, None) is None
    assert estimate_minutes(None, 1.0) is None


def record_claims(app, count: int, minutes_ago: float) -> None:
    with app.app_context():
        session = db.new_session()
        at = utcnow() - timedelta(minutes=minutes_ago)
        session.add_all(AuditEvent(at=at, action="claim") for _ in range(count))
        session.commit()
        session.close()


def test_pace_counts_claims_in_the_last_hour_only(app):
    record_claims(app, 2, minutes_ago=10)
    record_claims(app, 10, minutes_ago=90)
    with app.app_context():
        session = db.new_session()
        assert service_pace(session) is None  # 2 recent claims: too few
        session.close()
    record_claims(app, 4, minutes_ago=30)
    with app.app_context():
        session = db.new_session()
        assert service_pace(session) == pytest.approx(6 / 60)
        session.close()


def test_waiting_residents_get_an_estimate(app, start_chat, resident_socket):
    record_claims(app, 12, minutes_ago=20)  # 12 an hour: one every 5 minutes
    first = start_chat()
    second = start_chat()
    resident = resident_socket(second["token"])
    status = events(resident, "status", CHAT)[-1]
    assert status == {
        "state": "waiting",
        "position": 2,
        "estimated_minutes": 10,
        "long_wait": False,
    }
    assert first["conversation_id"] < second["conversation_id"]


# --- chat hours ------------------------------------------------------------


def at_shanghai(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_open_between_the_hours_in_local_time():
    hours = ServiceHours.parse("08:00-22:00", 60, "Asia/Shanghai")
    assert is_open(hours, at_shanghai(8))
    assert is_open(hours, at_shanghai(21, 59))
    assert not is_open(hours, at_shanghai(22))
    assert not is_open(hours, at_shanghai(7, 59))


def closed_now(app) -> None:
    # Half an hour twelve hours away is closed whenever the test runs.
    zone = ServiceHours.parse("00:00-01:00", 60, "Asia/Shanghai").zone
    hour = (utcnow().astimezone(zone).hour + 12) % 24
    app.config["CHAT_HOURS"] = f"{hour:02d}:00-{hour:02d}:30"


def test_outside_chat_hours_a_chat_cannot_start_but_callbacks_can(app, client):
    closed_now(app)
    refused = client.post("/api/chat?lang=en", json={})
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "outside_hours"
    assert "callback" in refused.json["error"]["message"]
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'id="closed-notice"' in page
    assert 'id="open-callback"' in page


def test_around_the_clock_by_default(client):
    assert client.post("/api/chat", json={}).status_code == 201
    assert 'id="closed-notice"' not in client.get("/").get_data(as_text=True)


# --- survey ----------------------------------------------------------------


def ended_chat(start_chat, resident_socket) -> str:
    chat = start_chat()
    resident = resident_socket(chat["token"])
    assert resident.emit("end", {}, namespace=CHAT, callback=True)["ok"]
    return chat["token"]


def test_a_resident_answers_the_survey_once(
    client, scalar, start_chat, resident_socket
):
    token = ended_chat(start_chat, resident_socket)
    answer = {"helpfulness": 4, "feels_safer": "yes", "comment": "谢谢你们"}
    response = client.post("/api/surveys", json=answer, headers=bearer(token))
    assert response.status_code == 201
    survey = scalar(select(Survey))
    assert (survey.helpfulness, survey.feels_safer, survey.comment) == (
        4,
        "yes",
        "谢谢你们",
    )
    again = client.post("/api/surveys?lang=en", json=answer, headers=bearer(token))
    assert again.status_code == 409
    assert again.json["error"]["code"] == "survey_answered"


def test_the_survey_opens_only_when_the_conversation_has_ended(client, start_chat):
    token = start_chat()["token"]
    response = client.post(
        "/api/surveys", json={"helpfulness": 5}, headers=bearer(token)
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "survey_not_open"


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"helpfulness": 0},
        {"helpfulness": 6},
        {"helpfulness": "5"},
        {"helpfulness": True},
        {"helpfulness": 3, "feels_safer": "maybe"},
        {"helpfulness": 3, "comment": "x" * 1001},
    ],
)
def test_bad_survey_answers_are_refused(client, start_chat, resident_socket, answer):
    token = ended_chat(start_chat, resident_socket)
    response = client.post("/api/surveys", json=answer, headers=bearer(token))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_input"


def test_the_survey_needs_the_conversations_token(client):
    response = client.post("/api/surveys", json={"helpfulness": 3})
    assert response.status_code == 401
    forged = client.post(
        "/api/surveys", json={"helpfulness": 3}, headers=bearer("a" * 43)
    )
    assert forged.status_code == 401
