"""Bound how long one WebSocket can hold a worker's socket.

python-engineio means to give each WebSocket a socket timeout of the ping
interval plus the ping timeout, but looks for the socket where
simple-websocket (our WebSocket server) does not keep it, so none is set.
Then a client that stops reading (a stalled phone, a hostile script) fills
its TCP window, the worker's writes to it block for ever, and the connection,
its greenlets and its buffers are never freed, even after Engine.IO has
given up on the client for not answering pings.

This middleware sets that timeout on the connection's socket before the
upgrade (simple-websocket's copy of the socket inherits it): a healthy client
answers a ping at least every ping interval, so only a connection silent or
blocked for the whole heartbeat is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WebSocketTimeout:
    """WSGI middleware: a socket timeout for WebSocket upgrade requests."""

    def __init__(self, app: WSGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            connection = connection_socket(environ)
            if connection is not None:
                connection.settimeout(self.seconds)
        return self.app(environ, start_response)


def connection_socket(environ: dict[str, Any]) -> Any:
    """The client connection's socket, as simple-websocket finds it."""
    if "werkzeug.socket" in environ:
        return environ["werkzeug.socket"]
    stream = environ.get("wsgi.input")
    # gevent's pywsgi: Input -> rfile (a buffered reader) -> raw -> _sock.
    stream = getattr(stream, "rfile", stream)
    raw = getattr(stream, "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if hasattr(sock, "settimeout") else None
