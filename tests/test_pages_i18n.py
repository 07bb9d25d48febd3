"""Every page renders in Chinese and in English, and a Chinese page shows no
English text from the catalogue (so nothing was left untranslated)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hotline.models import Role
from tests.conftest import PASSWORD

CATALOGUE = (
    Path(__file__).resolve().parents[1]
    / "hotline/translations/zh/LC_MESSAGES/messages.po"
)
PAGES = {
    None: ["/", "/console/login"],
    Role.COUNSELOR: ["/console"],
    Role.SUPERVISOR: [
        "/supervisor",
        "/supervisor/audit",
        "/supervisor/reports",
        "/supervisor/referrals",
        "/supervisor/blocks",
        "/supervisor/canned",
        "/supervisor/conversations/{conversation_id}",
        "/admin/resources",
        "/admin/resources/new",
    ],
    Role.ADMIN: ["/admin"],
}
TAG = re.compile(r"<[^>]+>")
SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S)


def english_phrases() -> list[str]:
    """Catalogue entries long enough to be unmistakable, whose Chinese differs."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    phrases = []
    for message in catalogue:
        if not message.id or isinstance(message.id, tuple):
            continue
        if "%(" in message.id or "{" in message.id or message.string == message.id:
            continue
        if len(message.id) >= 12 and " " in message.id:
            phrases.append(message.id)
    return phrases


def visible_text(page: str) -> str:
    # Script blocks hold the strings for both the page and its JSON data;
    # what a person reads is the markup's text.
    return html.unescape(TAG.sub(" ", SCRIPT.sub(" ", page)))


@pytest.fixture
def conversation_id(start_chat) -> int:
    return start_chat()["conversation_id"]


@pytest.mark.parametrize("role", list(PAGES), ids=lambda r: str(r or "resident"))
def test_every_page_renders_in_both_languages(app, make_user, conversation_id, role):
    http = app.test_client()
    if role is not None:
        make_user(f"user-{role.value}", role)
        response = http.post(
            "/api/auth/login",
            json={"username": f"user-{role.value}", "password": PASSWORD},
        )
        assert response.status_code == 200
    phrases = english_phrases()
    for path in PAGES[role]:
        url = path.format(conversation_id=conversation_id)
        zh = http.get(f"{url}?lang=zh")
        en = http.get(f"{url}?lang=en")
        assert zh.status_code == en.status_code == 200, url
        zh_page, en_page = zh.get_data(as_text=True), en.get_data(as_text=True)
        assert '<html lang="zh-CN">' in zh_page and '<html lang="en">' in en_page
        zh_text, en_text = visible_text(zh_page), visible_text(en_page)
        assert zh_text != en_text, url
        left_in_english = [p for p in phrases if p in zh_text]
        assert left_in_english == [], (url, left_in_english)
        # And the English page really is English where the catalogue says so.
        assert any(p in en_text for p in phrases), url
