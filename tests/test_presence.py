"""Duty follows open consoles across workers: the last console closed, or a
worker that stopped refreshing, takes a responder off duty."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from hotline.extensions import db, socketio
from hotline.models import ConsolePresence, Role, User, utcnow
from hotline.presence_watch import LOCAL_SIDS, heartbeat_once, sweep_once
from hotline.services import presence as presence_service
from tests.units import Committing

presence = Committing(presence_service)
from tests.conftest import PASSWORD

CONSOLE = "/console"


def on_duty(scalar, username: str) -> bool:
    return scalar(select(User.is_on_duty).where(User.username == username))


def go_on_duty(console) -> None:
    assert console.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)[
        "ok"
    ]


def add_presence(app, username: str, sid: str, worker: str, age: timedelta) -> None:
    with app.app_context():
        session = db.new_session()
        user_id = session.scalar(select(User.id).where(User.username == username))
        session.add(
            ConsolePresence(
                sid=sid, user_id=user_id, worker=worker, seen_at=utcnow() - age
            )
        )
        session.commit()
        session.close()


def test_a_console_open_on_another_worker_keeps_the_shift(
    app, scalar, counselor_socket
):
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(worker)
    add_presence(app, "sw", "other-worker-sid", "host-b:42", timedelta(seconds=5))
    worker.disconnect(namespace=CONSOLE)
    assert on_duty(scalar, "sw") is True
    # That worker dies: nobody refreshes its connection, and the sweep ends
    # the shift so alerts fall back to supervisors or the resident's numbers.
    with app.app_context():
        session = db.new_session()
        assert presence.sweep(session, now=utcnow() + timedelta(minutes=2)) == [
            scalar(select(User.id).where(User.username == "sw"))
        ]
        session.close()
    assert on_duty(scalar, "sw") is False
    assert scalar(text("SELECT count(*) FROM console_presence")) == 0


def another_tab(app, username: str):
    http = app.test_client()
    http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    return socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)


def test_closing_the_last_console_ends_the_shift(app, scalar, counselor_socket):
    first = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(first)
    second = another_tab(app, "sw")
    first.disconnect(namespace=CONSOLE)
    assert on_duty(scalar, "sw") is True
    second.disconnect(namespace=CONSOLE)
    assert on_duty(scalar, "sw") is False
    audit = scalar(
        text("SELECT count(*) FROM audit_events WHERE action = 'duty_changed'")
    )
    assert audit == 2  # on, then off


def test_a_live_console_is_kept_fresh_by_its_worker(app, scalar, counselor_socket):
    worker = counselor_socket("sw", Role.SOCIAL_WORKER)
    go_on_duty(worker)
    assert len(LOCAL_SIDS) >= 1
    with app.app_context():
        session = db.new_session()
        session.execute(
            text("UPDATE console_presence SET seen_at = :t"),
            {"t": utcnow() - timedelta(minutes=5)},
        )
        session.commit()
        session.close()
    heartbeat_once(app)  # this worker still holds the connection
    assert sweep_once(app) == []
    assert on_duty(scalar, "sw") is True


def test_on_duty_with_no_console_at_all_is_ended_by_the_sweep(app, scalar, make_user):
    # E.g. the server restarted and the responder's browser never came back.
    make_user("sw", Role.SOCIAL_WORKER)
    with app.app_context():
        session = db.new_session()
        session.execute(text("UPDATE users SET is_on_duty = true"))
        session.commit()
        session.close()
    assert len(sweep_once(app)) == 1
    assert on_duty(scalar, "sw") is False
