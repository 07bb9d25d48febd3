"""Staff sign-in with Flask-Login: a page for people, a JSON API for tools."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from hotline.errors import HotlineError, RateLimited, Unauthorized
from hotline.extensions import csrf, db, limiter, login_manager
from hotline.http import json_body
from hotline.realtime import connection_state
from hotline.services.accounts import (
    StaffMember,
    authenticate,
    load_staff,
    sign_out_everywhere,
    username_hash,
)
from hotline.throttle import parse_limit, throttle
from hotline.validation import require_object, text_field

bp = Blueprint("auth", __name__, template_folder="templates")
LOGIN_LIMIT = "10 per minute"
# Session keys (epoch seconds): when the staff member signed in, and when
# they were last active. A sign-in ends after STAFF_IDLE_MINUTES without
# activity, and after PERMANENT_SESSION_LIFETIME in any case.
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# The account's session version when this session signed in: raising the
# version in the database (sign-out, password change, deactivation) ends it.
SESSION_VERSION = "session_version"
# Failed sign-ins per account, wherever they come from (the per-address
# limit alone lets many addresses guess one account's password).
ACCOUNT_FAILURE_LIMIT = "5 per 15 minutes"
# What Flask-Login keeps in the session for a signed-in user.
_SIGN_IN_KEYS = ("_user_id", "_fresh", "_id")


def now() -> float:
    """The clock sessions are measured by (tests replace it)."""
    return time.time()


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
    # Runs on every request and console event: a read, so it must not take
    # SQLite's write lock (hotline.database).
    with db.read() as reader:
        member = load_staff(reader, int(user_id))
    if (
        member is None
        or session.get(SESSION_VERSION) != member.session_version
        or not _session_is_current(on_duty=member.is_on_duty)
    ):
        _forget_sign_in()
        return None
    return SignedInStaff(member)


def _forget_sign_in() -> None:
    # A socket's session is a frozen copy that handlers must not write.
    if not hasattr(request, "sid"):
        for key in (*_SIGN_IN_KEYS, SIGNED_IN_AT, SEEN_AT, SESSION_VERSION):
            session.pop(key, None)


def _activity() -> MutableMapping[str, Any]:
    # A socket's session is a copy frozen at connect time, which handlers
    # must not write; its activity is kept with the connection instead.
    if hasattr(request, "sid"):
        state = connection_state()
        state.setdefault(SEEN_AT, session.get(SEEN_AT))
        return state
    return session


def _session_is_current(*, on_duty: bool) -> bool:
    """Whether the sign-in is neither idle too long nor too old; marks activity.

    Staff on duty are exempt from the idle limit (not from the lifetime): a
    responder waiting quietly for an alert must be able to acknowledge it
    the moment it comes.
    """
    moment = now()
    signed_in_at = session.get(SIGNED_IN_AT)
    activity = _activity()
    seen_at = activity.get(SEEN_AT)
    idle = current_app.config["STAFF_IDLE_MINUTES"] * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if (
        not isinstance(signed_in_at, int | float)
        or not isinstance(seen_at, int | float)
        or (moment - seen_at > idle and not on_duty)
        or moment - signed_in_at > lifetime
    ):
        return False
    activity[SEEN_AT] = moment
    return True


def _sign_in(member: StaffMember) -> None:
    # A permanent session: the cookie carries an expiry and is re-issued on
    # every request (SESSION_REFRESH_EACH_REQUEST).
    session.permanent = True
    session[SIGNED_IN_AT] = session[SEEN_AT] = now()
    session[SESSION_VERSION] = member.session_version
    login_user(SignedInStaff(member))


def _failure_key(username: str) -> tuple[str, str]:
    return ("login-failures", username_hash(username.lower()))


def forget_failed_sign_ins(username: str) -> None:
    """Lift the per-account sign-in lock (an administrator reset the password)."""
    throttle().clear(parse_limit(ACCOUNT_FAILURE_LIMIT), *_failure_key(username))


def _check_credentials(username: str, password: str) -> StaffMember:
    """The member, or Unauthorized / RateLimited; failures are audited and
    counted per account in the shared limit store."""
    limit = parse_limit(ACCOUNT_FAILURE_LIMIT)
    key = _failure_key(username)
    verdict = throttle().test(limit, *key)
    if not verdict.allowed:
        minutes = max(1, -(-verdict.retry_after // 60))
        raise RateLimited("sign_in", minutes=minutes, retry_after=verdict.retry_after)
    with db.transaction() as unit:
        member = authenticate(unit, username, password)
    if member is None:
        throttle().hit(limit, *key)
        raise Unauthorized("credentials")
    throttle().clear(limit, *key)
    return member


def _sign_out() -> None:
    """End this sign-in and every other one of the account (a cookie copied
    before sign-out must not keep working)."""
    if current_user.is_authenticated:
        user_id = int(current_user.id)
        with db.transaction() as unit:
            sign_out_everywhere(unit, user_id, user_id)
    logout_user()
    _forget_sign_in()


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
            member = _check_credentials(form.username.data, form.password.data)
        except HotlineError as error:
            flash(error.message, "error")
        else:
            _sign_in(member)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", form=form)


@bp.post("/console/logout")
def logout_page() -> Response:
    """Sign out (CSRF-protected form post)."""
    _sign_out()
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
    member = _check_credentials(username, password)
    _sign_in(member)
    return jsonify({"user": {"username": member.username, "role": str(member.role)}})


@bp.post("/api/auth/logout")
@csrf.exempt
def logout_api() -> Any:
    """JSON sign-out."""
    json_body()
    _sign_out()
    return jsonify({"ok": True})


@bp.get("/api/auth/session")
def session_api() -> Any:
    """Who is signed in; pages call it while in use to stay signed in."""
    if not current_user.is_authenticated:
        raise Unauthorized("session_ended")
    return jsonify(
        {"user": {"username": current_user.username, "role": current_user.role}}
    )


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
