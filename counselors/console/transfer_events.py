"""``/console`` events that hand a conversation over: the colleague picker,
warm transfers (offer, accept, decline, withdraw) and back to the queue.

A mixin of :class:`counselors.console.namespace.ConsoleNamespace`. Offers
and their answers reach both people in their ``counselor:<id>`` rooms, so
every tab and every worker sees them (``hotline.dispatcher`` sends them).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user

from counselors.permissions import requires
from hotline.errors import TransferStale
from hotline.extensions import db
from hotline.services import transfers
from hotline.services.queue import LoadLimits, held_conversation
from hotline.validation import int_field, require_object, text_field


def _user_id() -> int:
    return int(current_user.id)


def _transfer_id(payload: dict[str, Any]) -> int:
    return int_field(payload, "transfer_id", minimum=1)


def _note(payload: dict[str, Any], *, required: bool = False) -> str:
    return text_field(
        payload, "note", max_chars=transfers.MAX_NOTE_CHARS, required=required
    )


def pending_transfers(user_id: int) -> dict[str, Any]:
    """The ``transfers`` push on connect: offers still waiting, both ways."""
    with db.read() as session:
        incoming, outgoing = transfers.pending(session, user_id)
    return {
        "incoming": [view.to_payload() for view in incoming],
        "outgoing": [view.to_payload() for view in outgoing],
    }


class TransferEvents:
    @requires("colleagues")
    def on_colleagues(self, payload: Any = None) -> dict[str, Any]:
        with db.read() as session:
            found = transfers.colleagues(session, _user_id())
        return {"ok": True, "colleagues": [c.to_payload() for c in found]}

    @requires("transfer")
    def on_transfer(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = int_field(payload, "conversation_id", minimum=1)
        to_id = int_field(payload, "to_user_id", minimum=1)
        note = _note(payload)
        with db.transaction() as session:
            view = transfers.offer(session, conversation_id, _user_id(), to_id, note)
        return {"ok": True, "transfer": view.to_payload()}

    @requires("transfer_accept")
    def on_transfer_accept(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        transfer_id = _transfer_id(payload)
        limits = LoadLimits.from_config(current_app.config)
        try:
            with db.transaction() as session:
                view = transfers.accept(session, transfer_id, _user_id(), limits)
                held = held_conversation(session, view.conversation_id)
        except TransferStale:
            # The offer can never succeed now: close it so it stops blocking.
            with db.transaction() as session:
                transfers.withdraw_stale(session, transfer_id)
            raise
        return {
            "ok": True,
            "transfer": view.to_payload(),
            "conversation": held.to_payload(),
        }

    @requires("transfer_decline")
    def on_transfer_decline(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        transfer_id = _transfer_id(payload)
        note = _note(payload)
        with db.transaction() as session:
            view = transfers.decline(session, transfer_id, _user_id(), note)
        return {"ok": True, "transfer": view.to_payload()}

    @requires("transfer_cancel")
    def on_transfer_cancel(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        transfer_id = _transfer_id(payload)
        with db.transaction() as session:
            view = transfers.cancel(session, transfer_id, _user_id())
        return {"ok": True, "transfer": view.to_payload()}

    @requires("transfer_to_queue")
    def on_transfer_to_queue(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = int_field(payload, "conversation_id", minimum=1)
        note = _note(payload, required=True)
        with db.transaction() as session:
            transfers.to_queue(session, conversation_id, _user_id(), note)
        return {"ok": True}
