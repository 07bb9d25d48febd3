"""Hostile clients: foreign origins, forged resident tokens, idle staff
sessions, cookie flags and CSRF on every cookie-authenticated endpoint."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import socketio as socketio_client
import websocket
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import counselors.auth
from hotline import create_app
from hotline.extensions import db, socketio
from hotline.models import Message, Role, User
from tests.conftest import PASSWORD, events
from tests.process_helpers import (
    COUNSELOR_PASSWORD,
    HotlineServer,
    login_cookie_header,
    running_server,
)

CHAT = "/chat"
CONSOLE = "/console"
EVIL = "https://evil.example"
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


# --- Socket.IO origin check, on a real server ---------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotlineServer]:
    with running_server(tmp_path_factory.mktemp("security")) as running:
        yield running


def _chat_token(server: HotlineServer) -> str:
    response = requests.post(f"{server.base_url}/api/chat", json={}, timeout=10)
    assert response.status_code == 201
    return response.json()["token"]


def _polling_handshake(server: HotlineServer, **headers: str) -> requests.Response:
    return requests.get(f"{server.base_url}{HANDSHAKE}", headers=headers, timeout=10)


@pytest.mark.slow
def test_polling_handshake_from_a_foreign_origin_is_refused(server):
    refused = _polling_handshake(server, Origin=EVIL)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    look_alike = _polling_handshake(server, Origin=f"{server.base_url}.evil.example")
    assert look_alike.status_code == 400
    same_origin = _polling_handshake(server, Origin=server.base_url)
    assert same_origin.status_code == 200
    assert same_origin.text.startswith("0{")
    assert _polling_handshake(server).status_code == 200


@pytest.mark.slow
def test_websocket_from_a_foreign_origin_is_refused_even_with_a_staff_cookie(server):
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    cookie = login_cookie_header(server.base_url, "ana", COUNSELOR_PASSWORD)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, origin=EVIL, cookie=cookie, timeout=10)
    assert refused.value.status_code == 400
    accepted = websocket.create_connection(
        url, origin=server.base_url, cookie=cookie, timeout=10
    )
    try:
        assert accepted.recv().startswith("0{")
    finally:
        accepted.close()


@pytest.mark.slow
def test_raw_engine_io_garbage_leaves_other_residents_served(server):
    """Invalid UTF-8, nesting too deep to decode and over-size bodies, below
    the event handlers, must not stop the server serving someone else."""
    handshake = _polling_handshake(server).text
    sid = re.search(r'"sid":"([^"]+)"', handshake).group(1)
    url = f"{server.base_url}{HANDSHAKE}&sid={sid}"
    token = _chat_token(server)
    connect = f'40/chat,{{"token":"{token}"}}'.encode()
    assert requests.post(url, data=connect, timeout=10).status_code == 200
    deep = b'42/chat,1["message",' + b"[" * 20_000 + b"]" * 20_000 + b"]"
    for body in (
        b'42/chat,2["message",{"client_id":"raw-00001","body":"\xff\xfe"}]',
        deep[: 60 * 1024],
    ):
        response = requests.post(url, data=body, timeout=10)
        assert response.status_code in (200, 400), response.status_code
    # Over max_http_buffer_size: Engine.IO drops the session and holds this
    # one request until its ping timeout; only the sender waits.
    with contextlib.suppress(requests.ReadTimeout):
        requests.post(url, data=b"42/chat," + b"x" * (65 * 1024), timeout=1)
    bystander = socketio_client.Client(reconnection=False)
    try:
        bystander.connect(
            server.base_url,
            namespaces=[CHAT],
            auth={"token": _chat_token(server)},
            transports=["websocket"],
            wait_timeout=10,
        )
        ack = bystander.call(
            "message",
            {"client_id": "bystander-1", "body": "still there?"},
            namespace=CHAT,
            timeout=10,
        )
        assert ack == {"ok": True, "seq": 1}
    finally:
        bystander.disconnect()
    assert server.is_running


# --- residents reach only their own conversation ----------------------------


def _send(client: Any, payload: dict[str, Any]) -> Any:
    return client.emit("message", payload, namespace=CHAT, callback=True)


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1],
        lambda token: token + "A",
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.swapcase(),
        lambda token: f" {token} ",
        lambda token: token[:19],
        lambda token: token * 5,
        lambda token: "",
        lambda token: "\ud800" * len(token),
        lambda token: [token],
        lambda token: {"token": token},
        lambda token: len(token),
        lambda token: True,
        lambda token: None,
    ],
    ids=[
        "truncated",
        "extended",
        "last-char-changed",
        "case-swapped",
        "padded",
        "too-short",
        "too-long",
        "empty",
        "surrogates",
        "list",
        "object",
        "number",
        "bool",
        "null",
    ],
)
def test_forged_tokens_open_nothing(app, start_chat, forge):
    token = start_chat()["token"]
    client = socketio.test_client(app, namespace=CHAT, auth={"token": forge(token)})
    assert not client.is_connected(CHAT)


def test_resident_token_does_not_open_the_console_or_staff_api(app, start_chat):
    token = start_chat()["token"]
    console = socketio.test_client(app, namespace=CONSOLE, auth={"token": token})
    assert not console.is_connected(CONSOLE)
    http = app.test_client()
    for path in ("/api/escalations", "/api/audit", "/api/auth/session"):
        response = http.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, path


def test_naming_another_conversation_in_a_payload_changes_nothing(
    start_chat, resident_socket, scalar
):
    mine, theirs = start_chat(), start_chat()
    other = resident_socket(theirs["token"])
    assert _send(other, {"client_id": "theirs-0001", "body": "private words"})["ok"]
    client = resident_socket(mine["token"])
    forged = {
        "conversation_id": theirs["conversation_id"],
        "conversation": theirs["conversation_id"],
        "token": theirs["token"],
    }
    ack = _send(client, {"client_id": "mine-00001", "body": "hello", **forged})
    assert ack == {"ok": True, "seq": 1}
    synced = client.emit(
        "sync", {"after_seq": 0, **forged}, namespace=CHAT, callback=True
    )
    assert [m["body"] for m in synced["messages"]] == ["hello"]
    assert {m["conversation_id"] for m in synced["messages"]} == {
        mine["conversation_id"]
    }
    assert client.emit("end", forged, namespace=CHAT, callback=True) == {"ok": True}
    # Their conversation is untouched: one message, still waiting, still theirs.
    assert events(other, "status", CHAT)[-1]["state"] == "waiting"
    their_count = scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.conversation_id == theirs["conversation_id"])
    )
    assert their_count == 1
    assert all(m["body"] != "private words" for m in events(client, "message", CHAT))


def test_a_callback_token_does_not_open_a_chat(app, client):
    if not any(r.rule == "/api/callbacks" for r in app.url_map.iter_rules()):
        pytest.skip("the callbacks API is not registered")
    slots = client.get("/api/callbacks/slots").json["slots"]
    if not slots:
        pytest.skip("no bookable callback slot right now")
    response = client.post(
        "/api/callbacks",
        json={
            "phone": "13800138000",
            "window_start": slots[0]["start"],
            "window_end": slots[0]["end"],
            "consent": True,
        },
    )
    assert response.status_code == 201, response.json
    token = response.json["token"]
    chat = socketio.test_client(app, namespace=CHAT, auth={"token": token})
    assert not chat.is_connected(CHAT)


# --- staff sessions expire after inactivity ----------------------------------


class Clock:
    def __init__(self) -> None:
        self.seconds = 1_900_000_000.0

    def __call__(self) -> float:
        return self.seconds

    def advance(self, minutes: float) -> None:
        self.seconds += minutes * 60


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(counselors.auth, "now", fixed)
    return fixed


@pytest.fixture
def signed_in(app: Flask, make_user: Callable[..., int], clock: Clock) -> FlaskClient:
    app.config.update(STAFF_IDLE_MINUTES=30, PERMANENT_SESSION_LIFETIME=12 * 3600)
    make_user("ana")
    http = app.test_client()
    response = http.post(
        "/api/auth/login", json={"username": "ana", "password": PASSWORD}
    )
    assert response.status_code == 200
    return http


def test_staff_session_ends_after_30_idle_minutes(signed_in, clock):
    clock.advance(29)
    assert signed_in.get("/console").status_code == 200
    clock.advance(29)  # idle time counts from the last request
    assert signed_in.get("/api/auth/session").json["user"]["username"] == "ana"
    clock.advance(31)
    page = signed_in.get("/console")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/console/login")
    api = signed_in.get("/api/auth/session")
    assert api.status_code == 401
    assert api.json["error"]["code"] == "unauthorized"
    # Coming back within the window does not revive it.
    clock.advance(-10)
    assert signed_in.get("/console").status_code == 302


def test_an_active_staff_session_still_ends_after_its_lifetime(signed_in, clock):
    for _ in range(12 * 3):
        clock.advance(20)
        assert signed_in.get("/console").status_code == 200
    clock.advance(20)
    assert signed_in.get("/console").status_code == 302


def test_an_idle_console_socket_is_refused_at_its_next_event(app, signed_in, clock):
    console = socketio.test_client(app, namespace=CONSOLE, flask_test_client=signed_in)
    assert console.is_connected(CONSOLE)
    # Socket events are activity too: a counsellor chatting stays signed in
    # though the page makes no HTTP request.
    for _ in range(4):
        clock.advance(25)
        ack = console.emit("duty", {"on_duty": False}, namespace=CONSOLE, callback=True)
        assert ack == {"ok": True, "on_duty": False}
    clock.advance(31)
    ack = console.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "unauthorized"
    # The cookie was last renewed 131 minutes ago: no new connection either.
    again = socketio.test_client(app, namespace=CONSOLE, flask_test_client=signed_in)
    assert not again.is_connected(CONSOLE)


def test_an_on_duty_responder_idle_for_an_hour_can_still_acknowledge(
    app, make_user, clock
):
    app.config.update(STAFF_IDLE_MINUTES=30, PERMANENT_SESSION_LIFETIME=12 * 3600)
    make_user("sw", Role.SOCIAL_WORKER)
    http = app.test_client()
    http.post("/api/auth/login", json={"username": "sw", "password": PASSWORD})
    console = socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)
    assert console.emit("duty", {"on_duty": True}, namespace=CONSOLE, callback=True)[
        "ok"
    ]
    clock.advance(60)  # waiting quietly for an alert
    ack = console.emit("escalations", {}, namespace=CONSOLE, callback=True)
    assert ack["ok"] is True
    # Off duty, the idle limit applies again.
    console.emit("duty", {"on_duty": False}, namespace=CONSOLE, callback=True)
    clock.advance(31)
    ack = console.emit("escalations", {}, namespace=CONSOLE, callback=True)
    assert ack["error"]["code"] == "unauthorized"


def test_signed_in_session_cookie_carries_an_expiry(make_user, auth):
    make_user("ana")
    cookie = auth.login().headers["Set-Cookie"]
    assert "Expires=" in cookie


# --- cookie flags ----------------------------------------------------------------


@pytest.fixture
def env_app(
    monkeypatch: pytest.MonkeyPatch, app_config: dict[str, Any]
) -> Callable[[dict[str, str]], Flask]:
    """An app built after setting ``HOTLINE_*`` variables."""

    def build(env: dict[str, str]) -> Flask:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return create_app(app_config)

    return build


def _login_cookie(app: Flask) -> str:
    from hotline.services.accounts import create_user

    with app.app_context(), db.transaction() as session:
        create_user(session, "ana", PASSWORD, Role.COUNSELOR)
    response = app.test_client().post(
        "/api/auth/login", json={"username": "ana", "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.headers["Set-Cookie"]


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookie_flags(env_app, secure):
    app = env_app({"HOTLINE_SECURE_COOKIES": "1" if secure else "0"})
    cookie = _login_cookie(app)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in cookie.lower()
    assert ("secure" in attributes) is secure


# --- CSRF on cookie-authenticated forms and JSON endpoints ----------------------

# Endpoints that accept writes without the CSRF token, and why that is safe.
CSRF_EXEMPT = {
    # Residents: no cookie credentials, the resume token travels in the body
    # or an Authorization header that a cross-site form cannot set.
    "api.start_chat",
    "callbacks_api.request_callback",
    "callbacks_api.cancel_callback",
    "api.answer_survey",
    # Staff JSON: a cross-site form cannot send application/json.
    "auth.login_api",
    "auth.logout_api",
}


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _csrf_token(http: FlaskClient, path: str) -> str:
    page = http.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _staff_client(app: Flask, make_user: Callable[..., int], role: Role) -> FlaskClient:
    make_user(f"user-{role.value}", role)
    http = app.test_client()
    response = http.post(
        "/api/auth/login",
        json={"username": f"user-{role.value}", "password": PASSWORD},
    )
    assert response.status_code == 200
    return http


def test_every_unsafe_endpoint_is_csrf_protected_or_listed(csrf_app, make_user):
    http = _staff_client(csrf_app, make_user, Role.ADMIN)
    protected = []
    for rule in csrf_app.url_map.iter_rules():
        if not rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        if rule.endpoint in CSRF_EXEMPT:
            continue
        path = rule.build({name: 1 for name in rule.arguments})[1]
        for json_too in (False, True):
            kwargs = {"json": {}} if json_too else {"data": {"x": "1"}}
            response = http.post(path, **kwargs)
            assert response.status_code == 400, (path, response.status_code)
            if json_too:
                assert response.json["error"]["code"] == "csrf_failed"
        protected.append(rule.endpoint)
    assert {"auth.login_page", "auth.logout_page", "admin.staff"} <= set(protected)


def test_logout_form_needs_the_token(csrf_app, make_user):
    http = _staff_client(csrf_app, make_user, Role.COUNSELOR)
    refused = http.post("/console/logout")
    assert refused.status_code == 400
    assert refused.mimetype == "text/html"
    assert http.get("/console").status_code == 200  # still signed in
    token = _csrf_token(http, "/console")
    accepted = http.post("/console/logout", data={"csrf_token": token})
    assert accepted.status_code == 302
    assert http.get("/console").status_code == 302


def test_admin_form_needs_the_token(csrf_app, make_user, scalar):
    http = _staff_client(csrf_app, make_user, Role.ADMIN)
    form = {
        "username": "newbie",
        "password": "a long enough password",
        "role": "counselor",
    }
    refused = http.post("/admin", data=form)
    assert refused.status_code == 400
    assert (
        scalar(select(func.count()).select_from(User).where(User.username == "newbie"))
        == 0
    )
    accepted = http.post(
        "/admin", data={**form, "csrf_token": _csrf_token(http, "/admin")}
    )
    assert accepted.status_code == 302
    assert (
        scalar(select(func.count()).select_from(User).where(User.username == "newbie"))
        == 1
    )


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_json_sign_in_and_out_refuse_what_a_cross_site_form_can_send(
    csrf_app, make_user, content_type
):
    make_user("ana")
    http = csrf_app.test_client()
    body = f'{{"username": "ana", "password": "{PASSWORD}"}}'
    refused = http.post("/api/auth/login", data=body, content_type=content_type)
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "invalid_input"
    assert http.get("/api/auth/session").status_code == 401
    # The JSON sign-in works without a token (documented exemption) ...
    assert (
        http.post(
            "/api/auth/login", json={"username": "ana", "password": PASSWORD}
        ).status_code
        == 200
    )
    # ... and a form-shaped sign-out does not sign anyone out.
    out = http.post("/api/auth/logout", data="{}", content_type=content_type)
    assert out.status_code == 400
    assert http.get("/api/auth/session").status_code == 200
