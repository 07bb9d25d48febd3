"""The bare baseline: a python-socketio relay speaking Hotline's wire shape.

It speaks the subset of ``docs/protocol.md`` the chat load generator uses, so
the same client drives it and Hotline at the same load in the same run:

- ``/chat`` with ``auth={"token": "relay-<conversation id>-..."}`` joins
  ``conversation:<id>``; ``message`` gets the next in-memory ``seq``, is pushed
  to the conversation room and to the holder's ``counselor:<id>`` room on
  ``/console``, and is acked ``{"ok": true, "seq": n}``;
- ``/console`` with ``auth={"counselor_id": k}`` joins ``counselor:<k>`` and
  ``staff``; ``claim`` records the holder; ``message`` is relayed likewise.

A message from a conversation nobody holds (a waiting resident) is also
pushed to the ``staff`` room on ``/console`` as a one-item ``queue_item``,
as Hotline does, so the surge profile's console hears about it on both.

No sign-in, no validation, no triage: the difference between Hotline and
this relay is what the application costs on top of the framework.

The **durable relay** (``--database PATH``) is the same relay storing each
message with one INSERT + COMMIT in a SQLite file with Hotline's settings
(WAL, ``synchronous=NORMAL``, ``hotline/database.py``) before it pushes and
acknowledges: the floor for a chat that never loses an acknowledged message.
It runs in the same async mode and on the same kind of server as
``hotline serve``: Werkzeug's threaded server for ``threading``, gevent's
pywsgi (monkey-patched, simple-websocket) for ``gevent``.

Run: ``python -m bench.relay_baseline --port 5001 --async-mode threading``
(``--database /tmp/relay.sqlite3`` for the durable relay).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

CHAT_NAMESPACE = "/chat"
CONSOLE_NAMESPACE = "/console"
ASYNC_MODES = ("threading", "gevent")
PREVIEW_CHARS = 120
DURABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    client_id TEXT,
    sent_at TEXT NOT NULL,
    UNIQUE (conversation_id, seq)
)
"""


def relay_token(conversation_id: int, salt: str) -> str:
    """A token the relay understands: it carries the conversation id in clear."""
    return f"relay-{conversation_id}-{salt}"


def open_durable(path: str) -> Any:
    """A SQLite connection with Hotline's settings (``hotline/database.py``)."""
    import sqlite3

    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.isolation_level = None
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=30000")
    connection.execute(DURABLE_SCHEMA)
    return connection


