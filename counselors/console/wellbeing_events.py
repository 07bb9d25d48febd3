"""``/console`` events that look after staff and residents' continuity:
breaks, debrief requests, and a returning resident's earlier contacts.

A mixin of :class:`counselors.console.namespace.ConsoleNamespace`, kept apart
so that the namespace module stays readable.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from counselors.permissions import requires
from hotline.extensions import db, socketio
from hotline.realtime import CONSOLE_NAMESPACE, SUPERVISORS_ROOM, counselor_room
from hotline.services import history, wellbeing
from hotline.validation import int_field, require_object, text_field

MAX_DEBRIEF_NOTE = 1000


def _user_id() -> int:
    return int(current_user.id)


def _tell_supervisors(view: wellbeing.DebriefView) -> dict[str, Any]:
    """Push a debrief request's news to supervisors; the event's ack."""
    payload = view.to_payload()
    socketio.emit("debrief", payload, to=SUPERVISORS_ROOM, namespace=CONSOLE_NAMESPACE)
    return {"ok": True, "debrief": payload}


class WellbeingEvents:
    @requires("pause")
    def on_pause(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        minutes = int_field(payload, "minutes", minimum=1)
        until = wellbeing.start_break(db.session, _user_id(), minutes)
        body = {"on_break_until": until.isoformat()}
        # Every tab of this person shows the break (and disables claiming).
        socketio.emit(
            "break", body, to=counselor_room(_user_id()), namespace=CONSOLE_NAMESPACE
        )
        return {"ok": True, **body}

    @requires("resume")
    def on_resume(self, payload: Any = None) -> dict[str, Any]:
        wellbeing.end_break(db.session, _user_id())
        body = {"on_break_until": None}
        socketio.emit(
            "break", body, to=counselor_room(_user_id()), namespace=CONSOLE_NAMESPACE
        )
        return {"ok": True, **body}

    @requires("debrief")
    def on_debrief(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = payload.get("conversation_id")
        if conversation_id is not None:
            conversation_id = int_field(payload, "conversation_id", minimum=1)
        note = text_field(payload, "note", max_chars=MAX_DEBRIEF_NOTE, required=False)
        view = wellbeing.request_debrief(db.session, _user_id(), conversation_id, note)
        return _tell_supervisors(view)

    @requires("debrief_handled")
    def on_debrief_handled(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        debrief_id = int_field(payload, "debrief_id", minimum=1)
        view = wellbeing.handle_debrief(db.session, debrief_id, _user_id())
        return _tell_supervisors(view)

    @requires("history")
    def on_history(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = int_field(payload, "conversation_id", minimum=1)
        contacts = history.earlier_contacts(db.session, conversation_id, _user_id())
        return {"ok": True, "earlier": [c.to_payload() for c in contacts]}
