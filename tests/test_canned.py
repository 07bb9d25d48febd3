"""Quick replies (canned responses): the service rules, the console's socket
events, the supervisors' library page and the default bilingual library."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.cli import main
from hotline.errors import Forbidden, InvalidInput, NotFound
from hotline.extensions import db
from hotline.models import AuditEvent, CannedResponse, Conversation, Role, User
from hotline.services import canned
from tests.conftest import PASSWORD

NS = "/console"


@pytest.fixture
def session_for(app: Flask) -> Callable[[], Any]:
    """A short unit of work, as a handler runs one (SQLite allows one writer:
    never keep one open)."""

    @contextmanager
    def open_session() -> Iterator[Session]:
        with app.app_context(), db.transaction() as session:
            yield session

    return open_session


@pytest.fixture
def staff(make_user: Callable[..., int]) -> dict[str, int]:
    return {
        "sue": make_user("sue", Role.SUPERVISOR),
        "ana": make_user("ana", Role.COUNSELOR),
        "bo": make_user("bo", Role.COUNSELOR),
    }


def shared(session_for, staff, category, lang, title, body="text") -> int:
    with session_for() as session:
        data = canned.check_input(category, lang, title, body)
        return canned.create_shared(session, staff["sue"], data).response_id


def own(session_for, owner_id, category, lang, title, body="text") -> int:
    with session_for() as session:
        data = canned.check_input(category, lang, title, body)
        return canned.save_own(session, owner_id, data).response_id


def titles(views: list[canned.CannedView]) -> list[str]:
    return [view.title for view in views]


def emit(client, event: str, **payload: Any) -> dict[str, Any]:
    return client.emit(event, payload, namespace=NS, callback=True)


# --- filling placeholders ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "name", "counselor", "lang", "expected"),
    [
        (
            "{name}好，我是热线的{counselor}。",
            "小林",
            "阿安",
            "zh",
            "小林好，我是热线的阿安。",
        ),
        (
            "{name}好，我是热线的{counselor}。",
            None,
            "",
            "zh",
            "你好，我是热线的咨询员。",
        ),
        (
            "Hi {name}, this is {counselor} from the hotline.",
            None,
            None,
            "en",
            "Hi there, this is your counsellor from the hotline.",
        ),
        (
            "Hi {name}, this is {counselor}.",
            "  ",
            " Ana ",
            "en",
            "Hi there, this is Ana.",
        ),
        # A name that looks like a placeholder is inserted as typed.
        (
            "Hi {name}, this is {counselor}.",
            "{counselor}",
            "Ana",
            "en",
            "Hi {counselor}, this is Ana.",
        ),
        # Other braces are text, not a format string.
        ("{name}: {unknown} {} {{name}}", "Li", "", "en", "Li: {unknown} {} {Li}"),
    ],
)
def test_fill_replaces_placeholders_with_neutral_fallbacks(
    body, name, counselor, lang, expected
):
    assert canned.fill(body, name, counselor, lang) == expected


def test_default_library_uses_placeholders_only_where_the_fallback_reads_well():
    # {name} opens a greeting ("{name}好" / "Hi {name},"), so 你好 and
    # "Hi there," read naturally when the resident has not said a name.
    allowed = {"zh": r"\{name\}好，", "en": r"Hi \{name\}, "}
    for _category, lang, title, body in canned.DEFAULT_LIBRARY:
        if "{name}" in body:
            assert body.count("{name}") == 1, title
            assert re.match(allowed[lang], body), title
        filled = canned.fill(body, None, None, lang)
        assert "{" not in filled and "}" not in filled, title
    greetings = [e for e in canned.DEFAULT_LIBRARY if e[0] == "greeting"]
    assert canned.fill(greetings[0][3], None, None, "zh").startswith(
        "你好，我是热线的咨询员。"
    )
    assert canned.fill(greetings[1][3], None, None, "en").startswith(
        "Hi there, this is your counsellor from the hotline."
    )


# --- the default library ---------------------------------------------------


def test_default_library_is_installed_once_with_every_category_in_both_languages(
    app, session_for
):
    with session_for() as session:
        assert canned.install_default_library(session) == len(canned.DEFAULT_LIBRARY)
    with session_for() as session:
        assert canned.install_default_library(session) == 0
        rows = session.execute(
            select(CannedResponse.category, CannedResponse.lang, CannedResponse.body)
        ).all()
    assert len(rows) == len(canned.DEFAULT_LIBRARY)
    for category in ("greeting", "listening", "safety", "breathing", "closing"):
        counts = {
            lang: sum(1 for c, lg, _ in rows if c == category and lg == lang)
            for lang in ("zh", "en")
        }
        assert counts["zh"] == counts["en"] >= 1, category
    assert sum(1 for c, _, _ in rows if c == "listening") >= 8
    # Safety questions ask about suicide directly, in both languages.
    safety = [body for c, _, body in rows if c == "safety"]
    assert any("自杀" in body for body in safety)
    assert any("suicide" in body for body in safety)


def test_installing_again_keeps_what_supervisors_retired_or_reworded(
    app, session_for, staff
):
    with session_for() as session:
        canned.install_default_library(session)
    with session_for() as session:
        first, second = session.scalars(
            select(CannedResponse.id).order_by(CannedResponse.id).limit(2)
        ).all()
    with session_for() as session:
        canned.set_shared_active(session, staff["sue"], first, False)
    with session_for() as session:
        view = canned.get_shared(session, second)
        data = canned.check_input(view.category, view.lang, "我的开场白", view.body)
        canned.update_shared(session, staff["sue"], second, data)
    with session_for() as session:
        assert canned.install_default_library(session) == 0
        assert session.scalar(select(func.count(CannedResponse.id))) == len(
            canned.DEFAULT_LIBRARY
        )


def test_db_upgrade_installs_the_default_library_once(database_url, session_for):
    env = {"HOTLINE_DATABASE_URL": database_url, "HOTLINE_SECRET_KEY": "cli-test"}
    first = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert f"added {len(canned.DEFAULT_LIBRARY)} quick replies" in first.output
    again = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert again.exit_code == 0, again.output
    assert "quick replies" not in again.output
    with session_for() as session:
        langs = session.scalars(select(CannedResponse.lang)).all()
    assert sorted(set(langs)) == ["en", "zh"]
    assert len(langs) == len(canned.DEFAULT_LIBRARY)


# --- listing and search --------------------------------------------------------


def test_list_is_ordered_by_category_in_conversation_order_then_title(
    session_for, staff
):
    shared(session_for, staff, "closing", "en", "Goodbye")
    shared(session_for, staff, "other", "en", "Aardvark")
    shared(session_for, staff, "greeting", "en", "Welcome")
    shared(session_for, staff, "safety", "en", "Ask about suicide")
    shared(session_for, staff, "listening", "en", "Reflect")
    shared(session_for, staff, "breathing", "en", "Slow breathing")
    own(session_for, staff["ana"], "greeting", "en", "Afternoon")
    with session_for() as session:
        views = canned.list_for_counselor(session, staff["ana"])
    assert titles(views) == [
        "Afternoon",
        "Welcome",
        "Reflect",
        "Ask about suicide",
        "Slow breathing",
        "Goodbye",
        "Aardvark",
    ]
    assert [view.is_shared for view in views][:2] == [False, True]


def test_list_filters_by_language_and_shows_shared_and_own_only(session_for, staff):
    shared(session_for, staff, "greeting", "zh", "开场问候")
    shared(session_for, staff, "greeting", "en", "Welcome")
    retired = shared(session_for, staff, "greeting", "en", "Old welcome")
    with session_for() as session:
        canned.set_shared_active(session, staff["sue"], retired, False)
    own(session_for, staff["ana"], "other", "en", "Ana's own")
    own(session_for, staff["bo"], "other", "en", "Bo's own")
    with session_for() as session:
        assert titles(canned.list_for_counselor(session, staff["ana"], lang="en")) == [
            "Welcome",
            "Ana's own",
        ]
        assert titles(canned.list_for_counselor(session, staff["ana"], lang="zh")) == [
            "开场问候"
        ]
        assert titles(canned.list_for_counselor(session, staff["bo"])) == [
            "Welcome",
            "开场问候",
            "Bo's own",
        ]


def test_search_needs_every_word_in_the_title_or_the_body(session_for, staff):
    shared(session_for, staff, "breathing", "en", "Slow breathing", "Count to four.")
    shared(session_for, staff, "safety", "en", "Safe right now?", "Are you SAFE?")
    shared(session_for, staff, "other", "en", "Percent", "100% with you")
    shared(session_for, staff, "breathing", "zh", "放慢呼吸", "我们先一起慢下来。")
    with session_for() as session:

        def search(query: str) -> list[str]:
            return titles(canned.list_for_counselor(session, staff["ana"], query=query))

        assert search("BREATH") == ["Slow breathing"]
        assert search("safe") == ["Safe right now?"]
        assert search("count breathing") == ["Slow breathing"]
        assert search("count safe") == []
        assert search("慢下来") == ["放慢呼吸"]
        # LIKE wildcards are searched for literally.
        assert search("%") == ["Percent"]
        assert search("_") == []
        assert len(search("   ")) == 4


# --- who may change what ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (("chat", "zh", "t", "b"), "category"),
        (("greeting", "fr", "t", "b"), "lang"),
        (("greeting", "zh", "  ", "b"), "title"),
        (("greeting", "zh", "t" * 101, "b"), "title"),
        (("greeting", "zh", "t", ""), "body"),
        (("greeting", "zh", "t", "b" * 2001), "body"),
        (("greeting", "zh", "t", ["b"]), "body"),
    ],
)
def test_check_input_names_the_bad_field(fields, field):
    with pytest.raises(InvalidInput) as raised:
        canned.check_input(*fields)
    assert raised.value.details["field"] == field


def test_check_input_cleans_text():
    data = canned.check_input("other", "en", " Two\nlines \x07", " a\r\nb\x00 ")
    assert data.title == "Two lines"
    assert data.body == "a\nb"


def test_only_supervisors_change_the_shared_library(session_for, staff):
    data = canned.check_input("greeting", "en", "Hello", "Hi {name}")
    with session_for() as session, pytest.raises(Forbidden):
        canned.create_shared(session, staff["ana"], data)
    response_id = shared(session_for, staff, "greeting", "en", "Hello")
    with session_for() as session, pytest.raises(Forbidden):
        canned.update_shared(session, staff["ana"], response_id, data)
    with session_for() as session, pytest.raises(Forbidden):
        canned.set_shared_active(session, staff["ana"], response_id, False)
    # Nor through the counsellors' own functions.
    with session_for() as session, pytest.raises(Forbidden):
        canned.save_own(session, staff["ana"], data, response_id)
    with session_for() as session, pytest.raises(Forbidden):
        canned.delete_own(session, staff["ana"], response_id)
    with session_for() as session:
        assert canned.get_shared(session, response_id).active


def test_own_responses_are_changed_and_deleted_by_their_owner_only(session_for, staff):
    mine = own(session_for, staff["ana"], "other", "zh", "我的")
    changed = canned.check_input("closing", "en", "Mine, reworded", "Bye.")
    with session_for() as session, pytest.raises(NotFound):
        canned.save_own(session, staff["bo"], changed, mine)
    with session_for() as session, pytest.raises(NotFound):
        canned.delete_own(session, staff["bo"], mine)
    with session_for() as session:
        view = canned.save_own(session, staff["ana"], changed, mine)
    assert (view.response_id, view.category, view.lang) == (mine, "closing", "en")
    with session_for() as session:
        canned.delete_own(session, staff["ana"], mine)
    with session_for() as session:
        assert canned.list_for_counselor(session, staff["ana"]) == []
        with pytest.raises(NotFound):
            canned.delete_own(session, staff["ana"], mine)


def test_personal_responses_are_limited(session_for, staff, monkeypatch):
    monkeypatch.setattr(canned, "MAX_PERSONAL_RESPONSES", 2)
    own(session_for, staff["ana"], "other", "en", "one")
    own(session_for, staff["ana"], "other", "en", "two")
    with pytest.raises(InvalidInput):
        own(session_for, staff["ana"], "other", "en", "three")
    own(session_for, staff["bo"], "other", "en", "Bo's first")


def test_shared_changes_are_audited(session_for, staff):
    response_id = shared(session_for, staff, "greeting", "en", "Hello", "Hi {name}")
    data = canned.check_input("greeting", "en", "Hello", "Hi {name}, welcome.")
    with session_for() as session:
        canned.update_shared(session, staff["sue"], response_id, data)
        # Saving without a change records nothing.
        canned.update_shared(session, staff["sue"], response_id, data)
        canned.set_shared_active(session, staff["sue"], response_id, False)
        canned.set_shared_active(session, staff["sue"], response_id, False)
        canned.set_shared_active(session, staff["sue"], response_id, True)
    with session_for() as session:
        entries = session.execute(
            select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.details).order_by(
                AuditEvent.id
            )
        ).all()
    actions = [a for a, _, _ in entries if a.startswith("canned_")]
    assert actions == [
        "canned_added",
        "canned_updated",
        "canned_retired",
        "canned_reactivated",
    ]
    updated = next(d for a, _, d in entries if a == "canned_updated")
    assert updated["changed"] == ["body"] and updated["response_id"] == response_id
    assert {actor for a, actor, _ in entries if a.startswith("canned_")} == {
        staff["sue"]
    }


# --- socket events ---------------------------------------------------------------


@pytest.fixture
def held_english_chat(app, session_for, start_chat, counselor_socket):
    """The default library, and an English chat held by counsellor ``ana``."""
    with session_for() as session:
        canned.install_default_library(session)
    chat = start_chat("en")
    console = counselor_socket("ana")
    assert emit(console, "claim", conversation_id=chat["conversation_id"])["ok"]
    return chat["conversation_id"], console


def test_canned_lists_the_conversation_language_filled_in(
    held_english_chat, session_for
):
    cid, console = held_english_chat
    ack = emit(console, "canned", conversation_id=cid)
    assert ack["ok"] and ack["lang"] == "en" and ack["resident_name"] is None
    assert {r["lang"] for r in ack["responses"]} == {"en"}
    assert ack["responses"][0]["category"] == "greeting"
    welcome = next(r for r in ack["responses"] if r["title"] == "Welcome")
    assert welcome["body"].startswith("Hi {name}, this is {counselor} from")
    assert welcome["text"].startswith("Hi there, this is your counsellor from")

    assert emit(console, "set_name", conversation_id=cid, name="  Sam  ") == {
        "ok": True,
        "name": "Sam",
    }
    with session_for() as session:
        session.execute(
            update(User).where(User.username == "ana").values(display_name="Ana")
        )
    ack = emit(console, "canned", conversation_id=cid, q="welcome")
    assert [r["title"] for r in ack["responses"]] == ["Welcome"]
    assert ack["responses"][0]["text"].startswith(
        "Hi Sam, this is Ana from the hotline."
    )
    assert ack["resident_name"] == "Sam"
    # The other language can be asked for; it is filled in its own words.
    ack = emit(console, "canned", conversation_id=cid, lang="zh", q="开场")
    assert [r["title"] for r in ack["responses"]] == ["开场问候"]
    assert ack["responses"][0]["text"].startswith("Sam好，我是热线的Ana。")
    # Without a conversation: both languages, nothing filled.
    ack = emit(console, "canned")
    assert {r["lang"] for r in ack["responses"]} == {"zh", "en"}
    assert all(r["text"] == r["body"] for r in ack["responses"])


def test_canned_and_set_name_are_for_the_holder_only(
    held_english_chat, counselor_socket, scalar
):
    cid, _holder = held_english_chat
    other = counselor_socket("bo")
    assert emit(other, "canned", conversation_id=cid)["error"]["code"] == "not_holder"
    assert emit(other, "set_name", conversation_id=cid, name="X")["error"]["code"] == (
        "not_holder"
    )
    assert emit(other, "canned", conversation_id=9999)["error"]["code"] == ("not_found")
    assert scalar(select(Conversation.resident_name).where(Conversation.id == cid)) is (
        None
    )


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("canned", {"lang": "fr"}),
        ("canned", {"q": "x" * 101}),
        ("canned", {"conversation_id": "1"}),
        ("canned", ["not", "an", "object"]),
        ("set_name", {"name": "x" * 41}),
        ("set_name", {"name": 5}),
        ("canned_save", {"category": "x", "lang": "en", "title": "t", "body": "b"}),
        ("canned_save", {"category": "other", "lang": "en", "title": "t"}),
        ("canned_save", {"id": 0, "category": "other", "lang": "en", "title": "t"}),
        ("canned_delete", {"id": "1"}),
        ("canned_delete", {}),
    ],
)
def test_malformed_events_are_refused_and_the_connection_stays(
    held_english_chat, event, payload
):
    cid, console = held_english_chat
    if event == "set_name":
        payload = {"conversation_id": cid, **payload}
    ack = console.emit(event, payload, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_input"
    assert emit(console, "canned", conversation_id=cid)["ok"]


def test_set_name_with_nothing_clears_it(held_english_chat, scalar):
    cid, console = held_english_chat
    assert emit(console, "set_name", conversation_id=cid, name="小林")["name"] == "小林"
    assert emit(console, "set_name", conversation_id=cid, name="  ")["name"] is None
    assert scalar(select(Conversation.resident_name).where(Conversation.id == cid)) is (
        None
    )


def test_personal_replies_over_the_socket(held_english_chat, counselor_socket):
    cid, console = held_english_chat
    saved = emit(
        console,
        "canned_save",
        category="listening",
        lang="en",
        title="My check-in",
        body="How are you doing right now, {name}?",
    )
    assert saved["ok"] and saved["response"]["shared"] is False
    mine = saved["response"]["id"]
    listed = emit(console, "canned", conversation_id=cid, q="check-in")["responses"]
    assert [(r["id"], r["text"]) for r in listed] == [
        (mine, "How are you doing right now, there?")
    ]

    other = counselor_socket("bo")
    assert emit(other, "canned", q="check-in")["responses"] == []
    assert emit(other, "canned_delete", id=mine)["error"]["code"] == "not_found"
    changed = emit(
        other, "canned_save", id=mine, category="other", lang="en", title="x", body="y"
    )
    assert changed["error"]["code"] == "not_found"
    shared_id = listed_shared_id(console, cid)
    assert emit(console, "canned_delete", id=shared_id)["error"]["code"] == "forbidden"

    edited = emit(
        console,
        "canned_save",
        id=mine,
        category="listening",
        lang="en",
        title="My check-in",
        body="How are you doing right now?",
    )
    assert edited["response"]["id"] == mine
    assert emit(console, "canned_delete", id=mine) == {"ok": True}
    assert emit(console, "canned", q="check-in")["responses"] == []


def listed_shared_id(console, cid: int) -> int:
    responses = emit(console, "canned", conversation_id=cid)["responses"]
    return next(r["id"] for r in responses if r["shared"])


# --- the supervisors' page -----------------------------------------------------


def signed_in(app: Flask, username: str):
    http = app.test_client()
    response = http.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200
    return http


def test_supervisor_adds_edits_retires_and_reactivates_shared_replies(
    app, staff, session_for, scalar
):
    http = signed_in(app, "sue")
    page = http.get("/supervisor/canned")
    assert page.status_code == 200
    assert "{name}" in page.get_data(as_text=True)  # the placeholder help

    response = http.post(
        "/supervisor/canned",
        data={
            "category": "closing",
            "lang": "en",
            "title": "See you",
            "body": "Take care, and come back any time.",
        },
    )
    assert response.status_code == 302
    response_id = scalar(
        select(CannedResponse.id).where(CannedResponse.title == "See you")
    )
    listing = http.get("/supervisor/canned?lang=en").get_data(as_text=True)
    assert "See you" in listing and "Take care, and come back any time." in listing

    edit_page = http.get(f"/supervisor/canned/{response_id}/edit")
    assert "Take care, and come back any time." in edit_page.get_data(as_text=True)
    response = http.post(
        f"/supervisor/canned/{response_id}/edit",
        data={
            "category": "closing",
            "lang": "en",
            "title": "See you soon",
            "body": "Take care.",
        },
    )
    assert response.status_code == 302
    with session_for() as session:
        assert titles(canned.list_for_counselor(session, staff["ana"])) == [
            "See you soon"
        ]

    response = http.post(
        f"/supervisor/canned/{response_id}/active", data={"active": "0"}
    )
    assert response.status_code == 302
    with session_for() as session:
        assert canned.list_for_counselor(session, staff["ana"]) == []
    assert "See you soon" not in http.get("/supervisor/canned").get_data(as_text=True)
    assert "See you soon" in http.get("/supervisor/canned?status=retired").get_data(
        as_text=True
    )
    http.post(f"/supervisor/canned/{response_id}/active", data={"active": "1"})
    with session_for() as session:
        assert titles(canned.list_for_counselor(session, staff["ana"])) == [
            "See you soon"
        ]
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.startswith("canned_"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "canned_added",
        "canned_updated",
        "canned_retired",
        "canned_reactivated",
    ]


def test_supervisor_page_explains_a_bad_form_and_stores_nothing(app, staff, scalar):
    http = signed_in(app, "sue")
    response = http.post(
        "/supervisor/canned?lang=en",
        data={"category": "greeting", "lang": "en", "title": "", "body": "Hello"},
    )
    assert response.status_code == 200
    assert "Write a title of up to 100 characters." in response.get_data(as_text=True)
    assert scalar(select(func.count(CannedResponse.id))) == 0
    assert http.get("/supervisor/canned/999/edit").status_code == 404


@pytest.mark.parametrize("username", ["ana", "admin"])
def test_only_supervisors_reach_the_library_page(
    app, staff, make_user, session_for, username, scalar
):
    if username == "admin":
        make_user("admin", Role.ADMIN)
    response_id = shared(session_for, staff, "greeting", "en", "Hello")
    http = signed_in(app, username)
    assert http.get("/supervisor/canned").status_code == 403
    data = {"category": "greeting", "lang": "en", "title": "Mine", "body": "x"}
    assert http.post("/supervisor/canned", data=data).status_code == 403
    assert http.post(
        f"/supervisor/canned/{response_id}/edit", data=data
    ).status_code == (403)
    assert http.post(
        f"/supervisor/canned/{response_id}/active", data={"active": "0"}
    ).status_code == (403)
    assert scalar(select(func.count(CannedResponse.id))) == 1
    assert scalar(select(CannedResponse.active)) is True


def test_library_forms_need_the_csrf_token(app, staff, scalar):
    app.config["WTF_CSRF_ENABLED"] = True
    http = signed_in(app, "sue")
    data = {"category": "greeting", "lang": "en", "title": "Hello", "body": "Hi"}
    assert http.post("/supervisor/canned", data=data).status_code == 400
    page = http.get("/supervisor/canned").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = http.post("/supervisor/canned", data={**data, "csrf_token": token})
    assert response.status_code == 302
    assert scalar(select(func.count(CannedResponse.id))) == 1


def test_console_page_carries_the_picker_and_its_strings(app, staff):
    http = signed_in(app, "ana")
    page = http.get("/console?lang=en").get_data(as_text=True)
    assert 'id="canned-picker"' in page
    assert 'aria-keyshortcuts="Control+K Meta+K"' in page
    block = re.search(
        r'<script type="application/json" id="strings">(.*?)</script>', page
    )
    labels = json.loads(block.group(1))["canned"]
    assert labels["categories"]["safety"] == "Safety questions"
    assert labels["no_results"] == "No quick reply matches."
