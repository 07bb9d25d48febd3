"""Room names and the server pushes every part of the app shares.

Every emit names its room and namespace. Residents listen on ``/chat`` in
``conversation:<id>``; staff listen on ``/console`` in ``counselor:<id>``
(their own conversations) and ``staff`` (the queue).
"""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy.orm import Session

from hotline.extensions import socketio
from hotline.services.conversations import MessageView
from hotline.services.queue import conversation_status, waiting_queue

CHAT_NAMESPACE = "/chat"
CONSOLE_NAMESPACE = "/console"
STAFF_ROOM = "staff"


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def counselor_room(user_id: int) -> str:
    return f"counselor:{user_id}"


def connection_state() -> dict[str, Any]:
    """Per-connection state of the current socket (lives as long as the socket).

    Flask's session is a per-connection copy that must not be written in
    socket handlers, so identity resolved at connect time is kept here.
    """
    return request.environ.setdefault(f"hotline.{request.namespace}", {})


def deliver_message(message: MessageView, holder_id: int | None) -> None:
    """Push a stored message to the resident and to the counsellor holding it."""
    payload = message.to_payload()
    socketio.emit(
        "message",
        payload,
        to=conversation_room(message.conversation_id),
        namespace=CHAT_NAMESPACE,
    )
    if holder_id is not None:
        socketio.emit(
            "message",
            payload,
            to=counselor_room(holder_id),
            namespace=CONSOLE_NAMESPACE,
        )


def publish_status(session: Session, conversation_id: int) -> None:
    """Tell the resident their conversation's state and queue position."""
    status = conversation_status(session, conversation_id)
    socketio.emit(
        "status",
        status.to_payload(),
        to=conversation_room(conversation_id),
        namespace=CHAT_NAMESPACE,
    )


def publish_queue(session: Session) -> None:
    """Push the whole queue to staff and fresh positions to waiting residents."""
    items = waiting_queue(session)
    socketio.emit(
        "queue",
        {"items": [item.to_payload() for item in items]},
        to=STAFF_ROOM,
        namespace=CONSOLE_NAMESPACE,
    )
    for position, item in enumerate(items, 1):
        socketio.emit(
            "status",
            {"state": "waiting", "position": position},
            to=conversation_room(item.conversation_id),
            namespace=CHAT_NAMESPACE,
        )


def publish_held(holder_id: int, payload: dict[str, Any]) -> None:
    """Tell every console tab of a counsellor that one of their chats changed."""
    socketio.emit(
        "conversation",
        payload,
        to=counselor_room(holder_id),
        namespace=CONSOLE_NAMESPACE,
    )
