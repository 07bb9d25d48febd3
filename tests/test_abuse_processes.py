"""Limits and blocks hold across real workers (issue #19, points 2 and 3).

Two ``hotline serve`` workers share one database, and a private Redis as
message queue and limit store; they trust one proxy hop, so each test
"resident" comes from an address of its own (``X-Forwarded-For``).

- 10 sockets on one token, half on each worker, get one budget between them,
  and so does a resident reconnecting in a loop across the workers;
- chat starts from one address are limited across the workers;
- a block refuses an open socket on the other worker at its next message,
  then hangs it up; a refused connect reaches socket.io clients'
  ``connect_error`` with the code as the message and the error as data.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    HotlineServer,
    RedisServer,
    redis_server_binary,
    require,
    unique_channel,
    wait_for,
)

pytestmark = pytest.mark.slow

BURST = 10  # the default HOTLINE_MESSAGE_BURST, refilled at 1 a second
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[HotlineServer]]:
    require(redis_server_binary() is not None, "redis-server")
    root = tmp_path_factory.mktemp("abuse")
    redis = RedisServer(root / "redis")
    redis.start()
    first = HotlineServer(root / "worker1")
    shared = {
        "HOTLINE_DATABASE_URL": first.env["HOTLINE_DATABASE_URL"],
        "HOTLINE_SECRET_KEY": first.env["HOTLINE_SECRET_KEY"],
        "HOTLINE_PHONE_KEYS": first.env["HOTLINE_PHONE_KEYS"],
        "HOTLINE_MESSAGE_QUEUE": redis.url,
        "HOTLINE_MESSAGE_QUEUE_CHANNEL": unique_channel(),
        "HOTLINE_RATELIMIT_STORAGE": redis.url,
        "HOTLINE_PROXY_HOPS": "1",
    }
    first.env.update(shared)
    second = HotlineServer(root / "worker2", env=shared)
    first.upgrade()
    first.create_user("sup", role="supervisor")
    try:
        first.start()
        second.start()
        yield [first, second]
    finally:
        for worker in (first, second):
            worker.stop()
            print(f"--- {worker.base_url} log ---\n{worker.log_tail()}")
        redis.kill()


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def start_chat(worker: HotlineServer, address: str) -> requests.Response:
    return requests.post(
        f"{worker.base_url}/api/chat",
        json={"lang": "en"},
        headers=from_address(address),
        timeout=TIMEOUT,
    )


class Resident:
    """A raw socket.io client on ``/chat`` that records refusals and pushes."""

    def __init__(self) -> None:
        self.client = socketio.Client(reconnection=False)
        self.refusals: list[Any] = []
        self.disconnected = threading.Event()
        self.client.on("connect_error", self.refusals.append, namespace="/chat")
        self.client.on(
            "disconnect", lambda *_: self.disconnected.set(), namespace="/chat"
        )

    def connect(self, worker: HotlineServer, token: str, address: str) -> None:
        self.client.connect(
            worker.base_url,
            namespaces=["/chat"],
            transports=["websocket"],
            auth={"token": token},
            headers=from_address(address),
            wait_timeout=TIMEOUT,
        )

    def send(self, body: str) -> dict[str, Any]:
        return self.client.call(
            "message",
            {"client_id": str(uuid.uuid4()), "body": body},
            namespace="/chat",
            timeout=TIMEOUT,
        )

    def close(self) -> None:
        self.client.shutdown()


@contextlib.contextmanager
def residents(count: int) -> Iterator[list[Resident]]:
    made = [Resident() for _ in range(count)]
    try:
        yield made
    finally:
        for resident in made:
            resident.close()


def test_parallel_sockets_on_one_token_across_workers_share_one_budget(workers):
    token = start_chat(workers[0], "10.0.1.1").json()["token"]
    with residents(10) as sockets:
        for index, resident in enumerate(sockets):
            resident.connect(workers[index % 2], token, "10.0.1.1")
        acks: list[dict[str, Any]] = []
        lock = threading.Lock()

        def send_three(resident: Resident) -> None:
            for n in range(3):
                ack = resident.send(f"flood {n}")
                with lock:
                    acks.append(ack)

        started = time.monotonic()
        threads = [threading.Thread(target=send_three, args=(r,)) for r in sockets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 3)
        elapsed = time.monotonic() - started
    accepted = sum(1 for ack in acks if ack["ok"])
    assert len(acks) == 30
    # The burst, plus what the rate refilled while the test ran.
    assert BURST <= accepted <= BURST + int(elapsed) + 1, (accepted, elapsed)
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"rate_limited"}


def test_reconnecting_across_workers_does_not_refill_the_budget(workers):
    token = start_chat(workers[1], "10.0.2.1").json()["token"]
    accepted = 0
    started = time.monotonic()
    for attempt in range(16):
        with residents(1) as (resident,):
            resident.connect(workers[attempt % 2], token, "10.0.2.1")
            accepted += sum(resident.send(f"again {attempt}.{n}")["ok"] for n in (1, 2))
    elapsed = time.monotonic() - started
    assert accepted <= BURST + int(elapsed) + 1, (accepted, elapsed)


def test_chat_starts_from_one_address_are_limited_across_workers(workers):
    codes = [start_chat(workers[n % 2], "10.0.3.1").status_code for n in range(8)]
    # "6 per minute" (hotline.resident.api.CHAT_START_LIMIT), counted in Redis.
    assert codes == [201] * 6 + [429] * 2
    assert start_chat(workers[0], "10.0.3.2").status_code == 201


def supervisor_session(worker: HotlineServer, address: str) -> requests.Session:
    http = requests.Session()
    http.headers.update(from_address(address))
    response = http.post(
        f"{worker.base_url}/api/auth/login",
        json={"username": "sup", "password": COUNSELOR_PASSWORD},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return http


def block(worker: HotlineServer, conversation_id: int) -> None:
    with supervisor_session(worker, "10.9.9.9") as http:
        page = http.get(
            f"{worker.base_url}/supervisor/conversations/{conversation_id}",
            timeout=TIMEOUT,
        ).text
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert csrf, "the transcript page has a block form"
        response = http.post(
            f"{worker.base_url}/supervisor/conversations/{conversation_id}/block",
            data={"csrf_token": csrf.group(1), "hours": "24", "reason": "threats"},
            headers={"Referer": f"{worker.base_url}/"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert response.status_code == 302, response.text


def test_a_block_holds_at_once_on_every_worker_and_for_new_chats(workers):
    first, second = workers
    chat = start_chat(first, "10.0.4.1").json()
    with residents(2) as (open_here, refused):
        open_here.connect(second, chat["token"], "10.0.4.1")
        assert open_here.send("before the block")["ok"]
        block(first, chat["conversation_id"])
        ack = open_here.send("after the block")
        assert ack["ok"] is False and ack["error"]["code"] == "blocked"
        assert open_here.disconnected.wait(TIMEOUT), "the blocked socket is hung up"

        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(first, chat["token"], "10.0.4.1")
        wait_for(lambda: refused.refusals, TIMEOUT, "connect_error")
    (error,) = refused.refusals
    assert error["message"] == "blocked"
    assert error["data"]["code"] == "blocked"
    assert error["data"]["details"]["crisis_contacts"]
    # A new chat from that address, without any earlier token, is refused.
    again = start_chat(second, "10.0.4.1")
    assert again.status_code == 403 and again.json()["error"]["code"] == "blocked"


def test_an_unknown_token_is_refused_with_its_code(workers):
    with residents(1) as (resident,):
        with pytest.raises(socketio.exceptions.ConnectionError):
            resident.connect(workers[0], "x" * 43, "10.0.5.1")
        wait_for(lambda: resident.refusals, TIMEOUT, "connect_error")
    (error,) = resident.refusals
    assert error["message"] == "unauthorized"
    assert error["data"]["code"] == "unauthorized"
    assert error["data"]["message"]


def test_a_console_without_sign_in_is_refused_with_its_code(workers):
    client = socketio.Client(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append, namespace="/console")
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(
                workers[1].base_url,
                namespaces=["/console"],
                transports=["websocket"],
                wait_timeout=TIMEOUT,
            )
        wait_for(lambda: refusals, TIMEOUT, "connect_error")
    finally:
        client.shutdown()
    assert refusals[0]["message"] == "unauthorized"
    assert refusals[0]["data"]["code"] == "unauthorized"
