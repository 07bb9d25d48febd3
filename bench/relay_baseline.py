"""The bare baseline: a python-socketio relay speaking Hotline's wire shape.

It speaks the subset of ``docs/protocol.md`` the chat load generator uses, so
the same client drives it and Hotline at the same load in the same run:

- ``/chat`` with ``auth={"token": "relay-<conversation id>-..."}`` joins
  ``conversation:<id>``; ``message`` gets the next in-memory ``seq``, is pushed
  to the conversation room and to the holder's ``counselor:<id>`` room on
  ``/console``, and is acked ``{"ok": true, "seq": n}``;
- ``/console`` with ``auth={"counselor_id": k}`` joins ``counselor:<k>`` and
  ``staff``; ``claim`` records the holder; ``message`` is relayed likewise.

No database, no sign-in, no validation, no triage: the difference between
Hotline and this relay is what the application costs on top of the framework.
It runs in the same async mode and on the same kind of server as
``hotline serve``: Werkzeug's threaded server for ``threading``, gevent's
pywsgi (monkey-patched, simple-websocket) for ``gevent``.

Run: ``python -m bench.relay_baseline --port 5001 --async-mode threading``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

CHAT_NAMESPACE = "/chat"
CONSOLE_NAMESPACE = "/console"
ASYNC_MODES = ("threading", "gevent")


def relay_token(conversation_id: int, salt: str) -> str:
    """A token the relay understands: it carries the conversation id in clear."""
    return f"relay-{conversation_id}-{salt}"


def build_server(async_mode: str) -> Any:
    """A ``socketio.Server`` relaying messages between residents and holders."""
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

    def relay(conversation_id: int, sender: str, payload: dict[str, Any]) -> int:
        with lock:
            seq = last_seq.get(conversation_id, 0) + 1
            last_seq[conversation_id] = seq
            holder = holder_of.get(conversation_id)
        message = {
            "conversation_id": conversation_id,
            "seq": seq,
            "sender": sender,
            "body": payload.get("body"),
            "sent_at": datetime.now(UTC).isoformat(),
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


def serve(host: str, port: int, async_mode: str) -> None:
    """Serve the relay until killed."""
    import socketio

    server = build_server(async_mode)
    app = socketio.WSGIApp(server)
    print(f"relay baseline ({async_mode}) on http://{host}:{port}/", flush=True)
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
    args = parser.parse_args(argv)
    if args.async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    serve(args.host, args.port, args.async_mode)


if __name__ == "__main__":
    sys.exit(main())
