"""Page scripts and forms take limits and role rules from the server (the
``hotline-config`` block), and share one module of DOM helpers: nothing
the server enforces is typed a second time in JavaScript or HTML."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from counselors.console.namespace import (
    MAX_NOTE_CHARS,
    MAX_QUERY_CHARS,
    MAX_REASON_CHARS,
)
from counselors.console.wellbeing_events import MAX_DEBRIEF_NOTE
from counselors.permissions import PERMISSIONS, RESPONDERS
from hotline.assets import STATIC_ROOT
from hotline.models import Role
from hotline.phones import MAX_RAW_CHARS
from hotline.resident.api import MAX_SURVEY_COMMENT
from hotline.services import canned, escalations, monitoring, referrals, transfers
from tests.conftest import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(
    path
    for path in STATIC_ROOT.rglob("*.js")
    if "node_modules" not in path.relative_to(STATIC_ROOT).parts
)
DOM_MODULE = STATIC_ROOT / "shared" / "dom.js"
SHARED_HELPERS = ("$", "element", "cell", "button", "showError", "readJson")


def _defines(name: str) -> re.Pattern[str]:
    """A function declaration, or an arrow function bound to the name."""
    escaped = re.escape(name)
    arrow = r"\s*=\s*(?:async\s*)?(?:\([^)]*\)|[\w$]+)\s*=>"
    return re.compile(
        rf"\bfunction\s+{escaped}\s*\("
        rf"|\b(?:const|let|var)\s+{escaped}{arrow}"
        rf"|\bthis\.{escaped}{arrow}"
    )


class FormLimits(HTMLParser):
    """The page's config block and each text field's maxlength, by id or name."""

    def __init__(self) -> None:
        super().__init__()
        self.config_text = ""
        self.maxlength: dict[str, str] = {}
        self._in_config = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._in_config = found.get("id") == "hotline-config"
        if "maxlength" in found:
            key = found.get("id") or f"{found.get('name')}"
            self.maxlength[key] = found["maxlength"] or ""

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config_text += data

    @property
    def config(self) -> dict:
        return json.loads(self.config_text)


def _page(app: Flask, make_user, path: str, role: Role | None) -> FormLimits:
    client = app.test_client()
    if role is not None:
        make_user(f"reader-{role}", role)
        signed_in = client.post(
            "/api/auth/login",
            json={"username": f"reader-{role}", "password": PASSWORD},
        )
        assert signed_in.status_code == 200
    response = client.get(path)
    assert response.status_code == 200
    page = FormLimits()
    page.feed(response.get_data(as_text=True))
    return page


def test_the_resident_page_carries_the_servers_limits(app: Flask, make_user) -> None:
    page = _page(app, make_user, "/", None)
    limits = page.config["limits"]
    assert limits == {
        "message_chars": app.config["MAX_MESSAGE_CHARS"],
        "callback_note_chars": app.config["MAX_CALLBACK_NOTE_CHARS"],
        "phone_chars": MAX_RAW_CHARS,
        "survey_comment_chars": MAX_SURVEY_COMMENT,
    }
    assert "roles" not in page.config
    assert page.maxlength["body"] == str(app.config["MAX_MESSAGE_CHARS"])
    assert page.maxlength["callback-phone"] == str(MAX_RAW_CHARS)
    assert page.maxlength["comment"] == str(MAX_SURVEY_COMMENT)


def test_the_message_limit_follows_the_configuration(app: Flask, make_user) -> None:
    app.config["MAX_MESSAGE_CHARS"] = 1234
    page = _page(app, make_user, "/", None)
    assert page.config["limits"]["message_chars"] == 1234
    assert page.maxlength["body"] == "1234"


def test_staff_pages_carry_the_limits_and_role_rules(app: Flask, make_user) -> None:
    page = _page(app, make_user, "/console", Role.SOCIAL_WORKER)
    config = page.config
    assert config["limits"] == {
        "message_chars": app.config["MAX_MESSAGE_CHARS"],
        "callback_note_chars": app.config["MAX_CALLBACK_NOTE_CHARS"],
        "phone_chars": MAX_RAW_CHARS,
        "survey_comment_chars": MAX_SURVEY_COMMENT,
        "note_chars": MAX_NOTE_CHARS,
        "reason_chars": MAX_REASON_CHARS,
        "resource_search_chars": MAX_QUERY_CHARS,
        "area_chars": referrals.MAX_AREA_CHARS,
        "debrief_note_chars": MAX_DEBRIEF_NOTE,
        "transfer_note_chars": transfers.MAX_NOTE_CHARS,
        "whisper_chars": monitoring.MAX_WHISPER_CHARS,
        "quick_reply_title_chars": canned.MAX_TITLE_CHARS,
        "quick_reply_search_chars": canned.MAX_QUERY_CHARS,
        "resident_name_chars": canned.MAX_NAME_CHARS,
    }
    assert config["roles"] == {
        "respond": sorted(RESPONDERS),
        "supervise": sorted(PERMISSIONS["supervisor"]),
    }
    assert set(config["roles"]["respond"]) == {"social_worker", "supervisor"}
    # Every text field of the console takes its length from the config.
    assert page.maxlength["body"] == str(app.config["MAX_MESSAGE_CHARS"])
    assert page.maxlength["note-body"] == str(MAX_NOTE_CHARS)
    assert page.maxlength["summary"] == str(MAX_NOTE_CHARS)
    assert page.maxlength["correct-reason"] == str(MAX_REASON_CHARS)
    assert page.maxlength["debrief-note"] == str(MAX_DEBRIEF_NOTE)
    assert set(page.maxlength.values()) <= {str(v) for v in config["limits"].values()}


@pytest.mark.parametrize(
    ("role", "sees_escalations"),
    [(Role.COUNSELOR, False), (Role.SOCIAL_WORKER, True), (Role.SUPERVISOR, True)],
)
def test_the_escalations_panel_follows_the_responder_rule(
    app: Flask, make_user, role: Role, sees_escalations: bool
) -> None:
    client = app.test_client()
    make_user("member", role)
    client.post("/api/auth/login", json={"username": "member", "password": PASSWORD})
    page = client.get("/console").get_data(as_text=True)
    assert ('id="escalations-panel"' in page) is sees_escalations


def test_python_has_one_responder_rule() -> None:
    assert frozenset(escalations.RESPONDER_ROLES) == RESPONDERS
    assert PERMISSIONS["acknowledge"] is RESPONDERS


@pytest.mark.parametrize(
    "path", SCRIPTS, ids=lambda path: str(path.relative_to(STATIC_ROOT))
)
def test_scripts_import_the_shared_helpers_instead_of_redefining_them(
    path: Path,
) -> None:
    source = path.read_text()
    if path == DOM_MODULE:
        return
    for name in SHARED_HELPERS:
        assert not _defines(name).search(source), f"{path.name} defines {name}"
        if re.search(rf"(?<![\w$.]){re.escape(name)}\(", source):
            assert re.search(
                rf"import \{{[^}}]*(?<![\w$]){re.escape(name)}(?![\w$])[^}}]*\}}"
                r' from "/static/shared/dom\.js"',
                source,
            ), f"{path.name} uses {name} without importing it"


def test_the_shared_helpers_are_defined_once() -> None:
    source = DOM_MODULE.read_text()
    for name in SHARED_HELPERS:
        assert _defines(name).search(source), name


@pytest.mark.parametrize(
    "path", SCRIPTS, ids=lambda path: str(path.relative_to(STATIC_ROOT))
)
def test_no_script_types_the_message_or_note_limit(app: Flask, path: Path) -> None:
    limits = {app.config["MAX_MESSAGE_CHARS"], MAX_NOTE_CHARS}
    numbers = {
        int(literal.replace("_", ""))
        for literal in re.findall(r"(?<![\w.$])\d[\d_]*(?![\w.])", path.read_text())
    }
    assert not numbers & limits, path.name


@pytest.mark.parametrize(
    "template",
    [
        "hotline/templates/resident/index.html",
        "counselors/console/templates/console/index.html",
        "counselors/supervisor/templates/supervisor/board.html",
    ],
)
def test_forms_the_scripts_drive_take_their_lengths_from_the_config(
    template: str,
) -> None:
    text = (TEMPLATES / template).read_text()
    assert not re.findall(r'maxlength="\d+"', text)


class NavLinks(HTMLParser):
    """The hrefs of the staff page's navigation."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self._in_nav = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "nav":
            self._in_nav = "staff-nav" in (found.get("class") or "")
        elif tag == "a" and self._in_nav:
            self.hrefs.append(found["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_nav = False


def test_the_staff_menu_offers_exactly_the_pages_a_role_may_open(
    app: Flask, make_user
) -> None:
    menus = {}
    clients = {}
    for role in Role:
        client = clients[role] = app.test_client()
        make_user(f"menu-{role}", role)
        client.post(
            "/api/auth/login", json={"username": f"menu-{role}", "password": PASSWORD}
        )
        page = NavLinks()
        page.feed(client.get("/account/password").get_data(as_text=True))
        menus[role] = set(page.hrefs)
    every_link = set().union(*menus.values())
    assert len(every_link) >= 9
    for role, client in clients.items():
        opens = {href for href in every_link if client.get(href).status_code == 200}
        assert menus[role] == opens, role
