"""The resident JSON API (staff sign-in lives in ``counselors.auth``)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from hotline.dispatcher import crisis_lines
from hotline.errors import Blocked, InvalidInput, OutsideHours
from hotline.extensions import csrf, db, limiter
from hotline.http import bearer_token, json_body
from hotline.models import BlockKind, utcnow
from hotline.services import history, surveys
from hotline.services.blocks import refuse_if_blocked, remember_address
from hotline.services.callback_windows import ServiceHours, is_open
from hotline.services.conversations import SUPPORTED_LANGS, start_conversation
from hotline.validation import choice_field, require_object, text_field

bp = Blueprint("api", __name__, url_prefix="/api")
# Residents carry no cookie credentials, so CSRF does not apply to this API.
csrf.exempt(bp)

CHAT_START_LIMIT = "6 per minute;30 per hour"
SURVEY_LIMIT = "10 per hour"
MAX_SURVEY_COMMENT = 1000


@bp.post("/chat")
@limiter.limit(CHAT_START_LIMIT)
def start_chat() -> Any:
    """Open an anonymous conversation and return its secret resume token."""
    payload = require_object(json_body())
    lang = choice_field(payload, "lang", SUPPORTED_LANGS, default="zh")
    if not chat_is_open():
        raise OutsideHours("hours", hours=current_app.config["CHAT_HOURS"])
    # A returning resident's page sends the earlier conversation's token
    # only when they agreed to share it with the next counsellor.
    address = client_address_hash()
    try:
        with db.transaction() as session:
            # A blocked chat's address is refused too, with or without the
            # earlier token, for as long as the block lasts.
            refuse_if_blocked(session, BlockKind.ADDRESS, address)
            previous_id = history.previous_for_chat(
                session, payload.get("previous_token")
            )
            conversation_id, token = start_conversation(
                session,
                lang,
                previous_id,
                max_waiting=current_app.config["MAX_WAITING_CHATS"],
            )
            remember_address(session, conversation_id, address)
    except Blocked as error:
        raise blocked_error() from error
    return jsonify({"conversation_id": conversation_id, "token": token}), 201


def client_address_hash() -> str | None:
    """A keyed hash of the client's address (never the address itself): what
    an address block matches. Behind a proxy, the address ProxyFix trusted."""
    address = request.remote_addr
    if not address:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"address:{address}".encode(), hashlib.sha256).hexdigest()


def blocked_error() -> Blocked:
    """What a blocked resident is told: neutral, with the crisis numbers."""
    return Blocked(crisis_contacts=crisis_lines())


def chat_is_open() -> bool:
    """Whether live chat is open now (``HOTLINE_CHAT_HOURS``; empty is always)."""
    hours = current_app.config["CHAT_HOURS"]
    if not hours:
        return True
    config = current_app.config
    # Slot length does not matter for opening hours.
    return is_open(ServiceHours.parse(hours, 60, config["TIMEZONE"]), utcnow())


@bp.post("/surveys")
@limiter.limit(SURVEY_LIMIT)
def answer_survey() -> Any:
    """The resident's anonymous feedback on a conversation that has ended;
    the conversation's own token (chat or callback) authorises it."""
    payload = require_object(json_body())
    helpfulness = payload.get("helpfulness")
    if isinstance(helpfulness, bool) or helpfulness not in (1, 2, 3, 4, 5):
        raise InvalidInput("helpfulness", field="helpfulness")
    answers = surveys.SurveyAnswers(
        helpfulness=helpfulness,
        feels_safer=_optional_choice(payload, "feels_safer", surveys.FEELS_SAFER),
        comment=text_field(
            payload, "comment", max_chars=MAX_SURVEY_COMMENT, required=False
        ),
    )
    with db.transaction() as session:
        surveys.submit(session, bearer_token(), answers)
    return jsonify({"ok": True}), 201


def _optional_choice(
    payload: dict[str, Any], name: str, choices: tuple[str, ...]
) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    return choice_field(payload, name, choices, default=None)


@bp.get("/health")
def health() -> Any:
    """Liveness for load balancers: the database answers."""
    with db.read() as session:
        session.execute(text("SELECT 1"))
    return jsonify({"ok": True})
