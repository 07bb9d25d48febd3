"""Socket.IO ``/console``: the counsellor's live queue and conversations."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room

from hotline.errors import InvalidInput, RateLimited, Unauthorized
from hotline.extensions import db
from hotline.models import Outcome, Sender
from hotline.realtime import (
    STAFF_ROOM,
    connection_state,
    counselor_room,
    deliver_message,
    publish_held,
    publish_queue,
    publish_status,
)
from hotline.services.closing import (
    NEEDS,
    WrapUpInput,
    add_note,
    close_with_wrap_up,
    list_notes,
)
from hotline.services.conversations import messages_after, post_message
from hotline.services.queue import (
    claim_conversation,
    held_conversations,
    release_conversation,
    require_holder,
    waiting_queue,
)
from hotline.throttle import TokenBucket
from hotline.validation import (
    bool_field,
    choice_field,
    client_id_field,
    int_field,
    require_object,
    text_field,
)

SYNC_PAGE = 500
MAX_NOTE_CHARS = 4000
MAX_SUMMARY_CHARS = 4000


def _user_id() -> int:
    # current_user is reloaded from the database for every event, so a
    # deactivated account loses access at its next event, not at reconnect.
    if not current_user.is_authenticated:
        raise Unauthorized("Your session has ended; please sign in again.")
    return int(current_user.id)


def _conversation_id(payload: dict[str, Any]) -> int:
    return int_field(payload, "conversation_id", minimum=1)


class ConsoleNamespace(Namespace):
    """Thin handlers: validate, call one service, emit to the right rooms."""

    def on_connect(self, auth: Any = None) -> None:
        if not current_user.is_authenticated:
            raise ConnectionRefusedError(
                {"code": "unauthorized", "message": "Please sign in."}
            )
        user_id = int(current_user.id)
        connection_state()["bucket"] = TokenBucket(
            capacity=current_app.config["MESSAGE_BURST"],
            rate=current_app.config["MESSAGE_RATE"],
        )
        join_room(counselor_room(user_id))
        join_room(STAFF_ROOM)
        emit("queue", {"items": [i.to_payload() for i in waiting_queue(db.session)]})
        emit(
            "held",
            {
                "items": [
                    held.to_payload()
                    for held in held_conversations(db.session, user_id)
                ]
            },
        )

    def on_claim(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        held = claim_conversation(db.session, conversation_id, user_id)
        publish_held(user_id, held.to_payload())
        publish_status(db.session, conversation_id)
        publish_queue(db.session)
        return {"ok": True, "conversation": held.to_payload()}

    def on_message(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        client_id = client_id_field(payload)
        body = text_field(
            payload, "body", max_chars=current_app.config["MAX_MESSAGE_CHARS"]
        )
        if not connection_state()["bucket"].take():
            raise RateLimited()
        posted = post_message(
            db.session,
            conversation_id,
            sender=Sender.COUNSELOR,
            body=body,
            client_id=client_id,
            counselor_id=user_id,
        )
        deliver_message(posted.message, posted.holder_id)
        return {"ok": True, "seq": posted.message.seq}

    def on_sync(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        after_seq = int_field(payload, "after_seq")
        require_holder(db.session, conversation_id, user_id)
        messages = messages_after(db.session, conversation_id, after_seq, SYNC_PAGE)
        return {
            "ok": True,
            "messages": [message.to_payload() for message in messages],
            "has_more": len(messages) == SYNC_PAGE,
        }

    def on_release(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        release_conversation(db.session, conversation_id, user_id)
        publish_held(user_id, {"conversation_id": conversation_id, "state": "released"})
        publish_queue(db.session)
        return {"ok": True}

    def on_note(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        body = text_field(payload, "body", max_chars=MAX_NOTE_CHARS)
        note = add_note(db.session, conversation_id, user_id, body)
        return {"ok": True, "note": note.to_payload()}

    def on_notes(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        require_holder(db.session, conversation_id, user_id)
        notes = list_notes(db.session, conversation_id)
        return {"ok": True, "notes": [note.to_payload() for note in notes]}

    def on_close(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        user_id = _user_id()
        conversation_id = _conversation_id(payload)
        wrap_up = _wrap_up(require_object(payload.get("wrap_up")))
        close_with_wrap_up(db.session, conversation_id, user_id, wrap_up)
        publish_status(db.session, conversation_id)
        publish_held(user_id, {"conversation_id": conversation_id, "state": "wrapped"})
        return {"ok": True}


def _wrap_up(payload: dict[str, Any]) -> WrapUpInput:
    outcome = choice_field(
        payload, "outcome", [member.value for member in Outcome], default=None
    )
    needs = payload.get("needs", [])
    if not isinstance(needs, list) or any(need not in NEEDS for need in needs):
        raise InvalidInput(
            f"'needs' must be a list of {', '.join(NEEDS)}.", field="needs"
        )
    return WrapUpInput(
        outcome=Outcome(outcome),
        needs=tuple(dict.fromkeys(needs)),
        follow_up=bool_field(payload, "follow_up"),
        summary=text_field(
            payload, "summary", max_chars=MAX_SUMMARY_CHARS, required=False
        ),
    )
