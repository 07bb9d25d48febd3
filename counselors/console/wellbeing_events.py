"""``/console`` events that look after staff and residents' continuity:
breaks, debrief requests, and a returning resident's earlier contacts.

A mixin of :class:`counselors.console.namespace.ConsoleNamespace`, kept apart
so that the namespace module stays readable.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from counselors.permissions import requires
from hotline.extensions import db
from hotline.services import history, wellbeing
from hotline.validation import int_field, require_object, text_field

MAX_DEBRIEF_NOTE = 1000


def _user_id() -> int:
    return int(current_user.id)


class WellbeingEvents:
    @requires("pause")
    def on_pause(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        minutes = int_field(payload, "minutes", minimum=1)
        with db.transaction() as session:
            until = wellbeing.start_break(session, _user_id(), minutes)
        return {"ok": True, "on_break_until": until.isoformat()}

    @requires("resume")
    def on_resume(self, payload: Any = None) -> dict[str, Any]:
        with db.transaction() as session:
            wellbeing.end_break(session, _user_id())
        return {"ok": True, "on_break_until": None}

    @requires("debrief")
    def on_debrief(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = payload.get("conversation_id")
        if conversation_id is not None:
            conversation_id = int_field(payload, "conversation_id", minimum=1)
        note = text_field(payload, "note", max_chars=MAX_DEBRIEF_NOTE, required=False)
        with db.transaction() as session:
            view = wellbeing.request_debrief(session, _user_id(), conversation_id, note)
        return {"ok": True, "debrief": view.to_payload()}

    @requires("debrief_handled")
    def on_debrief_handled(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        debrief_id = int_field(payload, "debrief_id", minimum=1)
        with db.transaction() as session:
            view = wellbeing.handle_debrief(session, debrief_id, _user_id())
        return {"ok": True, "debrief": view.to_payload()}

    @requires("history")
    def on_history(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = int_field(payload, "conversation_id", minimum=1)
        with db.transaction() as session:
            contacts = history.earlier_contacts(session, conversation_id, _user_id())
        return {"ok": True, "earlier": [c.to_payload() for c in contacts]}
