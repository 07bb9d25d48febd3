"""``/console`` events for supervisors and live conversations: the list,
watching read-only, whispering to the holder, and joining openly.

A mixin of :class:`counselors.console.namespace.ConsoleNamespace`. A watching
socket joins ``monitor:<conversation id>``, where ``deliver_message`` puts
every message of that conversation; a whisper goes only to the holder's
``counselor:<id>`` room and that room, never to the resident's.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_socketio import join_room, leave_room

from counselors.permissions import requires
from hotline.extensions import db, socketio
from hotline.realtime import (
    CONSOLE_NAMESPACE,
    counselor_room,
    deliver_message,
    monitor_room,
    publish_held,
)
from hotline.services import monitoring
from hotline.services.conversations import post_system_message
from hotline.services.queue import held_conversation
from hotline.validation import int_field, require_object, text_field

# The notice residents see when a supervisor joins their chat.
SUPERVISOR_JOINED = "supervisor_joined"


def _user_id() -> int:
    return int(current_user.id)


def _conversation_id(payload: dict[str, Any]) -> int:
    return int_field(payload, "conversation_id", minimum=1)


class MonitoringEvents:
    @requires("live_conversations")
    def on_live_conversations(self, payload: Any = None) -> dict[str, Any]:
        live = monitoring.live_conversations(db.session)
        return {"ok": True, "conversations": [c.to_payload() for c in live]}

    @requires("monitor")
    def on_monitor(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        after_seq = int_field(payload, "after_seq", required=False)
        watched = monitoring.watch(db.session, conversation_id, _user_id(), after_seq)
        # Joined after the read: a message stored in between arrives twice at
        # most, and pages drop seqs they already hold.
        join_room(monitor_room(conversation_id))
        return {"ok": True, **watched.to_payload()}

    @requires("unmonitor")
    def on_unmonitor(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        leave_room(monitor_room(_conversation_id(payload)))
        return {"ok": True}

    @requires("whisper")
    def on_whisper(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        body = text_field(payload, "body", max_chars=monitoring.MAX_WHISPER_CHARS)
        sent = monitoring.whisper(db.session, conversation_id, _user_id(), body)
        note = sent.to_payload()
        for room in (counselor_room(sent.holder_id), monitor_room(conversation_id)):
            socketio.emit("whisper", note, to=room, namespace=CONSOLE_NAMESPACE)
        return {"ok": True, "note": note}

    @requires("join_openly")
    def on_join_openly(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        user_id = _user_id()
        joined = monitoring.join_openly(db.session, conversation_id, user_id)
        held = held_conversation(db.session, conversation_id)
        publish_held(user_id, held.to_payload())
        if joined:
            notice = post_system_message(db.session, conversation_id, SUPERVISOR_JOINED)
            deliver_message(db.session, notice, held.holder_id)
        return {"ok": True, "conversation": held.to_payload()}
