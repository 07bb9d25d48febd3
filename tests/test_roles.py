"""The permission matrix (docs/roles.md), walked for every role: each socket
event and staff route is either allowed or refused with ``forbidden``."""

from __future__ import annotations

import pytest

from counselors.permissions import PERMISSIONS
from hotline.extensions import socketio
from hotline.models import Role
from tests.conftest import PASSWORD

CONSOLE = "/console"
# Socket events and a payload that passes validation but names nothing that
# exists, so an allowed role gets a domain error, never "forbidden".
EVENTS = {
    "claim": {"conversation_id": 999},
    "message": {"conversation_id": 999, "client_id": "role-test-1", "body": "hi"},
    "sync": {"conversation_id": 999, "after_seq": 0},
    "release": {"conversation_id": 999},
    "note": {"conversation_id": 999, "body": "x"},
    "notes": {"conversation_id": 999},
    "close": {
        "conversation_id": 999,
        "wrap_up": {"outcome": "other", "needs": [], "follow_up": False},
    },
    "correct": {"conversation_id": 999, "level": "low", "reason": "x"},
    "escalate": {"conversation_id": 999, "reason": "x"},
    "duty": {"on_duty": False},
    "transcript": {"conversation_id": 999},
    "call_sheet": {"conversation_id": 999},
    "attempt": {"conversation_id": 999, "outcome": "no_answer"},
    "resources": {"conversation_id": 999},
    "refer": {"conversation_id": 999, "resource_id": 999},
    "set_area": {"conversation_id": 999, "area": "x"},
    "canned": {"conversation_id": 999},
    "canned_save": {
        "id": 999,
        "category": "other",
        "lang": "zh",
        "title": "x",
        "body": "x",
    },
    "canned_delete": {"id": 999},
    "set_name": {"conversation_id": 999, "name": "x"},
    "debrief": {"note": "x"},
    "history": {"conversation_id": 999},
    "debrief_handled": {"debrief_id": 999},
    "pause": {"minutes": 5},
    "resume": {},
    "colleagues": {},
    "transfer": {"conversation_id": 999, "to_user_id": 999, "note": "x"},
    "transfer_accept": {"transfer_id": 999},
    "transfer_decline": {"transfer_id": 999, "note": "x"},
    "transfer_cancel": {"transfer_id": 999},
    "transfer_to_queue": {"conversation_id": 999, "note": "x"},
    "live_conversations": {},
    "monitor": {"conversation_id": 999},
    "unmonitor": {"conversation_id": 999},
    "whisper": {"conversation_id": 999, "body": "x"},
    "join_openly": {"conversation_id": 999},
    "escalations": {},
    "acknowledge": {"escalation_id": 999},
    "join": {"escalation_id": 999, "take_over": False},
    "close_escalation": {"escalation_id": 999, "outcome": "false_alarm", "notes": "x"},
    "assign": {"escalation_id": 999, "assignee_id": 1},
}
PAGES = {
    "console": "/console",
    "supervisor": "/supervisor",
    "audit": "/supervisor/audit",
    "reports": "/supervisor/reports",
    "admin": "/admin",
    "escalations": "/api/escalations",
    "block": "/supervisor/blocks",
    "team": "/api/team",
    "directory": "/admin/resources",
    "referrals": "/supervisor/referrals",
    "canned_library": "/supervisor/canned",
    "metrics": "/metrics",
}
CONSOLE_ROLES = [Role.COUNSELOR, Role.SOCIAL_WORKER, Role.SUPERVISOR]


def test_every_permission_is_exercised():
    assert set(EVENTS) | set(PAGES) | {"staff"} >= set(PERMISSIONS)


def signed_in(app, make_user, role):
    make_user(f"user-{role.value}", role)
    http = app.test_client()
    response = http.post(
        "/api/auth/login",
        json={"username": f"user-{role.value}", "password": PASSWORD},
    )
    assert response.status_code == 200
    return http


@pytest.mark.parametrize("role", CONSOLE_ROLES, ids=str)
def test_socket_events_follow_the_matrix(app, make_user, role):
    http = signed_in(app, make_user, role)
    console = socketio.test_client(app, namespace=CONSOLE, flask_test_client=http)
    assert console.is_connected(CONSOLE)
    for event, payload in EVENTS.items():
        ack = console.emit(event, payload, namespace=CONSOLE, callback=True)
        code = None if ack.get("ok") else ack["error"]["code"]
        if role in PERMISSIONS[event]:
            assert code not in ("forbidden", "unauthorized"), (event, ack)
        else:
            assert code == "forbidden", (event, ack)


def test_signed_out_socket_is_refused(app):
    console = socketio.test_client(app, namespace=CONSOLE)
    assert not console.is_connected(CONSOLE)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_pages_follow_the_matrix(app, make_user, role):
    http = signed_in(app, make_user, role)
    for action, path in PAGES.items():
        response = http.get(path)
        if role in PERMISSIONS[action]:
            assert response.status_code == 200, (path, response.status_code)
        elif action == "console" and role is Role.ADMIN:
            assert response.headers["Location"] == "/admin"
        else:
            assert response.status_code == 403, (path, response.status_code)


@pytest.mark.parametrize("path", list(PAGES.values()))
def test_signed_out_pages_redirect_or_refuse(client, path):
    response = client.get(path)
    # The API and the metrics a scraper reads answer 401; pages send people
    # to sign in.
    if path.startswith("/api/") or path == "/metrics":
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login")


def test_audit_log_has_no_write_routes(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
