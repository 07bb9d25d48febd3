"""Supervisor tools for abuse and wellbeing: blocking a contact for a while,
the list of blocks, open debrief requests and the team's load."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from counselors.permissions import requires
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.labels import role_names
from hotline.services import blocks, wellbeing

bp = Blueprint("safety", __name__, template_folder="templates")


def duration_choices() -> list[tuple[str, str]]:
    return [
        ("1", _l("1 hour")),
        ("24", _l("1 day")),
        ("168", _l("7 days")),
        ("720", _l("30 days")),
    ]


class BlockForm(FlaskForm):
    hours = SelectField(_l("For how long"), choices=duration_choices)
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(1, 1000)])


@bp.post("/supervisor/conversations/<int:conversation_id>/block")
@login_required
@requires("block")
def block(conversation_id: int) -> Any:
    """Block the conversation's resume token (and callback number) for a while."""
    form = BlockForm()
    if not form.validate_on_submit():
        flash(_l("Choose how long and give a reason."), "error")
    else:
        try:
            with db.transaction() as session:
                blocks.block_contact(
                    session,
                    conversation_id,
                    int(current_user.id),
                    hours=int(form.hours.data),
                    reason=form.reason.data,
                )
        except HotlineError as error:
            flash(error.message, "error")
        else:
            flash(
                _l(
                    "Blocked. The resident sees a neutral message with the "
                    "crisis numbers."
                ),
                "info",
            )
    return redirect(url_for("supervisor.transcript", conversation_id=conversation_id))


@bp.route("/supervisor/blocks", methods=["GET", "POST"])
@login_required
@requires("block")
def block_list() -> Any:
    """Blocks in force, each with a button to lift it."""
    form = FlaskForm()
    with db.read() as session:
        active = blocks.active_blocks(session)
    return render_template(
        "supervisor/blocks.html",
        user=current_user,
        blocks=[b.to_payload() for b in active],
        form=form,
        role_names=role_names(),
    )


@bp.post("/supervisor/blocks/<int:block_id>/lift")
@login_required
@requires("block")
def lift(block_id: int) -> Any:
    form = FlaskForm()
    if form.validate_on_submit():
        with db.transaction() as session:
            blocks.lift(session, block_id, int(current_user.id))
        flash(_l("Block lifted."), "info")
    return redirect(url_for("safety.block_list"))


@bp.get("/api/team")
@requires("team")
def team() -> Any:
    """Everyone's load right now, and open debrief requests (supervisors)."""
    with db.read() as session:
        members = wellbeing.team_load(session)
        debriefs = wellbeing.open_debriefs(session)
    return jsonify(
        {
            "members": [m.to_payload() for m in members],
            "debriefs": [d.to_payload() for d in debriefs],
        }
    )
