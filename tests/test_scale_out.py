"""The production setup of ``deploy/`` for real: nginx, two workers, Redis, PostgreSQL.

Two ``hotline serve`` workers share one fresh PostgreSQL database and the
shared Redis (on a channel of this test's own), behind Debian's nginx running
the map, upstream and ``location /`` blocks of ``deploy/nginx.conf``. Some
clients connect to a worker directly, so that placement is certain; others go
through nginx, which sends every client from 127.0.0.1 to the same worker
(``ip_hash``): the one called ``home`` below.

- a resident on one worker and a counsellor on the other talk both ways;
- an escalation raised on one worker reaches a social worker on the other;
- ``home`` is SIGKILLed mid-conversation: the clients that came through nginx
  reconnect through it to the survivor, resend and resync, and every
  acknowledged message is in the database exactly once; the open escalation
  keeps being re-alerted by the surviving worker.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from hotline.phones import PhoneVault
from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    SHARED_REDIS_URL,
    HotlineServer,
    NginxProxy,
    job_runs,
    login_cookie_header,
    nginx_binary,
    postgres_available,
    postgres_database,
    redis_available,
    require,
    stored_messages,
    unique_channel,
    wait_for,
)
from tests.socket_clients import (
    TIMEOUT,
    Listener,
    Party,
    assert_hold_exactly,
    claim,
    common_transcript,
    connected,
    start_chat,
    wait_until_all_hold,
)

pytestmark = pytest.mark.slow

DEPLOY_NGINX = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"
CRISIS = "我已经写好遗书了，今晚就从楼顶跳下去"
# Stay under the per-connection burst of 10 messages (see test_process_restart).
EXCHANGED = 2
BURST = 5


@dataclass
class Cluster:
    workers: list[HotlineServer]
    nginx: NginxProxy
    database_url: str

    def worker_on(self, port: int) -> HotlineServer:
        return next(w for w in self.workers if w.port == port)


class ProxiedParty(Party):
    """A party that starts on long-polling and upgrades, as browsers do.

    Polling is what needs sticky sessions: every poll of one session must
    reach the worker holding it.
    """

    transports = ("polling", "websocket")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require(nginx_binary() is not None, "nginx (apt-get install nginx)")
    require(postgres_available(), "PostgreSQL")
    require(redis_available(), "Redis")
    with postgres_database("hotline_scale") as database_url:
        shared = {
            "HOTLINE_DATABASE_URL": database_url,
            "HOTLINE_SECRET_KEY": secrets.token_urlsafe(32),
            "HOTLINE_PHONE_KEYS": PhoneVault.generate_key(),
            "HOTLINE_MESSAGE_QUEUE": SHARED_REDIS_URL,
            "HOTLINE_MESSAGE_QUEUE_CHANNEL": unique_channel(),
            "HOTLINE_PROXY_HOPS": "1",
            "HOTLINE_ESCALATION_REALERT_SECONDS": "1",
        }
        workers = [HotlineServer(tmp_path / f"worker{n}", env=shared) for n in (1, 2)]
        nginx = NginxProxy(tmp_path / "nginx", DEPLOY_NGINX, [w.port for w in workers])
        try:
            workers[0].create_user("ana")
            workers[0].create_user("bo")
            workers[0].create_user("sol", role="social_worker")
            for worker in workers:
                worker.start()
            nginx.start()
            yield Cluster(workers, nginx, database_url)
        finally:
            nginx.kill()
            for worker in workers:
                worker.stop()
            # pytest shows this only when the test fails.
            for worker in workers:
                print(f"--- {worker.base_url} log ---\n{worker.log_tail()}")
            print(f"--- nginx error log ---\n{nginx.log_tail()}")


def exchange(resident: Party, counselor: Party, turns: int) -> None:
    """Talk both ways with acks; each side sees every message of the other."""
    for turn in range(turns):
        resident.send(f"居民 {turn}: 我睡不着")
        counselor.send(f"counsellor {turn}: I am here")
    for party, other in ((resident, counselor), (counselor, resident)):
        for client_id in party.acknowledged():
            wait_for(
                lambda c=client_id, o=other: o.saw(c),
                TIMEOUT,
                f"{other.name} to receive {client_id}",
            )


def escalation_alerts(listener: Listener, conversation_id: int) -> list[dict[str, Any]]:
    return [
        alert
        for alert in listener.got("escalation")
        if alert["conversation_id"] == conversation_id
    ]


def test_two_workers_behind_nginx_talk_escalate_and_survive_a_sigkill(
    cluster: Cluster,
) -> None:
    proxy = cluster.nginx.base_url
    with requests.get(f"{proxy}/api/health", timeout=10) as response:
        assert response.status_code == 200
    home = cluster.worker_on(cluster.nginx.upstream_of("/api/health"))
    other = next(w for w in cluster.workers if w is not home)

    # (a) A resident on `home` and a counsellor on `other` talk.
    first_chat = start_chat(proxy)
    first_id = first_chat["conversation_id"]
    resident = Party("resident", "/chat", {})
    ana = Party("counselor", "/console", {"conversation_id": first_id})
    sol = Listener("/console", ("duty", "escalation", "escalations"))
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            connected(resident, home.base_url, auth={"token": first_chat["token"]})
        )
        ana_cookie = login_cookie_header(other.base_url, "ana", COUNSELOR_PASSWORD)
        stack.enter_context(
            connected(ana, other.base_url, headers={"Cookie": ana_cookie})
        )
        claim(ana, first_id)
        # The status push crosses from `other` to `home` through Redis.
        wait_for(
            lambda: (resident.status or {}).get("state") == "active",
            TIMEOUT,
            "the resident on home to see the counsellor on other join",
        )
        exchange(resident, ana, EXCHANGED)

        # (b) An escalation raised on `home` reaches a social worker on `other`.
        sol_cookie = login_cookie_header(other.base_url, "sol", COUNSELOR_PASSWORD)
        stack.enter_context(
            connected(sol, other.base_url, headers={"Cookie": sol_cookie})
        )
        assert sol.call("duty", {"on_duty": True})["on_duty"] is True
        resident.send(CRISIS)
        first_alert = wait_for(
            lambda: escalation_alerts(sol, first_id),
            TIMEOUT,
            "the alert on the social worker's worker",
        )[0]
        assert first_alert["repeat"] is False, first_alert
        assert first_alert["state"] == "open"
        escalation_id = first_alert["escalation_id"]

        # (c) A resident and a counsellor who both came through nginx.
        second_chat = start_chat(proxy)
        second_id = second_chat["conversation_id"]
        bo_cookie = login_cookie_header(proxy, "bo", COUNSELOR_PASSWORD)
        resident2 = ProxiedParty("resident", "/chat", {})
        bo = ProxiedParty("counselor", "/console", {"conversation_id": second_id})
        stack.enter_context(
            connected(resident2, proxy, auth={"token": second_chat["token"]})
        )
        # Headers as a function: python-engineio's client deletes the Cookie
        # header from the dict it is given when it upgrades from polling to
        # WebSocket, so a reconnect with the same dict would be anonymous.
        stack.enter_context(connected(bo, proxy, headers=lambda: {"Cookie": bo_cookie}))
        assert cluster.nginx.upstream_of("/socket.io/") == home.port
        claim(bo, second_id)
        exchange(resident2, bo, EXCHANGED)

        # Both send a burst; `home` dies while it is in flight.
        resident2.emit_burst([f"burst from resident {i}" for i in range(BURST)])
        bo.emit_burst([f"burst from counsellor {i}" for i in range(BURST)])
        wait_for(
            lambda: len(resident2.acknowledged()) > EXCHANGED,
            TIMEOUT,
            "the first acknowledgement of the burst",
            interval=0.001,
        )
        connects_before = (resident2.connects, bo.connects)
        alerts_before = max(a["alert_count"] for a in escalation_alerts(sol, first_id))
        home.kill()
        acked_before_crash = {**resident2.acknowledged(), **bo.acknowledged()}

        # nginx finds `home` refusing and sends both to `other`.
        wait_for(
            lambda: (
                resident2.connects > connects_before[0]
                and bo.connects > connects_before[1]
                and resident2.is_connected
                and bo.is_connected
            ),
            TIMEOUT,
            "both proxied clients to reconnect through nginx",
        )
        assert not home.is_running
        assert cluster.nginx.upstream_of("/socket.io/") == other.port

        # Resend what was never acknowledged, with the same client_ids, and
        # one acknowledged message to show a resend stores nothing new.
        for party in (resident2, bo):
            party.resend_and_resync()
        resident2.send("still here after the crash")
        bo.send("so am I")
        total = 2 * (EXCHANGED + BURST + 1)
        wait_until_all_hold(total, resident2, bo)

        # The escalation opened on the dead worker is still re-alerted, by
        # the survivor, until somebody acknowledges it.
        wait_for(
            lambda: any(
                a["alert_count"] > alerts_before
                for a in escalation_alerts(sol, first_id)
            ),
            TIMEOUT,
            "a re-alert from the surviving worker",
        )
        acknowledged = sol.call("acknowledge", {"escalation_id": escalation_id})
        assert acknowledged["escalation"]["state"] == "acknowledged"

        stored = common_transcript(resident2, bo)
        all_sent = {**resident2.acknowledged(), **bo.acknowledged()}
        # Stop the server before the clients hang up: against a live server
        # each client's websocket close waits out a 3 s closing handshake.
        other.stop()

    # Every acknowledged message of the proxied chat is stored exactly once.
    rows = stored_messages(cluster.database_url, second_id)
    assert [seq for seq, _ in rows] == list(range(1, total + 1))
    assert {client_id: seq for seq, client_id in rows} == all_sent
    assert len({client_id for _, client_id in rows}) == total
    for client_id, seq in acked_before_crash.items():
        assert all_sent[client_id] == seq
    assert_hold_exactly(stored, resident2, bo)
    # And the directly connected chat holds exactly what was acknowledged.
    first_rows = stored_messages(cluster.database_url, first_id)
    assert {c: s for s, c in first_rows} == {
        **resident.acknowledged(),
        **ana.acknowledged(),
    }
    # Re-alerts ran as the periodic job, through its lease.
    assert job_runs(cluster.database_url, "escalation_realert") >= 1
