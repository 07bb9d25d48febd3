"""The one Socket.IO error handler: every failure becomes an error ack."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError

from hotline.errors import HotlineError, InternalError, InvalidInput
from hotline.extensions import socketio

logger = logging.getLogger(__name__)


def handle_socket_error(error: Exception) -> dict[str, Any]:
    """Ack ``{"ok": false, "error": {...}}``; the connection stays up.

    A failure while connecting refuses the connection instead: whatever this
    handler returns, python-socketio would otherwise accept it, half set up.
    """
    if isinstance(error, TypeError) and not _arguments_fit():
        error = InvalidInput("arguments")
    if not isinstance(error, HotlineError):
        logger.exception(
            "unhandled error in %s %s", request.namespace, request.event["message"]
        )
        error = InternalError()
    if request.event["message"] == "connect":
        raise refusal(error) from error
    return {"ok": False, **error.to_dict()}


def refusal(error: HotlineError) -> ConnectionRefusedError:
    """The refusal of a connection, as socket.io clients read it.

    The client's ``connect_error`` gets the code as ``err.message`` and the
    error object (``{"code", "message", ...}``) as ``err.data``; a dict passed
    alone would reach the page as its Python printout.
    """
    return ConnectionRefusedError(error.code, error.to_dict()["error"])


def disconnect_soon(delay: float = 0.5) -> None:
    """Hang up the current socket once its pending ack has gone out.

    Disconnecting inside the handler would send the DISCONNECT before the
    ack, and the client would never read why.
    """
    sid, namespace = request.sid, request.namespace  # type: ignore[attr-defined]

    def hang_up() -> None:
        socketio.sleep(delay)
        socketio.server.disconnect(sid, namespace=namespace)

    socketio.start_background_task(hang_up)


def same_origin(origin: str, environ: dict[str, Any]) -> bool:
    """Socket.IO's origin check: the page's own origin only.

    The scheme is the request's (ProxyFix sets it from X-Forwarded-Proto only
    when HOTLINE_PROXY_HOPS trusts a proxy); the host is the Host header,
    never a client-supplied X-Forwarded-Host, which python-engineio's default
    check would also accept.
    """
    host = environ.get("HTTP_HOST")
    scheme = environ.get("wsgi.url_scheme", "http")
    return bool(host) and origin == f"{scheme}://{host}"


def _arguments_fit() -> bool:
    # A client may send any number of arguments with an event; too many is
    # bad input, not a crash, so tell it apart from a TypeError in a handler.
    namespace = socketio.server.namespace_handlers.get(request.namespace)
    handler = getattr(namespace, f"on_{request.event['message']}", None)
    if handler is None:
        return True
    try:
        inspect.signature(handler).bind(*request.event["args"])
    except TypeError:
        return False
    return True
