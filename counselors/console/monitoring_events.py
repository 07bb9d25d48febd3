"""``/console`` events for supervisors and live conversations: the list,
watching read-only, whispering to the holder, and joining openly.

A mixin of :class:`counselors.console.namespace.ConsoleNamespace`. A watching
socket joins ``monitor:<conversation id>``, where the dispatcher puts every
message of that conversation; a whisper goes only to the holder's
``counselor:<id>`` room and that room, never to the resident's.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_socketio import join_room, leave_room

from counselors.permissions import requires
from hotline.extensions import db
from hotline.realtime import monitor_room
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
        with db.read() as session:
            live = monitoring.live_conversations(session)
        return {"ok": True, "conversations": [c.to_payload() for c in live]}

    @requires("monitor")
    def on_monitor(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        after_seq = int_field(payload, "after_seq", required=False)
        with db.transaction() as session:
            watched = monitoring.watch(session, conversation_id, _user_id(), after_seq)
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
        with db.transaction() as session:
            sent = monitoring.whisper(session, conversation_id, _user_id(), body)
        return {"ok": True, "note": sent.to_payload()}

    @requires("join_openly")
    def on_join_openly(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        with db.transaction() as session:
            joined = monitoring.join_openly(session, conversation_id, _user_id())
            held = held_conversation(session, conversation_id)
            if joined:
                post_system_message(session, conversation_id, SUPERVISOR_JOINED)
        return {"ok": True, "conversation": held.to_payload()}
