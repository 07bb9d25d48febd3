"""An unacknowledged escalation outlives a SIGKILL of the real server.

A resident's crisis message opens an escalation while the only social worker
is connected but off duty, so nobody is alerted. The server is killed without
warning and restarted with re-alerts every second. When the social worker comes
on duty the escalation is alerted at once and then again and again, its clock
still counting from before the crash, until it is acknowledged; after that it
stays quiet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from hotline.jobs.escalation_watch import POLL_SECONDS
from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    HotlineServer,
    login_cookie_header,
    running_server,
    wait_for,
)
from tests.socket_clients import TIMEOUT, Listener, connected, start_chat

pytestmark = pytest.mark.slow

CRISIS = "我已经写好遗书了，今晚就从楼顶跳下去"
SOCIAL_WORKER = "sol"
REALERT_SECONDS = 1
# The watcher looks every POLL_SECONDS: two looks make a repeat certain.
REALERT_WAIT = 2 * POLL_SECONDS + REALERT_SECONDS + 2
# At least one full look of the watcher, with a due interval behind it.
QUIET_SECONDS = POLL_SECONDS + REALERT_SECONDS + 1


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HotlineServer]:
    with running_server(tmp_path / "server", counselors=()) as running:
        running.create_user(SOCIAL_WORKER, role="social_worker")
        yield running
        # pytest shows this only when the test fails.
        print(f"--- server log ---\n{running.log_tail()}")


def open_item(snapshot: dict[str, Any], conversation_id: int) -> dict[str, Any] | None:
    """The open escalation of a conversation in an ``escalations`` snapshot."""
    return next(
        (i for i in snapshot["open"] if i["conversation_id"] == conversation_id), None
    )


def test_unacknowledged_escalation_is_realerted_after_sigkill_until_acknowledged(
    server: HotlineServer,
) -> None:
    url = server.base_url
    cookie = login_cookie_header(url, SOCIAL_WORKER, COUNSELOR_PASSWORD)
    chat = start_chat(url)
    conversation_id = chat["conversation_id"]

    worker = Listener("/console", ("duty", "escalation", "escalations"))
    resident = Listener("/chat", ("crisis_contacts",))
    with (
        connected(worker, url, headers={"Cookie": cookie}),
        connected(resident, url, auth={"token": chat["token"]}),
    ):
        wait_for(lambda: worker.got("duty"), TIMEOUT, "the duty state on connect")
        assert worker.got("duty")[-1] == {"on_duty": False, "ended": None}

        resident.call("message", {"client_id": "crisis-0001", "body": CRISIS})
        sent = time.monotonic()
        # Nobody on duty: the resident is given the emergency numbers at once.
        wait_for(lambda: resident.got("crisis_contacts"), TIMEOUT, "crisis contacts")
        # The social worker sees the list, off duty, but is not alerted: the
        # alert would have been pushed before the list.
        original = wait_for(
            lambda: next(
                (
                    item
                    for snapshot in worker.got("escalations")
                    if (item := open_item(snapshot, conversation_id))
                ),
                None,
            ),
            TIMEOUT,
            "the open escalation in the social worker's list",
        )
        assert worker.got("escalation") == []
        assert original["alert_count"] == 1
        escalation_id = original["escalation_id"]

        server.kill()
        crashed_at = datetime.now(UTC)
        wait_for(lambda: not worker.is_connected, TIMEOUT, "the worker to notice")
        connects_before = worker.connects
        server.env["HOTLINE_ESCALATION_REALERT_SECONDS"] = str(REALERT_SECONDS)
        server.start()
        wait_for(
            lambda: worker.connects > connects_before,
            TIMEOUT,
            "the worker to reconnect by itself",
        )
        assert worker.got("escalation") == []

        worker.call("duty", {"on_duty": True})
        # At once on coming on duty, then again at every re-alert.
        wait_for(lambda: worker.got("escalation"), 2.0, "the alert on coming on duty")
        first_count = worker.got("escalation")[0]["alert_count"]
        wait_for(
            lambda: (
                max(e["alert_count"] for e in worker.got("escalation")) > first_count
            ),
            REALERT_WAIT,
            "a re-alert after the restart",
        )
        alerts = worker.got("escalation")
        assert all(alert["repeat"] is True for alert in alerts), alerts
        assert {alert["escalation_id"] for alert in alerts} == {escalation_id}
        assert {alert["state"] for alert in alerts} == {"open"}
        # The clock counts from the first opening, before the crash.
        assert {alert["opened_at"] for alert in alerts} == {original["opened_at"]}
        assert datetime.fromisoformat(original["opened_at"]) < crashed_at
        counts = [alert["alert_count"] for alert in alerts]
        assert counts == sorted(counts) and counts[-1] > 1, counts

        acknowledged = worker.call("acknowledge", {"escalation_id": escalation_id})
        waited = time.monotonic() - sent
        escalation = acknowledged["escalation"]
        assert escalation["state"] == "acknowledged"
        assert escalation["opened_at"] == original["opened_at"]
        # Time to acknowledge includes the crash and the restart.
        assert escalation["seconds_to_acknowledge"] >= waited - 1.0, (
            escalation,
            waited,
        )

        alerts_at_acknowledgement = len(worker.got("escalation"))
        time.sleep(QUIET_SECONDS)
        late = worker.got("escalation")[alerts_at_acknowledgement:]
        # A re-alert claimed just before the acknowledgement may still land;
        # anything counted after it is a re-alert of an acknowledged escalation.
        assert [e for e in late if e["alert_count"] > escalation["alert_count"]] == []
        with requests.get(
            f"{url}/api/escalations",
            params={"state": "acknowledged"},
            headers={"Cookie": cookie},
            timeout=10,
        ) as response:
            response.raise_for_status()
            stored = response.json()["escalations"]
        assert [(e["escalation_id"], e["alert_count"]) for e in stored] == [
            (escalation_id, escalation["alert_count"])
        ]
        # Stop the server before the clients hang up: against a live server
        # each client's websocket close waits out a 3 s closing handshake.
        server.stop()
