"""Staff sign-in with Flask-Login: a page for people, a JSON API for tools."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from hotline.errors import HotlineError, Unauthorized
from hotline.extensions import csrf, db, limiter, login_manager
from hotline.http import json_body
from hotline.services.accounts import StaffMember, authenticate, load_staff
from hotline.validation import require_object, text_field

bp = Blueprint("auth", __name__, template_folder="templates")
LOGIN_LIMIT = "10 per minute"


class SignedInStaff(UserMixin):
    """The Flask-Login user: a detached staff member, reloaded on every request."""

    def __init__(self, member: StaffMember) -> None:
        self.member = member
        self.id = member.user_id

    @property
    def role(self) -> str:
        return str(self.member.role)

    @property
    def username(self) -> str:
        return self.member.username


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=256)]
    )


@login_manager.user_loader
def load_user(user_id: str) -> SignedInStaff | None:
    """Reload the staff member each request so deactivation takes effect at once."""
    if not user_id.isdigit():
        return None
    member = load_staff(db.session, int(user_id))
    return SignedInStaff(member) if member is not None else None


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    if request.path.startswith("/api/"):
        raise Unauthorized()
    return redirect(url_for("auth.login_page", next=request.path))


@bp.route("/console/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login_page() -> Any:
    """The sign-in form (CSRF-protected)."""
    if current_user.is_authenticated:
        return redirect(home_for_role())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            member = authenticate(db.session, form.username.data, form.password.data)
        except HotlineError:
            flash(_l("Wrong username or password."), "error")
        else:
            login_user(SignedInStaff(member))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", form=form)


@bp.post("/console/logout")
def logout_page() -> Response:
    """Sign out (CSRF-protected form post)."""
    logout_user()
    return redirect(url_for("auth.login_page"))


@bp.post("/api/auth/login")
@csrf.exempt
@limiter.limit(LOGIN_LIMIT)
def login_api() -> Any:
    """JSON sign-in for API clients; the body must be JSON, which a cross-site
    form cannot send without a CORS preflight that this app never grants."""
    payload = require_object(json_body())
    username = text_field(payload, "username", max_chars=64)
    password = text_field(payload, "password", max_chars=256)
    member = authenticate(db.session, username, password)
    login_user(SignedInStaff(member))
    return jsonify({"user": {"username": member.username, "role": str(member.role)}})


@bp.post("/api/auth/logout")
@csrf.exempt
def logout_api() -> Any:
    """JSON sign-out."""
    json_body()
    logout_user()
    return jsonify({"ok": True})


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return home_for_role()


def home_for_role() -> str:
    """Where a signed-in staff member starts."""
    if current_user.is_authenticated and current_user.role == "admin":
        return url_for("admin.staff")
    return url_for("console.index")
