"""Administration: staff accounts, and every staff member's own password.

An administrator creates accounts and, per account, resets the password,
signs the person out everywhere, or deactivates the account (which also
signs them out and takes them off duty). Each of these ends the account's
signed-in sessions at once (``hotline.services.accounts``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask import session as cookie_session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from counselors.auth import SESSION_VERSION, forget_failed_sign_ins
from counselors.permissions import requires
from hotline.errors import HotlineError, NotFound
from hotline.extensions import db
from hotline.labels import role_names
from hotline.models import Role
from hotline.services import accounts, audit
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


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(MIN_PASSWORD_CHARS, 256)],
    )


class OwnPasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(1, 256)]
    )
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(MIN_PASSWORD_CHARS, 256)],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The two new passwords differ.")),
        ],
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
            with db.transaction() as session:
                user_id = create_user(
                    session,
                    form.username.data,
                    form.password.data,
                    Role(form.role.data),
                    form.display_name.data or "",
                )
                audit.record(
                    session,
                    "user_created",
                    actor_id=int(current_user.id),
                    user_id=user_id,
                    role=form.role.data,
                )
        except HotlineError as error:
            flash(error.message, "error")
        else:
            flash(_l("Account created."), "info")
            return redirect(url_for("admin.staff"))
    with db.read() as session:
        members = list_staff(session)
    return render_template(
        "admin/staff.html",
        user=current_user,
        form=form,
        staff=members,
        role_names=names,
    )


@bp.get("/admin/users/<int:user_id>")
@login_required
@requires("admin")
def account(user_id: int) -> Any:
    """One account: reset its password, sign it out everywhere, deactivate it."""
    return render_template(
        "admin/account.html",
        user=current_user,
        member=_member(user_id),
        reset_form=ResetPasswordForm(),
        form=FlaskForm(),
        role_names=role_names(),
    )


@bp.post("/admin/users/<int:user_id>/password")
@login_required
@requires("admin")
def reset_password(user_id: int) -> Any:
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash(
            _l(
                "Passwords need at least %(count)s characters.",
                count=MIN_PASSWORD_CHARS,
            ),
            "error",
        )
    else:
        with db.transaction() as session:
            accounts.reset_password(
                session, user_id, form.password.data, int(current_user.id)
            )
        # The person may be locked out by failed sign-ins: the new
        # password must work at once.
        forget_failed_sign_ins(_member(user_id).username)
        flash(_l("Password reset. The person is signed out everywhere."), "info")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/sign-out")
@login_required
@requires("admin")
def sign_out(user_id: int) -> Any:
    if FlaskForm().validate_on_submit():
        with db.transaction() as session:
            accounts.sign_out_everywhere(session, user_id, int(current_user.id))
        flash(_l("Signed out everywhere."), "info")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/deactivate")
@login_required
@requires("admin")
def deactivate(user_id: int) -> Any:
    return _set_active(user_id, "deactivate")


@bp.post("/admin/users/<int:user_id>/activate")
@login_required
@requires("admin")
def activate(user_id: int) -> Any:
    return _set_active(user_id, "activate")


def _set_active(user_id: int, action: str) -> Any:
    if FlaskForm().validate_on_submit():
        try:
            with db.transaction() as session:
                accounts.set_active(
                    session, user_id, int(current_user.id), action == "activate"
                )
        except HotlineError as error:
            flash(error.message, "error")
        else:
            flash(
                _l("Account reactivated.")
                if action == "activate"
                else _l("Account deactivated and signed out everywhere."),
                "info",
            )
    return redirect(url_for("admin.account", user_id=user_id))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def own_password() -> Any:
    """Any staff member changes their own password; their other sessions end."""
    form = OwnPasswordForm()
    if form.validate_on_submit():
        try:
            with db.transaction() as session:
                member = accounts.change_own_password(
                    session, int(current_user.id), form.current.data, form.password.data
                )
        except HotlineError as error:
            flash(error.message, "error")
        else:
            # This session stays signed in; every other one has ended.
            cookie_session[SESSION_VERSION] = member.session_version
            flash(_l("Password changed. Your other sessions are signed out."), "info")
            return redirect(url_for("admin.own_password"))
    return render_template(
        "admin/password.html", user=current_user, form=form, role_names=role_names()
    )


def _member(user_id: int) -> accounts.StaffMember:
    with db.read() as session:
        member = accounts.find_staff(session, user_id)
    if member is None:
        raise NotFound("account")
    return member
