"""The one Socket.IO error handler: every failure becomes an error ack."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError

from hotline.errors import HotlineError, InternalError

logger = logging.getLogger(__name__)


def handle_socket_error(error: Exception) -> dict[str, Any]:
    """Ack ``{"ok": false, "error": {...}}``; the connection stays up.

    A failure while connecting refuses the connection instead: whatever this
    handler returns, python-socketio would otherwise accept it, half set up.
    """
    if not isinstance(error, HotlineError):
        logger.exception(
            "unhandled error in %s %s", request.namespace, request.event["message"]
        )
        error = InternalError()
    if request.event["message"] == "connect":
        raise ConnectionRefusedError(error.to_dict()["error"]) from error
    return {"ok": False, **error.to_dict()}
