"""An outside process holding SQLite's write lock (issue #19, point 8).

A real ``hotline serve`` (gevent) on a SQLite file; this test takes the
database's write lock with ``BEGIN IMMEDIATE`` and holds it:

- static files, the health check and reads answer at once;
- a resident's message waits for the lock, in Python, then is refused with
  a clear ``busy`` error, and the socket stays open;
- once the lock is released, the resident's next message is stored.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import requests
import socketio

from tests.process_helpers import running_server

pytestmark = pytest.mark.slow

WAIT = 2.0


def test_an_outside_write_lock_freezes_nothing_and_refuses_clearly(tmp_path: Path):
    env = {"HOTLINE_SQLITE_WRITE_WAIT_SECONDS": str(WAIT)}
    with running_server(tmp_path, counselors=(), env=env) as server:
        chat = requests.post(
            f"{server.base_url}/api/chat", json={"lang": "en"}, timeout=10
        ).json()
        resident = socketio.Client(reconnection=False)
        resident.connect(
            server.base_url,
            namespaces=["/chat"],
            transports=["websocket"],
            auth={"token": chat["token"]},
            wait_timeout=10,
        )
        outsider = sqlite3.connect(server.database_path, isolation_level=None)
        try:
            outsider.execute("BEGIN IMMEDIATE")
            results: dict[str, float] = {}
            started = time.monotonic()
            ack = None

            def send() -> None:
                nonlocal ack
                ack = resident.call(
                    "message",
                    {"client_id": str(uuid.uuid4()), "body": "while locked"},
                    namespace="/chat",
                    timeout=WAIT * 5,
                )

            sender = resident.start_background_task(send)
            time.sleep(0.3)  # the message is now waiting for the lock
            for path in ("/static/resident/chat.css", "/api/health", "/"):
                before = time.monotonic()
                response = requests.get(f"{server.base_url}{path}", timeout=10)
                results[path] = time.monotonic() - before
                assert response.status_code == 200, (path, response.status_code)
            sender.join()
            waited = time.monotonic() - started
        finally:
            outsider.execute("ROLLBACK")
            outsider.close()
        try:
            assert all(seconds < 1.0 for seconds in results.values()), results
            assert ack is not None and ack["ok"] is False
            assert ack["error"]["code"] == "busy"
            assert WAIT * 0.8 <= waited < WAIT * 3
            assert "/chat" in resident.namespaces  # still connected
            again = resident.call(
                "message",
                {"client_id": str(uuid.uuid4()), "body": "after the lock"},
                namespace="/chat",
                timeout=10,
            )
            assert again["ok"] is True, again
        finally:
            resident.shutdown()
