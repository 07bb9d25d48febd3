"""Signing out ends a sign-in for good (issue #19, point 5).

A session cookie copied before sign-out, a password change or reset, or a
deactivation opens nothing afterwards, over HTTP or on a console socket.
"""

from __future__ import annotations

import json
import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from hotline.extensions import socketio
from hotline.models import Role
from tests.conftest import PASSWORD

CONSOLE = "/console"
NEW_PASSWORD = "a brand new passphrase"


def signed_in(app, username: str, password: str = PASSWORD) -> FlaskClient:
    http = app.test_client()
    response = http.post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.json
    return http


def copy_of(app, http: FlaskClient) -> FlaskClient:
    """Another client holding the same session cookie (a stolen copy)."""
    thief = app.test_client()
    cookie = http.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def is_signed_in(http: FlaskClient) -> bool:
    return http.get("/api/auth/session").status_code == 200


def test_a_cookie_copied_before_sign_out_opens_nothing_after(app, make_user):
    make_user("ana")
    http = signed_in(app, "ana")
    stolen = copy_of(app, http)
    assert is_signed_in(stolen)
    assert http.post("/api/auth/logout", json={}).status_code == 200
    assert not is_signed_in(stolen)
    assert stolen.get("/console").status_code == 302
    # Signing in again works, with a fresh session.
    assert is_signed_in(signed_in(app, "ana"))


def test_sign_out_ends_open_console_sockets(app, make_user):
    make_user("ana")
    http = signed_in(app, "ana")
    console = socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)
    assert console.is_connected(CONSOLE)
    other_tab = signed_in(app, "ana")
    other_tab.post("/api/auth/logout", json={})
    deadline = time.monotonic() + 5
    while console.is_connected(CONSOLE) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not console.is_connected(CONSOLE)
    # A copy that reconnects is refused.
    again = socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)
    assert not again.is_connected(CONSOLE)


def test_a_socket_of_a_revoked_session_is_refused_at_its_next_event(
    app, make_user, scalar
):
    user_id = make_user("ana")
    http = signed_in(app, "ana")
    console = socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)
    # Revoked behind the dispatcher's back (say, by another worker whose
    # disconnect request was lost): the version check alone refuses.
    with app.app_context():
        from hotline.extensions import db

        with db.transaction() as session:
            session.execute(
                text("UPDATE users SET session_version = session_version + 1")
            )
    ack = console.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "unauthorized"
    assert scalar(text(f"SELECT is_on_duty FROM users WHERE id = {user_id}")) in (
        0,
        False,
    )


@pytest.fixture
def admin(app, make_user) -> FlaskClient:
    make_user("root", Role.ADMIN)
    return signed_in(app, "root")


def test_an_admin_deactivates_an_account(app, admin, make_user, scalar):
    user_id = make_user("ana")
    ana = signed_in(app, "ana")
    page = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Deactivate" in page or "停用" in page
    response = admin.post(f"/admin/users/{user_id}/deactivate", data={})
    assert response.status_code == 302
    assert not is_signed_in(ana)
    assert scalar(text(f"SELECT is_active FROM users WHERE id = {user_id}")) in (
        0,
        False,
    )
    refused = app.test_client().post(
        "/api/auth/login", json={"username": "ana", "password": PASSWORD}
    )
    assert refused.status_code == 401
    admin.post(f"/admin/users/{user_id}/activate", data={})
    assert is_signed_in(signed_in(app, "ana"))


def test_an_admin_cannot_deactivate_themselves(app, admin, scalar):
    own_id = scalar(text("SELECT id FROM users WHERE username = 'root'"))
    admin.post(f"/admin/users/{own_id}/deactivate", data={})
    assert is_signed_in(admin)


def test_an_admin_resets_a_password_and_signs_the_person_out(app, admin, make_user):
    user_id = make_user("ana")
    ana = signed_in(app, "ana")
    admin.post(f"/admin/users/{user_id}/password", data={"password": NEW_PASSWORD})
    assert not is_signed_in(ana)
    old = app.test_client().post(
        "/api/auth/login", json={"username": "ana", "password": PASSWORD}
    )
    assert old.status_code == 401
    assert is_signed_in(signed_in(app, "ana", NEW_PASSWORD))


def test_an_admin_signs_a_person_out_everywhere(app, admin, make_user):
    user_id = make_user("ana")
    laptop, phone = signed_in(app, "ana"), signed_in(app, "ana")
    admin.post(f"/admin/users/{user_id}/sign-out", data={})
    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)


def test_account_actions_are_for_admins_only(app, make_user):
    target = make_user("bo")
    make_user("sue", Role.SUPERVISOR)
    supervisor = signed_in(app, "sue")
    for action in ("deactivate", "sign-out"):
        response = supervisor.post(f"/admin/users/{target}/{action}", data={})
        assert response.status_code == 403
    assert supervisor.get(f"/admin/users/{target}").status_code == 403


def test_staff_change_their_own_password(app, make_user):
    make_user("ana")
    here, elsewhere = signed_in(app, "ana"), signed_in(app, "ana")
    wrong = here.post(
        "/account/password?lang=en",
        data={
            "current": "not it at all",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert "current password is not right" in wrong.get_data(as_text=True)
    changed = here.post(
        "/account/password",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert is_signed_in(signed_in(app, "ana", NEW_PASSWORD))


def test_a_failed_login_keeps_only_a_hash_of_the_typed_name(app, client, scalar):
    client.post(
        "/api/auth/login", json={"username": "my-password-123", "password": "x" * 10}
    )
    details = scalar(
        text("SELECT details FROM audit_events WHERE action = 'login_failed'")
    )
    details = json.loads(details) if isinstance(details, str) else details
    assert "my-password-123" not in json.dumps(details)
    assert len(details["username_hash"]) == 16


def test_a_password_reset_lifts_the_sign_in_lock(app, admin, make_user):
    user_id = make_user("ana")
    guesser = app.test_client()
    for _ in range(6):
        guesser.post(
            "/api/auth/login", json={"username": "ana", "password": "wrong guess!"}
        )
    locked = guesser.post(
        "/api/auth/login", json={"username": "ana", "password": PASSWORD}
    )
    assert locked.status_code == 429
    admin.post(f"/admin/users/{user_id}/password", data={"password": NEW_PASSWORD})
    assert is_signed_in(signed_in(app, "ana", NEW_PASSWORD))
