"""The console page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from hotline.labels import console_strings, need_names, outcome_names, role_names

bp = Blueprint("console", __name__, template_folder="../templates")


@bp.get("/console")
@login_required
def index() -> str:
    """The counsellor's workspace; everything live happens over ``/console``."""
    return render_template(
        "console/index.html",
        user=current_user,
        max_chars=current_app.config["MAX_MESSAGE_CHARS"],
        strings=console_strings(),
        role_names=role_names(),
        outcome_names=outcome_names(),
        need_names=need_names(),
    )
