"""The resident page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from hotline.api import chat_is_open
from hotline.callbacks_api import slot_payload
from hotline.labels import crisis_line_names, resident_strings

bp = Blueprint("resident", __name__)


@bp.get("/")
def index() -> str:
    """The phone-first chat page; state lives in the browser and the database."""
    return render_template(
        "resident/index.html",
        crisis_lines=current_app.config["CRISIS_LINES"],
        crisis_line_names=crisis_line_names(),
        quick_exit_url=current_app.config["QUICK_EXIT_URL"],
        max_chars=current_app.config["MAX_MESSAGE_CHARS"],
        max_callback_note=current_app.config["MAX_CALLBACK_NOTE_CHARS"],
        callback_slots=slot_payload(),
        chat_open=chat_is_open(),
        chat_hours=current_app.config["CHAT_HOURS"],
        strings=resident_strings(),
    )
