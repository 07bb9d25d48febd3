"""Room names and the server pushes every part of the app shares.

Every emit names its room and namespace. Residents listen on ``/chat`` in
``conversation:<id>``. Staff listen on ``/console`` in ``counselor:<id>``
(their own conversations and alerts), ``staff`` (the queue), ``responders``
(social workers and supervisors: the escalation list), ``supervisors``, and
``monitor:<conversation id>`` (supervisors watching a chat read-only).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from hotline.extensions import socketio
from hotline.services import escalations
from hotline.services.conversations import MessageView, joined_staff
from hotline.services.queue import (
    conversation_status,
    estimate_minutes,
    service_pace,
    waiting_queue,
)

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


def _to_console(event: str, payload: Any, room: str) -> None:
    socketio.emit(event, payload, to=room, namespace=CONSOLE_NAMESPACE)


def deliver_message(
    session: Session,
    message: MessageView,
    holder_id: int | None,
    *,
    staff_joined: bool = True,
) -> None:
    """Push a stored message to the resident and to the staff in the chat.

    ``session`` only reads (who joined), so it may be ``db.read_session``.
    With ``staff_joined`` False (the conversation's flag, read in the
    message's own UPDATE) nobody besides the holder joined, and the lookup
    is skipped.
    """
    socketio.emit(
        "message",
        message.to_payload(),
        to=conversation_room(message.conversation_id),
        namespace=CHAT_NAMESPACE,
    )
    # Looked up after the commit, so a responder or supervisor whose join
    # committed before this point gets the message, and one who joins later
    # finds it in their sync. A join sets the flag on the conversation row
    # that the message's seq UPDATE also writes, so the two are ordered: a
    # join committed first is seen in the flag, a later one waits for the
    # message's commit and then finds it in its sync.
    staff = {holder_id}
    if staff_joined:
        staff |= joined_staff(session, message.conversation_id)
    staff_payload = message.to_payload(for_staff=True)
    for user_id in staff - {None}:
        _to_console("message", staff_payload, counselor_room(user_id))
    _to_console("message", staff_payload, monitor_room(message.conversation_id))


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
    _to_console("queue", {"items": [item.to_payload() for item in items]}, STAFF_ROOM)
    pace = service_pace(session) if items else None
    for position, item in enumerate(items, 1):
        socketio.emit(
            "status",
            {
                "state": "waiting",
                "position": position,
                "estimated_minutes": estimate_minutes(position, pace),
            },
            to=conversation_room(item.conversation_id),
            namespace=CHAT_NAMESPACE,
        )


def publish_held(holder_id: int, payload: dict[str, Any]) -> None:
    """Tell every console tab of a staff member that one of their chats changed."""
    _to_console("conversation", payload, counselor_room(holder_id))


def publish_escalations(session: Session) -> None:
    """Push the live escalation list (open and in hand) to responders."""
    _to_console("escalations", escalation_snapshot(session), RESPONDERS_ROOM)


def escalation_snapshot(session: Session) -> dict[str, Any]:
    """Open and acknowledged escalations, oldest first, with the target."""
    return {
        "target_seconds": current_app.config["ESCALATION_ACK_TARGET_SECONDS"],
        "open": [e.to_payload() for e in escalations.list_escalations(session, "open")],
        "acknowledged": [
            e.to_payload()
            for e in escalations.list_escalations(session, "acknowledged")
        ],
    }


def alert_escalation(
    session: Session, escalation_id: int, *, repeat: bool, publish: bool = True
) -> str:
    """Alert the people who must act; never silent. Returns who was alerted.

    On-duty social workers first; supervisors on duty when no social worker
    is; when nobody is on duty the resident is shown emergency contacts at
    once, and the escalation stays open for whoever comes on duty next.
    ``publish=False`` leaves the responders' list to the caller: a batch of
    re-alerts should send it once, not once per escalation (each list holds
    every open escalation, so N re-alerts would cost N² rows).
    """
    view = escalations.get(session, escalation_id)
    payload = {**view.to_payload(), "repeat": repeat}
    social_workers, supervisors = escalations.responders_on_duty(session)
    recipients = social_workers or supervisors
    for user_id in recipients:
        _to_console("escalation", payload, counselor_room(user_id))
    if publish:
        publish_escalations(session)
    if recipients:
        return "social_workers" if social_workers else "supervisors"
    # Every time nobody can be alerted, the resident sees where to get help.
    show_crisis_contacts(view.conversation_id)
    return "nobody"


def crisis_lines() -> list[dict[str, str]]:
    """The configured emergency numbers, keyed for the pages to label."""
    return [
        {"key": key, "number": number}
        for key, number in current_app.config["CRISIS_LINES"]
    ]


def show_crisis_contacts(conversation_id: int) -> None:
    """Show the resident the emergency numbers right away."""
    socketio.emit(
        "crisis_contacts",
        {"lines": crisis_lines()},
        to=conversation_room(conversation_id),
        namespace=CHAT_NAMESPACE,
    )