def build_server(async_mode: str, database: str | None = None) -> Any:
    """A ``socketio.Server`` relaying messages between residents and holders;
    with ``database``, each message is stored and committed before the
    push and the ack."""
    # Imported here, not at module level: under gevent the standard library
    # must be patched before socketio (and threading) are imported.
    import threading
    from datetime import UTC, datetime

    import socketio

    server = socketio.Server(
        async_mode=async_mode,
        # The same engine settings as Hotline's Flask-SocketIO instance.
        max_http_buffer_size=64 * 1024,
        ping_interval=20,
        ping_timeout=20,
    )
    lock = threading.Lock()
    last_seq: dict[int, int] = {}
    holder_of: dict[int, int] = {}
    conversation_of_sid: dict[str, int] = {}
    counselor_of_sid: dict[str, int] = {}
    store = open_durable(database) if database else None

    def relay(conversation_id: int, sender: str, payload: dict[str, Any]) -> int:
        sent_at = datetime.now(UTC).isoformat()
        with lock:
            seq = last_seq.get(conversation_id, 0) + 1
            last_seq[conversation_id] = seq
            holder = holder_of.get(conversation_id)
            if store is not None:
                # One INSERT + COMMIT per message, before anyone hears of it:
                # like Hotline's unit of work, one writer at a time.
                store.execute("BEGIN IMMEDIATE")
                store.execute(
                    "INSERT INTO messages (conversation_id, seq, sender, body, "
                    "client_id, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        conversation_id,
                        seq,
                        sender,
                        str(payload.get("body")),
                        payload.get("client_id"),
                        sent_at,
                    ),
                )
                store.execute("COMMIT")
        message = {
            "conversation_id": conversation_id,
            "seq": seq,
            "sender": sender,
            "body": payload.get("body"),
            "sent_at": sent_at,
            "client_id": payload.get("client_id"),
        }
        server.emit(
            "message",
            message,
            to=f"conversation:{conversation_id}",
            namespace=CHAT_NAMESPACE,
        )
        if holder is not None:
            server.emit(
                "message",
                message,
                to=f"counselor:{holder}",
                namespace=CONSOLE_NAMESPACE,
            )
        else:
            # Waiting: the console's queue hears of this one item.
            server.emit(
                "queue_item",
                {
                    "conversation_id": conversation_id,
                    "message_count": seq,
                    "preview": str(payload.get("body"))[:PREVIEW_CHARS],
                },
                to="staff",
                namespace=CONSOLE_NAMESPACE,
            )
        return seq

    @server.on("connect", namespace=CHAT_NAMESPACE)
    def chat_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = str((auth or {}).get("token", ""))
        conversation_id = int(token.split("-")[1])
        conversation_of_sid[sid] = conversation_id
        server.enter_room(
            sid, f"conversation:{conversation_id}", namespace=CHAT_NAMESPACE
        )
        server.emit(
            "status",
            {"state": "waiting", "position": None},
            to=sid,
            namespace=CHAT_NAMESPACE,
        )

    @server.on("disconnect", namespace=CHAT_NAMESPACE)
    def chat_disconnect(sid: str, *_: Any) -> None:
        conversation_of_sid.pop(sid, None)

    @server.on("message", namespace=CHAT_NAMESPACE)
    def chat_message(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
        seq = relay(conversation_of_sid[sid], "resident", payload)
        return {"ok": True, "seq": seq}

    @server.on("connect", namespace=CONSOLE_NAMESPACE)
    def console_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        counselor_id = int((auth or {}).get("counselor_id", 0))
        counselor_of_sid[sid] = counselor_id
        server.enter_room(sid, f"counselor:{counselor_id}", namespace=CONSOLE_NAMESPACE)
        server.enter_room(sid, "staff", namespace=CONSOLE_NAMESPACE)

    @server.on("disconnect", namespace=CONSOLE_NAMESPACE)
    def console_disconnect(sid: str, *_: Any) -> None:
        counselor_of_sid.pop(sid, None)

    @server.on("claim", namespace=CONSOLE_NAMESPACE)
    def console_claim(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
        conversation_id = int(payload["conversation_id"])
        with lock:
            holder_of[conversation_id] = counselor_of_sid[sid]
        return {"ok": True, "conversation": {"conversation_id": conversation_id}}

    @server.on("message", namespace=CONSOLE_NAMESPACE)
    def console_message(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
        conversation_id = int(payload["conversation_id"])
        if holder_of.get(conversation_id) != counselor_of_sid.get(sid):
            return {"ok": False, "error": {"code": "not_holder", "message": "no"}}
        return {"ok": True, "seq": relay(conversation_id, "counselor", payload)}

    return server


def serve(host: str, port: int, async_mode: str, database: str | None = None) -> None:
    """Serve the relay until killed."""
    import socketio

    server = build_server(async_mode, database)
    app = socketio.WSGIApp(server)
    kind = f"durable relay on {database}" if database else "relay baseline"
    print(f"{kind} ({async_mode}) on http://{host}:{port}/", flush=True)
    if async_mode == "gevent":
        from gevent import pywsgi

        # As Flask-SocketIO runs gevent without gevent-websocket: plain pywsgi,
        # WebSocket through simple-websocket, no access log.
        pywsgi.WSGIServer((host, port), app, log=None).serve_forever()
    else:
        from werkzeug.serving import run_simple

        # As Flask-SocketIO runs "threading": Werkzeug, one thread per request.
        run_simple(host, port, app, threaded=True, use_reloader=False)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, patch for gevent if asked, and serve."""
    parser = argparse.ArgumentParser(prog="python -m bench.relay_baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--async-mode", choices=ASYNC_MODES, default="threading")
    parser.add_argument(
        "--database",
        metavar="PATH",
        help="durable relay: store each message in this SQLite file first",
    )
    args = parser.parse_args(argv)
    if args.async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    serve(args.host, args.port, args.async_mode, args.database)


if __name__ == "__main__":
    sys.exit(main())
