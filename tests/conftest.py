"""Fixtures mirroring the app factory: app, client, runner, auth, socket clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIOTestClient

from hotline import create_app
from hotline.extensions import db, socketio
from hotline.models import Role
from hotline.services.accounts import create_user
from tests import databases

PASSWORD = "correct horse battery"
# A fixed Fernet key, so tests never write one into instance/.
TEST_PHONE_KEY = "dGVzdC1vbmx5LXBob25lLWtleS0zMi1ieXRlcyEhISE="


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per session; each test gets a copy."""
    with databases.migrated_template(tmp_path_factory.mktemp("template")) as template:
        yield template


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: str) -> Iterator[str]:
    """The URL of this test's own database (SQLite, or PostgreSQL if asked)."""
    with databases.fresh_database(migrated_template, tmp_path) as url:
        yield url
        db.dispose()


@pytest.fixture
def app_config(database_url: str) -> dict[str, Any]:
    """Config for a test app on its own copy of the migrated database."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PHONE_KEYS": [TEST_PHONE_KEY],
        # Places in the queue are pushed at once, so tests see them.
        "POSITION_PUSH_SECONDS": 0,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def scalar(app: Flask) -> Callable[[Any], Any]:
    """Run one read in a short session of its own.

    On SQLite every transaction takes the write lock, so a test must never
    keep a session open across socket events.
    """

    def read(statement: Any) -> Any:
        with app.app_context():
            session = db.new_session()
            try:
                return session.scalar(statement)
            finally:
                session.close()

    return read


@pytest.fixture
def make_user(app: Flask) -> Callable[..., int]:
    def make(username: str = "ana", role: Role = Role.COUNSELOR) -> int:
        with app.app_context(), db.transaction() as session:
            return create_user(session, username, PASSWORD, role)

    return make


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str = "ana", password: str = PASSWORD) -> Any:
        return self.client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )

    def logout(self) -> Any:
        return self.client.post("/api/auth/logout", json={})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def start_chat(app: Flask) -> Callable[..., dict[str, Any]]:
    """Start a resident conversation over HTTP; returns id and token."""

    def start(lang: str = "zh") -> dict[str, Any]:
        response = app.test_client().post("/api/chat", json={"lang": lang})
        assert response.status_code == 201, response.json
        return response.json

    return start


@pytest.fixture
def resident_socket(app: Flask) -> Callable[[str], SocketIOTestClient]:
    """Connect a resident to ``/chat`` with a resume token."""

    def connect(token: str) -> SocketIOTestClient:
        return socketio.test_client(app, namespace="/chat", auth={"token": token})

    return connect


@pytest.fixture
def counselor_socket(
    app: Flask, make_user: Callable[..., int]
) -> Callable[..., SocketIOTestClient]:
    """Sign a staff member in over HTTP, then connect to ``/console``."""

    def connect(
        username: str = "ana", role: Role = Role.COUNSELOR
    ) -> SocketIOTestClient:
        make_user(username, role)
        http = app.test_client()
        response = http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.json
        return socketio.test_client(app, namespace="/console", flask_test_client=http)

    return connect


def events(client: SocketIOTestClient, name: str, namespace: str) -> list[Any]:
    """Payloads of every ``name`` event the client has received so far.

    The test client hands each event out once; we keep a log per client and
    namespace so that tests can look more than once.
    """
    logs = client.__dict__.setdefault("_received_log", {})
    log = logs.setdefault(namespace, [])
    log.extend(client.get_received(namespace))
    # The test client unwraps single-argument events.
    return [
        event["args"][0] if isinstance(event["args"], list) else event["args"]
        for event in log
        if event["name"] == name
    ]
