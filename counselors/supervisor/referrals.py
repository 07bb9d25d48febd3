"""The supervisors' referral follow-up page: did the resident get the help?"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from counselors.permissions import requires
from hotline.errors import InvalidInput
from hotline.extensions import db
from hotline.labels import follow_up_status_names, resource_category_names, role_names
from hotline.models import FollowUpStatus
from hotline.services import referrals
from hotline.validation import text_field

bp = Blueprint("referrals", __name__, template_folder="templates")


@bp.get("/supervisor/referrals")
@login_required
@requires("referrals")
def referral_list() -> str:
    """Referrals to follow up: did the resident get the help?"""
    status = request.args.get("status") or None
    if status not in {s.value for s in FollowUpStatus}:
        status = None
    with db.read() as session:
        listed = referrals.list_referrals(session, status)
    return render_template(
        "supervisor/referrals.html",
        user=current_user,
        role_names=role_names(),
        referrals=listed,
        status=status,
        status_names=follow_up_status_names(),
        category_names=resource_category_names(),
    )


@bp.post("/supervisor/referrals/<int:referral_id>")
@login_required
@requires("referrals")
def follow_up(referral_id: int) -> Any:
    """Record a referral's follow-up status with a note (audited)."""
    form = request.form.to_dict()
    status = form.get("status")
    if status not in {s.value for s in FollowUpStatus}:
        raise InvalidInput("follow_up_status", field="status")
    note = text_field(
        form, "note", max_chars=referrals.MAX_FOLLOW_UP_NOTE_CHARS, required=False
    )
    with db.transaction() as session:
        referrals.set_follow_up(
            session, referral_id, int(current_user.id), FollowUpStatus(status), note
        )
    flash(_("Follow-up saved."), "info")
    return redirect(
        url_for("referrals.referral_list", status=request.args.get("status") or None)
    )
