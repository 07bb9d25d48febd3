"""The resident JSON API (staff sign-in lives in ``counselors.auth``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text

from hotline.extensions import csrf, db, limiter
from hotline.http import json_body
from hotline.realtime import publish_queue
from hotline.services.conversations import SUPPORTED_LANGS, start_conversation
from hotline.validation import choice_field, require_object

bp = Blueprint("api", __name__, url_prefix="/api")
# Residents carry no cookie credentials, so CSRF does not apply to this API.
csrf.exempt(bp)

CHAT_START_LIMIT = "6 per minute;30 per hour"


@bp.post("/chat")
@limiter.limit(CHAT_START_LIMIT)
def start_chat() -> Any:
    """Open an anonymous conversation and return its secret resume token."""
    payload = require_object(json_body())
    lang = choice_field(payload, "lang", SUPPORTED_LANGS, default="zh")
    conversation_id, token = start_conversation(db.session, lang)
    publish_queue(db.session)
    return jsonify({"conversation_id": conversation_id, "token": token}), 201


@bp.get("/health")
def health() -> Any:
    """Liveness for load balancers: the database answers."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"ok": True})
