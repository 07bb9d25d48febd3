"""Socket.IO ``/chat``: a resident's live connection to their conversation."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room

from hotline.api import blocked_error
from hotline.errors import HotlineError, RateLimited
from hotline.extensions import db
from hotline.models import BlockKind, Sender
from hotline.realtime import (
    alert_escalation,
    connection_state,
    conversation_room,
    deliver_message,
    publish_held,
    publish_queue,
    publish_status,
)
from hotline.services.blocks import is_blocked
from hotline.services.closing import end_by_resident
from hotline.services.conversations import (
    PostedMessage,
    conversation_for_token,
    hash_token,
    messages_after,
    post_message,
)
from hotline.services.queue import conversation_status
from hotline.services.risk import assess_text
from hotline.throttle import TokenBucket
from hotline.validation import client_id_field, int_field, require_object, text_field

SYNC_PAGE = 500


class ChatNamespace(Namespace):
    """Thin handlers: validate, call one service, emit to the right rooms."""

    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            conversation_id = conversation_for_token(db.session, token)
            if is_blocked(db.session, BlockKind.TOKEN, hash_token(token)):
                raise blocked_error()
        except HotlineError as error:
            raise ConnectionRefusedError(error.to_dict()["error"]) from error
        state = connection_state()
        state["conversation_id"] = conversation_id
        state["bucket"] = TokenBucket(
            capacity=current_app.config["MESSAGE_BURST"],
            rate=current_app.config["MESSAGE_RATE"],
        )
        join_room(conversation_room(conversation_id))
        emit("status", conversation_status(db.session, conversation_id).to_payload())

    def on_message(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        client_id = client_id_field(payload)
        body = text_field(
            payload, "body", max_chars=current_app.config["MAX_MESSAGE_CHARS"]
        )
        state = connection_state()
        if not state["bucket"].take():
            raise RateLimited()
        posted = post_message(
            db.session,
            state["conversation_id"],
            sender=Sender.RESIDENT,
            body=body,
            client_id=client_id,
            assessment=assess_text(body),
        )
        # Re-delivered on a resend too: the first delivery may have been lost
        # with a dying worker, and clients drop seqs they already have.
        # Who else is in the chat is read after the commit, without the
        # write lock (hotline.database).
        deliver_message(
            db.read_session,
            posted.message,
            posted.holder_id,
            staff_joined=posted.staff_joined,
        )
        if posted.escalation_id is not None:
            alert_escalation(db.session, posted.escalation_id, repeat=False)
        if posted.created and posted.holder_id is None:
            publish_queue(db.session)
        elif posted.created and posted.risk_raised:
            publish_held(posted.holder_id, _held_update(posted))
        return {"ok": True, "seq": posted.message.seq}

    def on_sync(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        after_seq = int_field(payload, "after_seq")
        conversation_id = connection_state()["conversation_id"]
        messages = messages_after(db.session, conversation_id, after_seq, SYNC_PAGE)
        status = conversation_status(db.session, conversation_id)
        return {
            "ok": True,
            "messages": [message.to_payload() for message in messages],
            "has_more": len(messages) == SYNC_PAGE,
            "status": status.to_payload(),
        }

    def on_end(self, payload: Any = None) -> dict[str, Any]:
        conversation_id = connection_state()["conversation_id"]
        holder_id = end_by_resident(db.session, conversation_id)
        publish_status(db.session, conversation_id)
        if holder_id is None:
            publish_queue(db.session)
        else:
            publish_held(
                holder_id, {"conversation_id": conversation_id, "state": "closed"}
            )
        return {"ok": True}


def _held_update(posted: PostedMessage) -> dict[str, Any]:
    return {
        "conversation_id": posted.message.conversation_id,
        "state": str(posted.state),
        "risk_level": str(posted.risk_level),
    }
