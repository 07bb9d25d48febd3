"""Socket.IO ``/chat``: a resident's live connection to their conversation."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, request
from flask_socketio import Namespace, emit, join_room
from sqlalchemy.orm import Session

from hotline.dispatcher import position_pushes
from hotline.errors import Blocked, HotlineError, RateLimited
from hotline.extensions import db
from hotline.jobs.presence_watch import LOCAL_SIDS, WORKER
from hotline.metrics import observe_ack
from hotline.models import BlockKind, Sender
from hotline.realtime import connection_state, conversation_room
from hotline.resident.api import blocked_error
from hotline.services import presence, safety_net
from hotline.services.blocks import refuse_if_blocked
from hotline.services.closing import end_by_resident
from hotline.services.conversations import (
    conversation_for_token,
    hash_token,
    messages_after,
    post_message,
    triage_context,
)
from hotline.services.queue import conversation_status
from hotline.services.risk import assess_text
from hotline.sockets import disconnect_soon, refusal
from hotline.throttle import may_send_message
from hotline.validation import client_id_field, int_field, require_object, text_field

SYNC_PAGE = 500


class ChatNamespace(Namespace):
    """Thin handlers: validate, call one service, emit to the right rooms."""

    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            with db.transaction() as session:
                conversation_id = conversation_for_token(session, token)
                token_hash = hash_token(token)
                _refuse_if_blocked(session, token_hash)
                # A page is open: the resident is here (and one who had left
                # the queue queues again).
                presence.resident_connected(
                    session, request.sid, conversation_id, WORKER
                )
                status = conversation_status(
                    session, conversation_id, position_pushes().place(conversation_id)
                )
        except HotlineError as error:
            raise refusal(error) from error
        LOCAL_SIDS.add(request.sid)
        state = connection_state()
        state["conversation_id"] = conversation_id
        state["token_hash"] = token_hash
        join_room(conversation_room(conversation_id))
        emit("status", status.to_payload())

    def on_disconnect(self, reason: Any = None) -> None:
        LOCAL_SIDS.discard(request.sid)
        conversation_id = connection_state().get("conversation_id")
        if conversation_id is not None:
            with db.transaction() as session:
                presence.resident_disconnected(session, request.sid, conversation_id)

    def on_message(self, payload: Any = None) -> dict[str, Any]:
        received = time.perf_counter()
        payload = require_object(payload)
        client_id = client_id_field(payload)
        body = text_field(
            payload, "body", max_chars=current_app.config["MAX_MESSAGE_CHARS"]
        )
        state = connection_state()
        # One budget per conversation, in the shared limit store: more
        # sockets or reconnections on one token do not buy more messages.
        verdict = may_send_message("conversation", str(state["conversation_id"]))
        if not verdict.allowed:
            raise RateLimited(retry_after=verdict.retry_after)
        # Triage runs before the unit of work, so the write lock is not held
        # while the model thinks.
        with db.read() as session:
            context = triage_context(session, state["conversation_id"])
        assessment = assess_text(body, context)
        try:
            # post_message checks the block in its own seq UPDATE: the block
            # costs no statement per message and holds from its commit on.
            with db.transaction() as session:
                posted = post_message(
                    session,
                    state["conversation_id"],
                    sender=Sender.RESIDENT,
                    body=body,
                    client_id=client_id,
                    assessment=assessment,
                )
        except Blocked as error:
            raise _hang_up_blocked() from error
        # Until the unit of work (and the pushes it dispatched) is done.
        observe_ack(time.perf_counter() - received)
        return {"ok": True, "seq": posted.message.seq}

    def on_sync(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        after_seq = int_field(payload, "after_seq")
        state = connection_state()
        conversation_id = state["conversation_id"]
        with db.read() as session:
            _refuse_if_blocked(session, state["token_hash"])
            messages = messages_after(session, conversation_id, after_seq, SYNC_PAGE)
            status = conversation_status(
                session, conversation_id, position_pushes().place(conversation_id)
            )
        return {
            "ok": True,
            "messages": [message.to_payload() for message in messages],
            "has_more": len(messages) == SYNC_PAGE,
            "status": status.to_payload(),
        }

    def on_leave(self, payload: Any = None) -> dict[str, Any]:
        """Quick exit: a waiting resident leaves the queue at once; in an
        active chat the counsellor is told."""
        with db.transaction() as session:
            safety_net.leave(session, connection_state()["conversation_id"])
        return {"ok": True}

    def on_end(self, payload: Any = None) -> dict[str, Any]:
        with db.transaction() as session:
            end_by_resident(session, connection_state()["conversation_id"])
        return {"ok": True}


def _refuse_if_blocked(session: Session, token_hash: str) -> None:
    """A block holds at once: an open socket is refused at its next event
    (with the neutral message and crisis numbers) and then hung up."""
    try:
        refuse_if_blocked(session, BlockKind.TOKEN, token_hash)
    except Blocked as error:
        raise _hang_up_blocked() from error


def _hang_up_blocked() -> HotlineError:
    """The refusal for a blocked resident; an open socket is hung up after it."""
    if connection_state().get("conversation_id") is not None:
        disconnect_soon()
    return blocked_error()
