"""GET /metrics: who may read it, and that its numbers follow the service."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotline.models import Role
from tests.conftest import PASSWORD

CHAT = "/chat"
ROOT = Path(__file__).resolve().parent.parent


def signed_in(app: Any, make_user: Any, role: Role) -> Any:
    make_user(f"user-{role.value}", role)
    http = app.test_client()
    response = http.post(
        "/api/auth/login", json={"username": f"user-{role.value}", "password": PASSWORD}
    )
    assert response.status_code == 200
    return http


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict[Any, float], name: str, **labels: str) -> float:
    """The sum of ``name`` over samples whose labels include ``labels``."""
    return sum(
        v
        for (n, have), v in scrape.items()
        if n == name and set(labels.items()) <= set(have)
    )


@pytest.fixture
def supervisor(app, make_user):
    return signed_in(app, make_user, Role.SUPERVISOR)


def scrape(http: Any) -> dict[Any, float]:
    response = http.get("/metrics")
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(response.get_data(as_text=True))


def test_anonymous_scrape_is_refused(client):
    assert client.get("/metrics").status_code == 401


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.SOCIAL_WORKER], ids=str)
def test_console_staff_below_supervisor_are_refused(app, make_user, role):
    assert signed_in(app, make_user, role).get("/metrics").status_code == 403


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN], ids=str)
def test_supervisors_and_admins_read_it(app, make_user, role):
    metrics = scrape(signed_in(app, make_user, role))
    assert ("hotline_queue_waiting", (("kind", "chat"), ("level", "low"))) in metrics


def test_a_scraper_with_the_token_reads_it(app):
    app.config["METRICS_TOKEN"] = "scrape-token-long-enough"
    http = app.test_client()
    wrong = {"Authorization": "Bearer not-the-token"}
    assert http.get("/metrics", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer scrape-token-long-enough"}
    assert http.get("/metrics", headers=right).status_code == 200


def test_a_scraper_from_an_internal_address_reads_it(app):
    http = app.test_client()
    app.config["METRICS_ADDRESSES"] = "10.0.0.0/8"
    assert http.get("/metrics").status_code == 401
    app.config["METRICS_ADDRESSES"] = "10.0.0.0/8, 127.0.0.1"
    assert http.get("/metrics").status_code == 200


def test_the_queue_gauge_follows_a_chat_starting(supervisor, start_chat):
    before = scrape(supervisor)
    waiting = value(before, "hotline_queue_waiting", kind="chat")
    start_chat()
    after = scrape(supervisor)
    assert value(after, "hotline_queue_waiting", kind="chat") == waiting + 1
    assert value(after, "hotline_queue_waiting", kind="chat", level="low") == (
        value(before, "hotline_queue_waiting", kind="chat", level="low") + 1
    )


def test_a_message_counts_its_ack_and_its_pushes(
    supervisor, start_chat, resident_socket
):
    chat = start_chat()
    resident = resident_socket(chat["token"])
    before = scrape(supervisor)
    assert value(before, "hotline_connections", side="resident") == 1
    ack = resident.emit(
        "message",
        {"client_id": "metrics-0001", "body": "我睡不着"},
        namespace=CHAT,
        callback=True,
    )
    assert ack["ok"], ack
    after = scrape(supervisor)
    acks = "hotline_message_ack_seconds_count"
    assert value(after, acks) == value(before, acks) + 1
    pushes, sizes = "hotline_push_bytes_count", "hotline_push_bytes_sum"
    # The message to the resident's room, and the queue's change to staff.
    for event in ("message", "queue_item", "queue"):
        assert value(after, sizes, event=event) >= value(before, sizes, event=event)
    # To the resident's room and to whoever watches the conversation.
    assert value(after, pushes, event="message") == (
        value(before, pushes, event="message") + 2
    )
    assert value(after, sizes, event="message") > value(before, sizes, event="message")
    queue_pushes = value(after, pushes, event="queue") + value(
        after, pushes, event="queue_item"
    )
    assert queue_pushes > value(before, pushes, event="queue") + value(
        before, pushes, event="queue_item"
    )
    assert value(after, "hotline_queue_longest_wait_seconds", level="low") >= 0
    assert ("hotline_escalation_ack_seconds_count", ()) in after


def test_the_grafana_dashboard_asks_only_for_metrics_we_export(
    supervisor, start_chat, resident_socket
):
    resident = resident_socket(start_chat()["token"])
    ack = resident.emit(
        "message",
        {"client_id": "metrics-0002", "body": "hi"},
        namespace=CHAT,
        callback=True,
    )
    assert ack["ok"], ack
    exported = {name for name, _labels in scrape(supervisor)}
    dashboard = json.loads((ROOT / "deploy" / "grafana-hotline.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\b(?:hotline|process)_\w+", target["expr"])
    }
    assert asked and asked <= exported, asked - exported
