"""The resident's callback API: book, check and cancel a call back.

``POST /api/callbacks`` (DESIGN §3) returns an id and a secret token; the
token (``Authorization: Bearer ...``) reads the status and cancels. Errors
carry messages in the resident's language, and never echo the number.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify

from hotline.dispatcher import crisis_lines
from hotline.errors import Blocked, InvalidInput
from hotline.extensions import csrf, db, limiter, phone_vault
from hotline.http import bearer_token, json_body
from hotline.models import RiskLevel, utcnow
from hotline.phones import parse_phone
from hotline.resident.api import blocked_error
from hotline.services import callbacks
from hotline.services.callback_windows import (
    ServiceHours,
    check_window,
    parse_instant,
    slots,
)
from hotline.services.conversations import SUPPORTED_LANGS
from hotline.services.risk import assess_text
from hotline.validation import bool_field, choice_field, require_object, text_field

bp = Blueprint("callbacks_api", __name__, url_prefix="/api/callbacks")
# Residents carry no cookie credentials, so CSRF does not apply to this API.
csrf.exempt(bp)


def service_hours() -> ServiceHours:
    config = current_app.config
    return ServiceHours.parse(
        config["CALLBACK_HOURS"], config["CALLBACK_SLOT_MINUTES"], config["TIMEZONE"]
    )


def slot_payload() -> dict[str, Any]:
    """The bookable slots, as the form and ``GET /api/callbacks/slots`` list them."""
    hours = service_hours()
    return {
        "timezone": hours.zone.key,
        "slots": [slot.to_payload() for slot in slots(hours, utcnow())],
    }


def _rules() -> callbacks.CallbackRules:
    return callbacks.CallbackRules.from_config(current_app.config)


def _request_from(payload: dict[str, Any]) -> callbacks.CallbackRequest:
    if payload.get("consent") is not True:
        raise InvalidInput("consent", field="consent")
    phone = parse_phone(payload.get("phone"))
    start = parse_instant(payload.get("window_start"))
    end = parse_instant(payload.get("window_end"))
    max_ahead = timedelta(hours=current_app.config["CALLBACK_MAX_AHEAD_HOURS"])
    check_window(start, end, utcnow(), max_ahead)
    max_note = current_app.config["MAX_CALLBACK_NOTE_CHARS"]
    note = payload.get("note")
    if isinstance(note, str) and len(note) > max_note:
        raise InvalidInput("callback_note", field="note", max_chars=max_note)
    return callbacks.CallbackRequest(
        phone=phone,
        window_start=start,
        window_end=end,
        lang=choice_field(payload, "lang", SUPPORTED_LANGS, default="zh"),
        note=text_field(payload, "note", max_chars=max_note, required=False),
        may_leave_message=bool_field(payload, "may_leave_message"),
        may_say_hotline=bool_field(payload, "may_say_hotline"),
        share_history=bool_field(payload, "share_history"),
    )


@bp.get("/slots")
def list_slots() -> Any:
    return jsonify(slot_payload())


@bp.post("")
@limiter.limit(lambda: current_app.config["CALLBACK_IP_LIMIT"])
def request_callback() -> Any:
    """Book a callback; a crisis note escalates at once and the answer
    carries the crisis numbers to show."""
    callback_request = _request_from(require_object(json_body()))
    assessment = assess_text(callback_request.note) if callback_request.note else None
    try:
        with db.transaction() as session:
            created = callbacks.request_callback(
                session,
                phone_vault(),
                callback_request,
                assessment=assessment,
                rules=_rules(),
            )
    except Blocked as error:
        raise blocked_error() from error
    body: dict[str, Any] = {
        "callback_id": created.callback_id,
        "token": created.token,
    }
    if created.risk_level is RiskLevel.CRISIS:
        body["crisis_contacts"] = crisis_lines()
    return jsonify(body), 201


@bp.get("/<int:callback_id>")
def callback_status(callback_id: int) -> Any:
    with db.read() as session:
        view = callbacks.resident_view(session, callback_id, bearer_token())
    body = view.to_payload()
    if view.urgent:
        body["crisis_contacts"] = crisis_lines()
    return jsonify(body)


@bp.post("/<int:callback_id>/cancel")
def cancel_callback(callback_id: int) -> Any:
    token = bearer_token()
    with db.transaction() as session:
        callbacks.cancel(session, callback_id, token)
    with db.read() as session:
        view = callbacks.resident_view(session, callback_id, token)
    return jsonify(view.to_payload())
