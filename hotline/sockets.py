"""The one Socket.IO error handler: every failure becomes an error ack."""

from __future__ import annotations

import logging
from typing import Any

from flask import request

from hotline.errors import HotlineError, InternalError

logger = logging.getLogger(__name__)


def handle_socket_error(error: Exception) -> dict[str, Any]:
    """Ack ``{"ok": false, "error": {...}}``; the connection stays up."""
    if not isinstance(error, HotlineError):
        logger.exception(
            "unhandled error in %s %s", request.namespace, request.event["message"]
        )
        error = InternalError()
    return {"ok": False, **error.to_dict()}
