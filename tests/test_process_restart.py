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
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    HotlineServer,
    login_cookie_header,
    running_server,
    wait_for,
)
from tests.socket_clients import (
    TIMEOUT,
    Party,
    assert_hold_exactly,
    claim,
    common_transcript,
    connected,
    start_chat,
    wait_until_all_hold,
)

pytestmark = pytest.mark.slow

# The server allows a burst of 10 messages per connection; stay under it so a
# rate-limit refusal never stands in for a crash.
EXCHANGED = 2
BURST = 5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HotlineServer]:
    with running_server(tmp_path / "server", counselors=("ana",)) as running:
        yield running
        # pytest shows this only when the test fails.
        print(f"--- server log ---\n{running.log_tail()}")


def test_sigkill_mid_conversation_loses_and_duplicates_nothing(
    server: HotlineServer,
) -> None:
    url = server.base_url
    chat = start_chat(url)
    conversation_id = chat["conversation_id"]
    cookie = login_cookie_header(url, "ana", COUNSELOR_PASSWORD)

    resident = Party("resident", "/chat", {})
    counselor = Party("counselor", "/console", {"conversation_id": conversation_id})
    with (
        connected(resident, url, auth={"token": chat["token"]}),
        connected(counselor, url, headers={"Cookie": cookie}),
    ):
        # Claim, then talk both ways with acknowledgements.
        claim(counselor, conversation_id)
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
            party.resend_and_resync()

        # The conversation goes on after the crash.
        resident.send("still here after the restart")
        counselor.send("so am I")
        total = 2 * (EXCHANGED + BURST + 1)
        wait_until_all_hold(total, resident, counselor)

        stored = common_transcript(resident, counselor)
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
    assert_hold_exactly(stored, resident, counselor)
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
