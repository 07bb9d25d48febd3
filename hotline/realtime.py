"""Room and namespace names, and per-connection state.

Pushes are made by ``hotline.dispatcher``; every emit names its room and
namespace. Residents listen on ``/chat`` in
``conversation:<id>``. Staff listen on ``/console`` in ``counselor:<id>``
(their own conversations and alerts), ``staff`` (the queue), ``responders``
(social workers and supervisors: the escalation list), ``supervisors``, and
``monitor:<conversation id>`` (supervisors watching a chat read-only).
"""

from __future__ import annotations

from typing import Any

from flask import request

CHAT_NAMESPACE = "/chat"
CONSOLE_NAMESPACE = "/console"
STAFF_ROOM = "staff"
RESPONDERS_ROOM = "responders"
SUPERVISORS_ROOM = "supervisors"


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def counselor_room(user_id: int) -> str:
    return f"counselor:{user_id}"


def monitor_room(conversation_id: int) -> str:
    """Supervisors watching a conversation read-only (namespace ``/console``)."""
    return f"monitor:{conversation_id}"


def connection_state() -> dict[str, Any]:
    """Per-connection state of the current socket (lives as long as the socket).

    Flask's session is a per-connection copy that must not be written in
    socket handlers, so identity resolved at connect time is kept here.
    """
    return request.environ.setdefault(f"hotline.{request.namespace}", {})
