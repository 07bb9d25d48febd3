"""python-socketio clients that talk to a real ``hotline serve`` over sockets.

A ``Party`` is one side of a conversation (what it sent, acknowledged and
saw); a ``Listener`` keeps every push of the events it names. Both reconnect
by themselves after a crash, as the browser clients do.

pytest rewrites asserts only in test modules, so every assert here says what
it saw.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import requests
import socketio

from tests.process_helpers import wait_for

TIMEOUT = 15.0
ACK_TIMEOUT = 10


class SocketClient:
    """A reconnecting python-socketio client on one namespace."""

    # Browsers start on long-polling and upgrade; tests that need sticky
    # sessions say so in a subclass.
    transports: ClassVar[tuple[str, ...]] = ("websocket",)

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.client = socketio.Client(
            reconnection_delay=0.2, reconnection_delay_max=1.0, randomization_factor=0.1
        )
        self.lock = threading.Lock()
        self.connects = 0
        self.client.on("connect", self._on_connect, namespace=namespace)

    def connect(self, url: str, **options: Any) -> None:
        """Connect to ``url`` on this client's namespace."""
        self.client.connect(
            url,
            namespaces=[self.namespace],
            transports=list(self.transports),
            wait_timeout=TIMEOUT,
            **options,
        )

    def close(self) -> None:
        """Hang up, and stop any reconnection loop.

        ``disconnect()`` alone leaves a client whose server died retrying in
        a background thread for the rest of the session, and its jittered
        back-off draws from the global ``random`` (Hypothesis then reports
        that something changed the random state under it).
        """
        self.client.shutdown()

    @property
    def is_connected(self) -> bool:
        return self.namespace in self.client.namespaces

    def _on_connect(self) -> None:
        with self.lock:
            self.connects += 1


Client = TypeVar("Client", bound=SocketClient)


@contextlib.contextmanager
def connected(client: Client, url: str, **options: Any) -> Iterator[Client]:
    """Connect for the ``with`` block; always hang up after."""
    client.connect(url, **options)
    try:
        yield client
    finally:
        client.close()


@dataclass
class Sent:
    client_id: str
    body: str
    seq: int | None = None


def transcript_key(message: dict[str, Any]) -> tuple[Any, ...]:
    """What must never change between deliveries of one stored message."""
    return (
        message["seq"],
        message["sender"],
        message["client_id"],
        message["body"],
        message["sent_at"],
    )


class Party(SocketClient):
    """One side of the conversation: a socket client, what it sent and saw."""

    def __init__(self, name: str, namespace: str, scope: dict[str, Any]) -> None:
        super().__init__(namespace)
        self.name = name
        # Fields every message and sync payload carries (the staff side names
        # the conversation; the resident's token already implies it).
        self.scope = scope
        self.sent: dict[str, Sent] = {}
        self.seen: dict[int, dict[str, Any]] = {}
        self.conflicts: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.errors: list[str] = []
        self.status: dict[str, Any] | None = None
        self.client.on("message", self._on_message, namespace=namespace)
        self.client.on("status", self._on_status, namespace=namespace)

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
        assert sent.seq is not None, (sent, ack)
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

    def resend_and_resync(self) -> None:
        """After a reconnect: resend the unacknowledged, then catch up by sync.

        It also resends one acknowledged message, with its client_id, and
        checks that this stores nothing new.
        """
        for sent in self.unacknowledged():
            self.resend(sent)
        first_acked = next(iter(self.sent.values()))
        seq = self.resend(Sent(first_acked.client_id, first_acked.body))
        assert seq == first_acked.seq, (first_acked, seq)
        self.sync(self.contiguous_seq())

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


class Listener(SocketClient):
    """A python-socketio client that keeps every server push, by event name."""

    def __init__(self, namespace: str, events: tuple[str, ...]) -> None:
        super().__init__(namespace)
        self.received: dict[str, list[Any]] = {event: [] for event in events}
        for event in events:
            self.client.on(
                event, lambda data, e=event: self._keep(e, data), namespace=namespace
            )

    def _keep(self, event: str, data: Any) -> None:
        with self.lock:
            self.received[event].append(data)

    def got(self, event: str) -> list[Any]:
        """Every push of ``event`` so far, oldest first."""
        with self.lock:
            return list(self.received[event])

    def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Emit ``event`` and return its acknowledgement, which must be ``ok``."""
        ack = self.client.call(
            event, payload, namespace=self.namespace, timeout=ACK_TIMEOUT
        )
        assert isinstance(ack, dict) and ack.get("ok") is True, (event, ack)
        return ack


def wait_until_all_hold(total: int, *parties: Party) -> None:
    """Wait until every party holds seqs 1..total, with no gap."""
    for party in parties:
        wait_for(
            lambda p=party: p.contiguous_seq() == total,
            TIMEOUT,
            f"{party.name} to hold all {total} messages",
        )


def common_transcript(first: Party, *others: Party) -> list[dict[str, Any]]:
    """The whole conversation by ``sync``; every party must get the same."""
    stored = first.sync(0)
    for party in others:
        theirs = party.sync(0)
        assert list(map(transcript_key, theirs)) == list(map(transcript_key, stored)), (
            party.name,
            theirs,
            stored,
        )
    return stored


def assert_hold_exactly(stored: list[dict[str, Any]], *parties: Party) -> None:
    """Each party saw ``stored`` and nothing else, with no error or conflict."""
    expected = [transcript_key(m) for m in stored]
    for party in parties:
        assert party.errors == [], (party.name, party.errors)
        assert party.conflicts == [], (party.name, party.conflicts)
        held = sorted(map(transcript_key, party.seen.values()))
        assert held == expected, (party.name, held, expected)


def claim(counselor: Party, conversation_id: int) -> None:
    """Claim a waiting conversation from the console; the claim must succeed."""
    ack = counselor.client.call(
        "claim",
        {"conversation_id": conversation_id},
        namespace="/console",
        timeout=ACK_TIMEOUT,
    )
    assert ack["ok"] is True, ack


def start_chat(base_url: str, timeout: float = 10.0) -> dict[str, Any]:
    """Start a resident's chat through ``POST /api/chat``; its id and token."""
    with requests.post(
        f"{base_url}/api/chat", json={"lang": "zh"}, timeout=timeout
    ) as response:
        assert response.status_code == 201, response.text
        return response.json()
