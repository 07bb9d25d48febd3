"""HTTP: resident API, staff sign-in, CSRF, rate limits, headers, pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hotline import create_app
from hotline.models import Conversation
from hotline.services.conversations import hash_token
from tests.conftest import PASSWORD, AuthActions


def test_start_chat_returns_id_and_token_and_stores_only_a_hash(client, scalar):
    response = client.post("/api/chat", json={"lang": "en"})
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"conversation_id", "token"}
    assert len(body["token"]) >= 40
    stored = scalar(select(Conversation.token_hash))
    assert stored == hash_token(body["token"])
    assert body["token"] not in stored


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "lang=zh"}, 400, "invalid_input"),
        (
            {"data": "{not json", "content_type": "application/json"},
            400,
            "invalid_input",
        ),
        ({"json": ["zh"]}, 400, "invalid_input"),
        ({"json": {"lang": "fr"}}, 400, "invalid_input"),
        ({"json": {"lang": 5}}, 400, "invalid_input"),
    ],
)
def test_bad_chat_starts_get_a_json_error(client, kwargs, status, code):
    response = client.post("/api/chat", **kwargs)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_login_api_sets_a_session_cookie(client, make_user, auth):
    make_user("ana")
    response = auth.login()
    assert response.status_code == 200
    assert response.json == {"user": {"username": "ana", "role": "counselor"}}
    assert client.get("/console").status_code == 200
    assert auth.logout().status_code == 200
    assert client.get("/console").status_code == 302


@pytest.mark.parametrize(
    ("username", "password"), [("ana", "wrong password"), ("nobody", PASSWORD)]
)
def test_login_api_refuses_bad_credentials_alike(make_user, auth, username, password):
    make_user("ana")
    response = auth.login(username, password)
    assert response.status_code == 401
    # The same words for both, in the page's language (Chinese by default).
    assert response.json["error"] == {
        "code": "unauthorized",
        "message": "用户名或密码错误。",
    }


def test_login_api_requires_json(client, make_user):
    make_user("ana")
    response = client.post(
        "/api/auth/login", data={"username": "ana", "password": PASSWORD}
    )
    assert response.status_code == 400


def test_console_requires_sign_in(client):
    response = client.get("/console")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login")


def test_login_form_needs_a_csrf_token(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("ana")
    refused = client.post(
        "/console/login", data={"username": "ana", "password": PASSWORD}
    )
    assert refused.status_code == 400
    page = client.get("/console/login")
    token = page.data.split(b'name="csrf_token" type="hidden" value="')[1].split(b'"')[
        0
    ]
    accepted = client.post(
        "/console/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": token.decode()},
    )
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == "/console"


def test_login_form_never_redirects_off_site(client, make_user):
    make_user("ana")
    response = client.post(
        "/console/login?next=//evil.example/",
        data={"username": "ana", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/console"


def test_wrong_password_on_the_form_shows_an_error(client, make_user):
    make_user("ana")
    response = client.post(
        "/console/login", data={"username": "ana", "password": "nope nope nope"}
    )
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_chat_starts_and_logins_are_rate_limited(app_config, make_user):
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True})
    client = limited.test_client()
    auth = AuthActions(client)
    statuses = [client.post("/api/chat", json={}).status_code for _ in range(7)]
    assert statuses == [201] * 6 + [429]
    assert client.post("/api/chat", json={}).json["error"]["code"] == (
        "too_many_requests"
    )
    # Per address: ten tries a minute, whichever accounts they name.
    logins = [auth.login(f"guess-{n}", "wrong password").status_code for n in range(11)]
    assert logins[:10] == [401] * 10
    assert logins[10] == 429


def test_failed_logins_are_limited_per_account_from_any_address(app, client, make_user):
    make_user("ana")

    def login(password: str, address: str) -> Any:
        return client.post(
            "/api/auth/login?lang=en",
            json={"username": "ana", "password": password},
            environ_base={"REMOTE_ADDR": address},
        )

    statuses = [login("wrong password", f"10.0.0.{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    # Even the right password waits: the account is being guessed at.
    refused = login(PASSWORD, "10.0.9.9")
    assert refused.status_code == 429
    assert (
        "Too many failed sign-ins for this account" in refused.json["error"]["message"]
    )
    assert refused.json["error"]["details"]["retry_after"] > 0


def test_pages_carry_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_resident_page_defaults_to_chinese_and_switches_to_english(client):
    assert "开始聊天" in client.get("/").get_data(as_text=True)
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Start a chat" in english
    # The choice sticks.
    assert "Start a chat" in client.get("/").get_data(as_text=True)


def test_browser_language_is_honoured(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Start a chat" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/static/vendor/socket.io.esm.min.js", 200),
        ("/static/resident/chat.js", 200),
        ("/static/vendor/other.js", 404),
        ("/static/node_modules/socket.io-client/package.json", 404),
        ("/static/package.json", 404),
    ],
)
def test_only_allow_listed_npm_files_are_served(client, path, status):
    response = client.get(path)
    response.close()
    assert response.status_code == status


def test_health(client):
    assert client.get("/api/health").json == {"ok": True}


def test_unknown_api_route_is_json(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
