"""Administration: staff accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from counselors.permissions import requires
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.labels import role_names
from hotline.models import Role
from hotline.services import audit
from hotline.services.accounts import MIN_PASSWORD_CHARS, create_user, list_staff

bp = Blueprint("admin", __name__, template_folder="templates")


class NewStaffForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(2, 64)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(MIN_PASSWORD_CHARS, 256)]
    )
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value) for r in Role])
    display_name = StringField(
        _l("First name shown to residents (optional)"), validators=[Length(0, 64)]
    )


@bp.route("/admin", methods=["GET", "POST"])
@login_required
@requires("admin")
def staff() -> Any:
    """List staff accounts and create new ones."""
    names = role_names()
    form = NewStaffForm()
    form.role.choices = [SelectChoice(role.value, names[role.value]) for role in Role]
    if form.validate_on_submit():
        try:
            user_id = create_user(
                db.session,
                form.username.data,
                form.password.data,
                Role(form.role.data),
                form.display_name.data or "",
            )
        except HotlineError as error:
            flash(error.message, "error")
        else:
            audit.record(
                db.session,
                "user_created",
                actor_id=int(current_user.id),
                user_id=user_id,
                role=form.role.data,
            )
            db.session.commit()
            flash(_l("Account created."), "info")
            return redirect(url_for("admin.staff"))
    return render_template(
        "admin/staff.html",
        user=current_user,
        form=form,
        staff=list_staff(db.session),
        role_names=names,
    )
