"""The resident page."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from hotline.i18n import LANG_COOKIE
from hotline.labels import crisis_line_names, resident_strings
from hotline.page_config import resident_config
from hotline.resident.api import chat_is_open
from hotline.resident.callbacks_api import slot_payload

bp = Blueprint("resident", __name__)
# For the page frame every page shares (base.html).
bp.add_app_template_global(resident_config)


@bp.get("/")
def index() -> Response:
    """The phone-first chat page; state lives in the browser and the database."""
    page = render_template(
        "resident/index.html",
        crisis_lines=current_app.config["CRISIS_LINES"],
        crisis_line_names=crisis_line_names(),
        quick_exit_url=current_app.config["QUICK_EXIT_URL"],
        callback_slots=slot_payload(),
        chat_open=chat_is_open(),
        chat_hours=current_app.config["CHAT_HOURS"],
        strings=resident_strings(),
    )
    response = current_app.make_response(page)
    # Never kept by any cache, so Back after quick exit cannot show the chat.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/forget")
def forget() -> Response:
    """Quick exit's last step: drop the language cookie, the page's only one.

    The page clears its own storage; this cookie is HttpOnly, so only the
    server can remove it.
    """
    response = current_app.response_class(status=204)
    response.delete_cookie(
        LANG_COOKIE,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
