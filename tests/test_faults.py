"""Faults against real ``hotline serve`` processes (docs/reliability.md).

- a client's network drops while it sends: the ack is lost, or the message
  is; a resend with the same ``client_id`` stores it exactly once;
- Redis (the message queue) goes down: each worker keeps serving its own
  clients, cross-worker pushes stop, and come back when Redis does; what was
  missed is in ``sync``;
- PostgreSQL connections are killed, and the database refuses connections for
  a while: sends fail clearly and are resent; pooled connections recover;
- a client that never reads: the rest of the worker is not held up, the
  client is dropped at the heartbeat, and everything is stored.

The SIGKILL rows live in test_process_restart.py, test_escalation_restart.py
and test_scale_out.py.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    HotlineServer,
    RedisServer,
    TcpProxy,
    _postgres_admin_execute,
    job_runs,
    login_cookie_header,
    postgres_available,
    postgres_database,
    redis_server_binary,
    require,
    stored_messages,
    tcp_connection,
    terminate_connections,
    unique_channel,
    wait_for,
)
from tests.socket_clients import (
    ACK_TIMEOUT,
    TIMEOUT,
    Party,
    Sent,
    claim,
    connected,
    start_chat,
)

pytestmark = pytest.mark.slow

# More time for HTTP than the other real-process tests give: some requests
# here are made while Redis or PostgreSQL is failing.
HTTP_TIMEOUT = 30.0


@contextlib.contextmanager
def serving(*servers: HotlineServer) -> Iterator[None]:
    """Start the servers; stop them and show their logs (on failure) after."""
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()
            print(f"--- {server.base_url} log ---\n{server.log_tail()}")


def raw_send(party: Party, sent: Sent) -> Any:
    """Send once and return the ack as it is, error or not."""
    return party.client.call(
        "message",
        {**party.scope, "client_id": sent.client_id, "body": sent.body},
        namespace=party.namespace,
        timeout=ACK_TIMEOUT * 3,
    )


def assert_stored_once(
    rows: list[tuple[int, str]], *parties: Party, extra: int = 0
) -> None:
    """Every acknowledged message is stored once, under its acknowledged seq."""
    acknowledged: dict[str, int] = {}
    for party in parties:
        assert party.errors == [], party.errors
        assert party.conflicts == [], party.conflicts
        acknowledged.update(party.acknowledged())
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
    assert len({client_id for _, client_id in rows}) == len(rows)
    assert {c: s for s, c in rows if c in acknowledged} == acknowledged
    assert len(rows) == len(acknowledged) + extra


# --- a client's network drops while it sends ------------------------------


def test_network_drop_while_sending_is_healed_by_resending_the_same_client_id(
    tmp_path: Path,
) -> None:
    server = HotlineServer(tmp_path / "server")
    server.upgrade()
    server.create_user("ana")
    with serving(server):
        proxy = TcpProxy(server.port)
        chat = start_chat(server.base_url, HTTP_TIMEOUT)
        conversation_id = chat["conversation_id"]
        cookie = login_cookie_header(server.base_url, "ana", COUNSELOR_PASSWORD)
        resident = Party("resident", "/chat", {})
        ana = Party("counselor", "/console", {"conversation_id": conversation_id})
        try:
            with (
                connected(resident, proxy.base_url, auth={"token": chat["token"]}),
                connected(ana, server.base_url, headers={"Cookie": cookie}),
            ):
                claim(ana, conversation_id)
                resident.send("hello")
                ana.send("hello, I am listening")

                # 1. The message arrives, its ack is lost with the network.
                proxy.to_client.clear()
                resident.emit_burst(["the ack of this one is lost"])
                (lost_ack,) = resident.unacknowledged()
                wait_for(
                    lambda: ana.saw(lost_ack.client_id),
                    TIMEOUT,
                    "the server to store and push the message",
                )
                reconnect_through(proxy, resident)
                assert resident.resend(lost_ack) == ana_seq(ana, lost_ack)

                # 2. The message itself is lost on the way to the server.
                proxy.to_server.clear()
                body = "this one never reaches the server " + "x" * 400
                resident.emit_burst([body])
                (lost,) = resident.unacknowledged()
                wait_for(
                    lambda: proxy.dropped["to_server"] >= len(body),
                    TIMEOUT,
                    "the message to be lost",
                )
                assert not ana.saw(lost.client_id)
                reconnect_through(proxy, resident)
                seq = resident.resend(lost)
                wait_for(lambda: ana.saw(lost.client_id), TIMEOUT, "delivery")

                # A third resend of either stores nothing new.
                assert resident.resend(Sent(lost.client_id, lost.body)) == seq
                assert resident.resend(Sent(lost_ack.client_id, lost_ack.body)) == (
                    lost_ack.seq
                )
                resident.sync(0)
                server.stop()
        finally:
            proxy.close()

    assert_stored_once(
        stored_messages(server.database_url, conversation_id), resident, ana
    )
    assert resident.contiguous_seq() == 4


def ana_seq(counselor: Party, sent: Sent) -> int:
    with counselor.lock:
        return next(
            seq
            for seq, message in counselor.seen.items()
            if message["client_id"] == sent.client_id
        )


def reconnect_through(proxy: TcpProxy, party: Party) -> None:
    """Cut the network, mend it, and wait for the client to reconnect."""
    connects = party.connects
    proxy.cut()
    proxy.to_server.set()
    proxy.to_client.set()
    wait_for(
        lambda: party.connects > connects and party.is_connected,
        TIMEOUT,
        f"{party.name} to reconnect",
    )


# --- Redis goes down and comes back -----------------------------------------


def test_redis_down_keeps_each_worker_serving_and_recovers(tmp_path: Path) -> None:
    require(redis_server_binary() is not None, "redis-server")
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    first = HotlineServer(tmp_path / "worker1")
    shared = {
        "HOTLINE_DATABASE_URL": first.env["HOTLINE_DATABASE_URL"],
        "HOTLINE_SECRET_KEY": first.env["HOTLINE_SECRET_KEY"],
        "HOTLINE_PHONE_KEYS": first.env["HOTLINE_PHONE_KEYS"],
        "HOTLINE_MESSAGE_QUEUE": redis.url,
        "HOTLINE_MESSAGE_QUEUE_CHANNEL": unique_channel(),
        # The HTTP rate limits share the same Redis.
        "HOTLINE_RATELIMIT_STORAGE": redis.url,
    }
    first.env.update(shared)
    second = HotlineServer(tmp_path / "worker2", env=shared)
    first.upgrade()
    first.create_user("ana")
    try:
        with serving(first, second):
            chat = start_chat(first.base_url, HTTP_TIMEOUT)
            conversation_id = chat["conversation_id"]
            cookie = login_cookie_header(first.base_url, "ana", COUNSELOR_PASSWORD)
            resident = Party("resident", "/chat", {})
            # The counsellor has a console open on each worker.
            ana = Party("counselor", "/console", {"conversation_id": conversation_id})
            ana_elsewhere = Party(
                "counselor-2", "/console", {"conversation_id": conversation_id}
            )
            with (
                connected(resident, first.base_url, auth={"token": chat["token"]}),
                connected(ana, first.base_url, headers={"Cookie": cookie}),
                connected(ana_elsewhere, second.base_url, headers={"Cookie": cookie}),
            ):
                claim(ana, conversation_id)
                resident.send("before the outage")
                for tab in (ana, ana_elsewhere):
                    wait_for(lambda t=tab: t.contiguous_seq() == 1, TIMEOUT, "push")

                redis.kill()
                # The worker's own clients keep talking, live, both ways.
                started = time.monotonic()
                during = resident.send("while Redis is down")
                ack_seconds = time.monotonic() - started
                wait_for(lambda: ana.contiguous_seq() == during, TIMEOUT, "local push")
                ana.send("I still see you")
                wait_for(
                    lambda: resident.contiguous_seq() == during + 1,
                    TIMEOUT,
                    "local push to the resident",
                )
                # HTTP keeps working: rate limits fall back to memory.
                start_chat(first.base_url, HTTP_TIMEOUT)
                start_chat(second.base_url, HTTP_TIMEOUT)
                # The other worker's tab missed those pushes.
                assert ana_elsewhere.contiguous_seq() == 1

                redis.start()

                # Pushes cross workers again once the worker's listener is
                # back on Redis (it retries on its own).
                def crosses() -> bool:
                    probe = resident.send("is anyone on the other worker?")
                    return wait_or_false(lambda: probe in ana_elsewhere.seen)

                wait_for(crosses, TIMEOUT * 2, "pushes across workers", interval=1.0)
                # What the other tab missed comes with sync.
                ana_elsewhere.sync(1)
                assert ana_elsewhere.contiguous_seq() == resident.contiguous_seq()
                print(f"ack while Redis was down took {ack_seconds:.2f} s")
                first.stop()
                second.stop()
    finally:
        redis.kill()

    assert_stored_once(
        stored_messages(first.database_url, conversation_id), resident, ana
    )


def wait_or_false(condition: Any, timeout: float = 1.0) -> bool:
    try:
        return bool(wait_for(condition, timeout, "a push"))
    except TimeoutError:
        return False


# --- PostgreSQL connections lost, then the database back -----------------------


def test_postgres_connections_lost_and_restored(tmp_path: Path) -> None:
    require(postgres_available(), "PostgreSQL")
    with postgres_database("hotline_fault") as database_url:
        name = database_url.rsplit("/", 1)[1]
        server = HotlineServer(
            tmp_path / "server",
            env={
                "HOTLINE_DATABASE_URL": database_url,
                "HOTLINE_ESCALATION_REALERT_SECONDS": "1",
            },
        )
        server.create_user("ana")
        try:
            with serving(server):
                chat = start_chat(server.base_url, HTTP_TIMEOUT)
                conversation_id = chat["conversation_id"]
                cookie = login_cookie_header(server.base_url, "ana", COUNSELOR_PASSWORD)
                resident = Party("resident", "/chat", {})
                ana = Party(
                    "counselor", "/console", {"conversation_id": conversation_id}
                )
                with (
                    connected(resident, server.base_url, auth={"token": chat["token"]}),
                    connected(ana, server.base_url, headers={"Cookie": cookie}),
                ):
                    claim(ana, conversation_id)
                    resident.send("before")

                    # 1. Every pooled connection is killed under the worker:
                    # the pool's pre-ping notices and reconnects, unseen.
                    assert terminate_connections(database_url) >= 1
                    resident.send("after my connection was killed")
                    ana.send("mine too")
                    runs = job_runs(database_url, "escalation_realert")
                    wait_for(
                        lambda: job_runs(database_url, "escalation_realert") > runs,
                        TIMEOUT,
                        "the periodic job to run again",
                    )

                    # 2. The database refuses connections for a while.
                    _postgres_admin_execute(
                        f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'
                    )
                    terminate_connections(database_url)
                    refused = Sent(
                        "resident-refused-0001", "while the database is gone"
                    )
                    resident.sent[refused.client_id] = refused
                    ack = raw_send(resident, refused)
                    assert ack["ok"] is False, ack
                    assert ack["error"]["code"] == "internal_error"
                    assert resident.is_connected
                    with requests.get(
                        f"{server.base_url}/api/health", timeout=30
                    ) as health:
                        assert health.status_code >= 500

                    _postgres_admin_execute(
                        f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'
                    )
                    seq = resident.resend(refused)
                    wait_for(lambda: ana.saw(refused.client_id), TIMEOUT, "delivery")
                    assert resident.resend(Sent(refused.client_id, refused.body)) == seq
                    with requests.get(
                        f"{server.base_url}/api/health", timeout=30
                    ) as health:
                        assert health.status_code == 200
                    server.stop()
        finally:
            # Never leave the database closed to its own teardown.
            _postgres_admin_execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        rows = stored_messages(database_url, conversation_id)
    assert_stored_once(rows, resident, ana)


# --- a client that never reads ---------------------------------------------------

HEARTBEAT = 2
TCP_ESTABLISHED = 1


def open_stalled_resident(base_url: str, token: str) -> websocket.WebSocket:
    """A resident on a raw WebSocket with a tiny receive buffer.

    It joins its conversation, reads the server's greeting, and from then on
    never reads again, never answers a ping.
    """
    url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    stalled = websocket.create_connection(
        url,
        timeout=TIMEOUT,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),),
    )
    assert stalled.recv().startswith("0{")
    stalled.send("40/chat," + json.dumps({"token": token}))
    while not stalled.recv().startswith("40/chat,"):
        pass
    return stalled


def test_a_client_that_never_reads_holds_up_nobody_and_is_dropped(
    tmp_path: Path,
) -> None:
    server = HotlineServer(
        tmp_path / "server",
        env={
            "HOTLINE_PING_INTERVAL": str(HEARTBEAT),
            "HOTLINE_PING_TIMEOUT": str(HEARTBEAT),
            # One staff account's budget covers all its sockets: room for
            # the 10 long messages and the second tab's replies.
            "HOTLINE_MESSAGE_BURST": "20",
        },
    )
    server.upgrade()
    server.create_user("ana")
    with serving(server):
        stalled_chat = start_chat(server.base_url, HTTP_TIMEOUT)
        stalled_id = stalled_chat["conversation_id"]
        chat = start_chat(server.base_url, HTTP_TIMEOUT)
        conversation_id = chat["conversation_id"]
        cookie = login_cookie_header(server.base_url, "ana", COUNSELOR_PASSWORD)
        stalled = open_stalled_resident(server.base_url, stalled_chat["token"])
        local_port = stalled.sock.getsockname()[1]
        ana = Party("counselor", "/console", {"conversation_id": stalled_id})
        resident = Party("resident", "/chat", {})
        try:
            with (
                connected(ana, server.base_url, headers={"Cookie": cookie}),
                connected(resident, server.base_url, auth={"token": chat["token"]}),
            ):
                claim(ana, stalled_id)
                claim(ana, conversation_id)
                # Fill the stalled resident's pipe: 10 long messages, about
                # 120 KB of UTF-8.
                for n in range(10):
                    ana.send(f"{n} " + "我们一直都在这里听你说。" * 330)
                stuck = wait_for(
                    lambda: (
                        ((c := tcp_connection(server.port, local_port)) and c["tx"] > 0)
                        and c
                    ),
                    TIMEOUT,
                    "data stuck in the server's send queue",
                )
                assert stuck["state"] == TCP_ESTABLISHED

                # Meanwhile another conversation on the same worker goes on.
                other_ana = Party(
                    "counselor-2", "/console", {"conversation_id": conversation_id}
                )
                with connected(other_ana, server.base_url, headers={"Cookie": cookie}):
                    for turn in range(3):
                        resident.send(f"are you there? {turn}")
                        other_ana.send(f"yes, still here {turn}")
                    wait_for(
                        lambda: (
                            resident.contiguous_seq() == 6
                            and other_ana.contiguous_seq() == 6
                        ),
                        TIMEOUT,
                        "the other conversation to flow",
                    )
                    # The worker drops the client that does not answer pings.
                    wait_for(
                        lambda: (
                            (c := tcp_connection(server.port, local_port)) is None
                            or c["state"] != TCP_ESTABLISHED
                        ),
                        TIMEOUT + 2 * HEARTBEAT,
                        "the server to drop the stalled client",
                    )

                    # Nothing was lost: a fresh connection of the stalled
                    # resident finds all ten messages.
                    back = Party("resident-back", "/chat", {})
                    with connected(
                        back, server.base_url, auth={"token": stalled_chat["token"]}
                    ):
                        back.sync(0)
                        assert back.contiguous_seq() == 10
                    server.stop()
        finally:
            stalled.close()

    assert_stored_once(stored_messages(server.database_url, stalled_id), ana)
    assert_stored_once(
        stored_messages(server.database_url, conversation_id), resident, other_ana
    )
