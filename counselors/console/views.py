"""The console page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from counselors.permissions import may
from hotline.labels import (
    call_outcome_names,
    console_strings,
    escalation_outcome_names,
    need_names,
    outcome_names,
    risk_level_names,
    role_names,
)

bp = Blueprint("console", __name__, template_folder="../templates")


@bp.get("/console")
@login_required
def index() -> Any:
    """The counsellor's workspace; everything live happens over ``/console``."""
    if not may("console", current_user.member.role):
        return redirect(url_for("admin.staff"))
    return render_template(
        "console/index.html",
        user=current_user,
        max_chars=current_app.config["MAX_MESSAGE_CHARS"],
        timezone=current_app.config["TIMEZONE"],
        strings=console_strings(),
        role_names=role_names(),
        outcome_names={
            value: label
            for value, label in outcome_names().items()
            # Set by the system when a callback's last try goes unanswered.
            if value != "not_reached"
        },
        call_outcome_names=call_outcome_names(),
        need_names=need_names(),
        level_names=risk_level_names(),
        escalation_outcome_names=escalation_outcome_names(),
    )
