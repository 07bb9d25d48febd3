"""The console page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from counselors.page_config import staff_config
from counselors.permissions import may
from hotline.labels import (
    call_outcome_names,
    console_strings,
    escalation_outcome_names,
    need_names,
    no_data_outcome_names,
    outcome_names,
    risk_level_names,
    role_names,
)

bp = Blueprint("console", __name__, template_folder="templates")
# For the staff page frame (staff_base.html) every staff page shares, and
# for pages that show a link or a form only to the roles that may use it.
bp.add_app_template_global(staff_config)
bp.add_app_template_global(may)


@bp.get("/console")
@login_required
def index() -> Any:
    """The counsellor's workspace; everything live happens over ``/console``."""
    if not may("console", current_user.member.role):
        return redirect(url_for("admin.staff"))
    no_data = no_data_outcome_names()
    return render_template(
        "console/index.html",
        user=current_user,
        timezone=current_app.config["TIMEZONE"],
        break_reminder_minutes=current_app.config["SHIFT_BREAK_REMINDER_MINUTES"],
        strings=console_strings(),
        role_names=role_names(),
        outcome_names={
            value: label
            for value, label in outcome_names().items()
            # not_reached is set by the system when a callback's last try
            # goes unanswered; no-data outcomes get their own group.
            if value != "not_reached" and value not in no_data
        },
        no_data_outcome_names=no_data,
        call_outcome_names=call_outcome_names(),
        need_names=need_names(),
        level_names=risk_level_names(),
        escalation_outcome_names=escalation_outcome_names(),
    )
