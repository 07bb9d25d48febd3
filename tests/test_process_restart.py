"""A real ``hotline serve`` is SIGKILLed mid-conversation and restarted.

A resident and a counsellor talk through python-socketio clients over real
sockets. While both are sending a burst, the server dies without warning; it
comes back on the same port and database, the clients reconnect, resend what
was never acknowledged (same ``client_id``) and resync with ``sync
{after_seq}``. Every acknowledged message must then be stored exactly once,
with contiguous seqs, and both sides must hold the same transcript.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    HotlineServer,
    login_cookie_header,
    running_server,
    wait_for,
)

pytestmark = pytest.mark.slow

TIMEOUT = 15.0
ACK_TIMEOUT = 10
# The server allows a burst of 10 messages per connection; stay under it so a
# rate-limit refusal never stands in for a crash.
EXCHANGED = 2
BURST = 5


@dataclass
class Sent:
    client_id: str
    body: str
    seq: int | None = None


class Party:
    """One side of the conversation: a socket client, what it sent and saw."""

    def __init__(self, name: str, namespace: str, scope: dict[str, Any]) -> None:
        self.name = name
        self.namespace = namespace
        # Fields every message and sync payload carries (the staff side names
        # the conversation; the resident's token already implies it).
        self.scope = scope
        self.client = socketio.Client(
            reconnection_delay=0.2, reconnection_delay_max=1.0, randomization_factor=0.1
        )
        self.lock = threading.Lock()
        self.sent: dict[str, Sent] = {}
        self.seen: dict[int, dict[str, Any]] = {}
        self.conflicts: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.errors: list[str] = []
        self.connects = 0
        self.status: dict[str, Any] | None = None
        self.client.on("connect", self._on_connect, namespace=namespace)
        self.client.on("message", self._on_message, namespace=namespace)
        self.client.on("status", self._on_status, namespace=namespace)

    def connect(self, url: str, **options: Any) -> None:
        self.client.connect(
            url,
            namespaces=[self.namespace],
            transports=["websocket"],
            wait_timeout=TIMEOUT,
            **options,
        )

    def close(self) -> None:
        self.client.disconnect()

    @property
    def is_connected(self) -> bool:
        return self.namespace in self.client.namespaces

    def _on_connect(self) -> None:
        with self.lock:
            self.connects += 1

    def _on_status(self, status: dict[str, Any]) -> None:
        self.status = status

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("conversation_id") != self.scope.get(
            "conversation_id", message.get("conversation_id")
        ):
            return
        self.remember(message)

    def remember(self, message: dict[str, Any]) -> None:
        """Keep a stored message; a re-delivery must match what we already hold."""
        with self.lock:
            known = self.seen.setdefault(message["seq"], message)
            if transcript_key(known) != transcript_key(message):
                self.conflicts.append((known, message))

    def _payload(self, sent: Sent) -> dict[str, Any]:
        return {**self.scope, "client_id": sent.client_id, "body": sent.body}

    def _new(self, body: str) -> Sent:
        sent = Sent(f"{self.name}-{uuid.uuid4().hex}", body)
        with self.lock:
            self.sent[sent.client_id] = sent
        return sent

    def _record_ack(self, sent: Sent, ack: Any) -> None:
        # Runs on the client's thread for burst acks: record, assert later.
        with self.lock:
            if not (isinstance(ack, dict) and ack.get("ok") is True):
                self.errors.append(f"{sent.client_id}: {ack!r}")
            elif sent.seq is not None and ack["seq"] != sent.seq:
                self.errors.append(f"{sent.client_id}: seq {sent.seq} -> {ack['seq']}")
            else:
                sent.seq = ack["seq"]

    def send(self, body: str) -> int:
        """Send and wait for the acknowledgement; returns the seq."""
        return self.resend(self._new(body))

    def resend(self, sent: Sent) -> int:
        """(Re)send one message with its original client_id; returns the seq."""
        ack = self.client.call(
            "message",
            self._payload(sent),
            namespace=self.namespace,
            timeout=ACK_TIMEOUT,
        )
        self._record_ack(sent, ack)
        assert not self.errors, self.errors
        assert sent.seq is not None
        return sent.seq

    def emit_burst(self, bodies: list[str]) -> None:
        """Emit without waiting: acks arrive (or not) in the background."""
        for body in bodies:
            sent = self._new(body)
            self.client.emit(
                "message",
                self._payload(sent),
                namespace=self.namespace,
                callback=lambda ack, sent=sent: self._record_ack(sent, ack),
            )

    def acknowledged(self) -> dict[str, int]:
        with self.lock:
            return {s.client_id: s.seq for s in self.sent.values() if s.seq is not None}

    def unacknowledged(self) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent.values() if s.seq is None]

    def contiguous_seq(self) -> int:
        """The highest n such that seqs 1..n are all held."""
        with self.lock:
            n = 0
            while n + 1 in self.seen:
                n += 1
            return n

    def sync(self, after_seq: int) -> list[dict[str, Any]]:
        """Page through ``sync {after_seq}``; remembers and returns the messages."""
        fetched: list[dict[str, Any]] = []
        while True:
            ack = self.client.call(
                "sync",
                {**self.scope, "after_seq": after_seq},
                namespace=self.namespace,
                timeout=ACK_TIMEOUT,
            )
            assert ack["ok"] is True, (self.name, ack)
            for message in ack["messages"]:
                self.remember(message)
            fetched.extend(ack["messages"])
            if not ack["has_more"]:
                return fetched
            after_seq = ack["messages"][-1]["seq"]

    def saw(self, client_id: str) -> bool:
        with self.lock:
            return any(m["client_id"] == client_id for m in self.seen.values())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HotlineServer]:
    with running_server(tmp_path / "server", counselors=("ana",)) as running:
        yield running
        # pytest shows this only when the test fails.
        print(f"--- server log ---\n{running.log_tail()}")


@contextlib.contextmanager
def connected(party: Party, url: str, **options: Any) -> Iterator[Party]:
    party.connect(url, **options)
    try:
        yield party
    finally:
        party.close()


def transcript_key(message: dict[str, Any]) -> tuple[Any, ...]:
    """What must never change between deliveries of one stored message."""
    return (
        message["seq"],
        message["sender"],
        message["client_id"],
        message["body"],
        message["sent_at"],
    )


def test_sigkill_mid_conversation_loses_and_duplicates_nothing(
    server: HotlineServer,
) -> None:
    url = server.base_url
    with requests.post(f"{url}/api/chat", json={"lang": "zh"}, timeout=10) as response:
        assert response.status_code == 201, response.text
        chat = response.json()
    conversation_id = chat["conversation_id"]
    cookie = login_cookie_header(url, "ana", COUNSELOR_PASSWORD)

    resident = Party("resident", "/chat", {})
    counselor = Party("counselor", "/console", {"conversation_id": conversation_id})
    with (
        connected(resident, url, auth={"token": chat["token"]}),
        connected(counselor, url, headers={"Cookie": cookie}),
    ):
        # Claim, then talk both ways with acknowledgements.
        claim = counselor.client.call(
            "claim",
            {"conversation_id": conversation_id},
            namespace="/console",
            timeout=ACK_TIMEOUT,
        )
        assert claim["ok"] is True, claim
        wait_for(
            lambda: (resident.status or {}).get("state") == "active",
            TIMEOUT,
            "the resident to see the counsellor join",
        )
        for turn in range(EXCHANGED):
            first = resident.send(f"居民消息 {turn}: 我睡不着")
            counselor_first = counselor.send(f"counsellor reply {turn}")
            assert counselor_first > first
        for party, other in ((resident, counselor), (counselor, resident)):
            for client_id in party.acknowledged():
                wait_for(lambda c=client_id, o=other: o.saw(c), TIMEOUT, "delivery")

        # Both sides send a burst; the server dies while it is in flight.
        resident.emit_burst([f"burst from resident {i}" for i in range(BURST)])
        counselor.emit_burst([f"burst from counsellor {i}" for i in range(BURST)])
        wait_for(
            lambda: len(resident.acknowledged()) > EXCHANGED,
            TIMEOUT,
            "the first acknowledgement of the burst",
            interval=0.001,
        )
        server.kill()
        wait_for(
            lambda: not resident.is_connected and not counselor.is_connected,
            TIMEOUT,
            "both clients to notice the crash",
        )
        acked_before_crash = {**resident.acknowledged(), **counselor.acknowledged()}
        connects_before = (resident.connects, counselor.connects)

        server.start()
        wait_for(
            lambda: (
                resident.connects > connects_before[0]
                and counselor.connects > connects_before[1]
            ),
            TIMEOUT,
            "both clients to reconnect by themselves",
        )

        # Resend what was never acknowledged, with the same client_ids, and
        # one acknowledged message to show a resend stores nothing new.
        for party in (resident, counselor):
            for sent in party.unacknowledged():
                party.resend(sent)
            first_acked = next(iter(party.sent.values()))
            assert party.resend(Sent(first_acked.client_id, first_acked.body)) == (
                first_acked.seq
            )
            party.sync(party.contiguous_seq())

        # The conversation goes on after the crash.
        resident.send("still here after the restart")
        counselor.send("so am I")
        total = 2 * (EXCHANGED + BURST + 1)
        for party in (resident, counselor):
            wait_for(
                lambda p=party: p.contiguous_seq() == total,
                TIMEOUT,
                f"{party.name} to hold all {total} messages",
            )

        stored = resident.sync(0)
        assert list(map(transcript_key, counselor.sync(0))) == list(
            map(transcript_key, stored)
        )
        all_sent = {**resident.acknowledged(), **counselor.acknowledged()}
        # Stop the server before the clients hang up: against a live server
        # each client's websocket close waits out a 3 s closing handshake.
        server.stop()

    assert [m["seq"] for m in stored] == list(range(1, total + 1))
    client_ids = [m["client_id"] for m in stored]
    assert len(set(client_ids)) == total, "a message was stored twice"
    assert {m["client_id"]: m["seq"] for m in stored} == all_sent
    # An acknowledgement is a promise: its seq survived the crash unchanged.
    for client_id, seq in acked_before_crash.items():
        assert all_sent[client_id] == seq
    for party in (resident, counselor):
        assert party.errors == []
        assert party.conflicts == []
        assert sorted(map(transcript_key, party.seen.values())) == [
            transcript_key(m) for m in stored
        ]
    senders = {m["client_id"]: m["sender"] for m in stored}
    assert all(senders[c] == "resident" for c in resident.sent)
    assert all(senders[c] == "counselor" for c in counselor.sent)

    with contextlib.closing(sqlite3.connect(server.database_path)) as database:
        rows = database.execute(
            "SELECT count(*), count(DISTINCT client_id), min(seq), max(seq) "
            "FROM messages WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()
    assert rows == (total, total, 1, total)
