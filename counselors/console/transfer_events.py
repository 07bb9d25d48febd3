"""``/console`` events that hand a conversation over: the colleague picker,
warm transfers (offer, accept, decline, withdraw) and back to the queue.

A mixin of :class:`counselors.console.namespace.ConsoleNamespace`. Offers
and their answers reach both people in their ``counselor:<id>`` rooms, so
every tab and every worker sees them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user

from counselors.permissions import requires
from hotline.extensions import db, socketio
from hotline.realtime import (
    CONSOLE_NAMESPACE,
    counselor_room,
    deliver_message,
    publish_held,
    publish_queue,
    publish_status,
)
from hotline.services import transfers
from hotline.services.conversations import post_system_message
from hotline.services.queue import LoadLimits, held_conversation
from hotline.validation import int_field, require_object, text_field

# The notice residents see when a colleague takes their conversation over.
COUNSELOR_CHANGED = "counselor_changed"


def _user_id() -> int:
    return int(current_user.id)


def _transfer_id(payload: dict[str, Any]) -> int:
    return int_field(payload, "transfer_id", minimum=1)


def _note(payload: dict[str, Any], *, required: bool = False) -> str:
    return text_field(
        payload, "note", max_chars=transfers.MAX_NOTE_CHARS, required=required
    )


def _tell(event: str, payload: dict[str, Any], *user_ids: int) -> None:
    for user_id in dict.fromkeys(user_ids):
        socketio.emit(
            event, payload, to=counselor_room(user_id), namespace=CONSOLE_NAMESPACE
        )


def pending_transfers(user_id: int) -> dict[str, Any]:
    """The ``transfers`` push on connect: offers still waiting, both ways."""
    incoming, outgoing = transfers.pending(db.session, user_id)
    return {
        "incoming": [view.to_payload() for view in incoming],
        "outgoing": [view.to_payload() for view in outgoing],
    }


class TransferEvents:
    @requires("colleagues")
    def on_colleagues(self, payload: Any = None) -> dict[str, Any]:
        found = transfers.colleagues(db.session, _user_id())
        return {"ok": True, "colleagues": [c.to_payload() for c in found]}

    @requires("transfer")
    def on_transfer(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        view = transfers.offer(
            db.session,
            int_field(payload, "conversation_id", minimum=1),
            _user_id(),
            int_field(payload, "to_user_id", minimum=1),
            _note(payload),
        )
        body = view.to_payload()
        _tell("transfer_offer", body, view.to_id)
        _tell("transfer_update", body, view.from_id)
        return {"ok": True, "transfer": body}

    @requires("transfer_accept")
    def on_transfer_accept(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        view = transfers.accept(
            db.session,
            _transfer_id(payload),
            user_id,
            LoadLimits.from_config(current_app.config),
        )
        conversation_id = view.conversation_id
        held = held_conversation(db.session, conversation_id)
        publish_held(user_id, held.to_payload())
        publish_held(
            view.from_id,
            {
                "conversation_id": conversation_id,
                "state": "transferred",
                "to_name": view.to_name,
            },
        )
        body = view.to_payload()
        _tell("transfer_update", body, view.from_id, view.to_id)
        if view.kind == "chat":
            notice = post_system_message(db.session, conversation_id, COUNSELOR_CHANGED)
            deliver_message(db.session, notice, user_id)
        return {"ok": True, "transfer": body, "conversation": held.to_payload()}

    @requires("transfer_decline")
    def on_transfer_decline(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        view = transfers.decline(
            db.session, _transfer_id(payload), _user_id(), _note(payload)
        )
        body = view.to_payload()
        _tell("transfer_update", body, view.from_id, view.to_id)
        return {"ok": True, "transfer": body}

    @requires("transfer_cancel")
    def on_transfer_cancel(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        view = transfers.cancel(db.session, _transfer_id(payload), _user_id())
        body = view.to_payload()
        _tell("transfer_update", body, view.from_id, view.to_id)
        return {"ok": True, "transfer": body}

    @requires("transfer_to_queue")
    def on_transfer_to_queue(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = int_field(payload, "conversation_id", minimum=1)
        withdrawn = transfers.to_queue(
            db.session, conversation_id, _user_id(), _note(payload, required=True)
        )
        publish_held(
            _user_id(), {"conversation_id": conversation_id, "state": "released"}
        )
        if withdrawn is not None:
            _tell(
                "transfer_update",
                withdrawn.to_payload(),
                withdrawn.from_id,
                withdrawn.to_id,
            )
        publish_status(db.session, conversation_id)
        publish_queue(db.session)
        return {"ok": True}
