"""The resident's safety net (issue #17): quick exit leaves no trace, the exit
stays in reach on a phone, the ended page keeps the cards and the crisis
numbers, a waiting resident is told when a counsellor joins, and a refused
connection is never "Reconnecting…" forever."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import User
from hotline.services import blocks
from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    add_food_station,
    bodies,
    claim,
    in_database,
    screenshot,
    send,
    start_chat,
)
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

# Five chats in this module: the server allows six starts a minute.
EARLIER_PAGE = "/console/login"
OpenPage = Callable[..., tuple[Page, object]]


def page_strings(page: Page) -> dict:
    return page.evaluate("JSON.parse(document.getElementById('strings').textContent)")


def stored_state(page: Page) -> dict:
    return page.evaluate(
        "({local: Object.keys(localStorage), session: Object.keys(sessionStorage)})"
    )


def cookie_names(page: Page) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies()}


def wait_for_no_language_cookie(page: Page) -> None:
    deadline = time.monotonic() + 5
    while "hotline_lang" in cookie_names(page) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "hotline_lang" not in cookie_names(page)


def test_quick_exit_leaves_nothing_on_the_device(
    open_page: OpenPage, server: HotlineServer
):
    page, _ = open_page("resident", locale="zh-CN")
    page.goto(EARLIER_PAGE)
    page.goto("/")
    # Choosing English takes no history entry of its own ...
    history = page.evaluate("history.length")
    page.click(".lang-switch a[lang=en]")
    page.wait_for_url("**/?lang=en")
    assert page.evaluate("history.length") == history
    assert "hotline_lang" in cookie_names(page)
    start_chat(page)
    send(page, "I don't want anyone at home to see this")
    expect(bodies(page, "resident")).to_have_count(1)
    page.locator("#text-size").click()
    page.locator("#join-sound").click()
    assert stored_state(page)["local"]

    page.press("#body", "Escape")
    page.wait_for_url(f"{server.base_url}/api/health")
    # ... so the exit replaced the hotline's only entry, and Back skips it.
    assert page.evaluate("history.length") == history
    page.go_back()
    page.wait_for_url(f"**{EARLIER_PAGE}")
    assert stored_state(page) == {"local": [], "session": []}
    wait_for_no_language_cookie(page)

    # Opening the site again on this device shows a fresh start, in Chinese.
    page.goto("/")
    expect(page.locator("#welcome")).to_be_visible()
    expect(page.locator("#chat")).to_be_hidden()
    expect(page.locator("#messages li")).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#text-size")).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(page.locator("#welcome")).to_be_visible()
    expect(page.locator("#messages li")).to_have_count(0)


def test_resident_page_is_never_cached(open_page: OpenPage):
    page, _ = open_page("resident")
    response = page.goto("/")
    assert response is not None
    assert response.headers["cache-control"] == "no-store"


def test_phone_exit_control_stays_in_view_and_three_fingers_leave(
    open_page: OpenPage, server: HotlineServer
):
    page, _ = open_page("resident", viewport=PHONE)
    page.goto(EARLIER_PAGE)
    page.goto("/")
    start_chat(page)
    for number in range(6):
        send(page, f"第 {number + 1} 条消息，{'很长的一段话。' * 12}")
    expect(bodies(page, "resident")).to_have_count(6)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("window.scrollY") > 300
    exit_button = page.locator("#quick-exit")
    expect(exit_button).to_be_in_viewport(ratio=1)
    box = exit_button.bounding_box()
    assert box is not None and 0 <= box["y"] < 80
    screenshot(page, "resident-phone-scrolled")

    history = page.evaluate("history.length")
    cdp = page.context.new_cdp_session(page)
    fingers = [{"x": 100 + 60 * n, "y": 400, "id": n} for n in range(3)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers})
    page.wait_for_url(f"{server.base_url}/api/health")
    assert page.evaluate("history.length") == history
    page.go_back()
    page.wait_for_url(f"**{EARLIER_PAGE}")
    assert stored_state(page) == {"local": [], "session": []}


def test_ended_page_keeps_cards_crisis_numbers_and_survey(
    server: HotlineServer, resident: Page, console: Page
):
    in_database(server, add_food_station)
    conversation_id = start_chat(resident)
    send(resident, "家里没米了，菜也吃完了")
    expect(bodies(resident, "resident")).to_have_count(1)
    claim(console, conversation_id)
    console.locator("#resources-panel li.resource button.send-resource").click()
    expect(resident.locator("#messages .referral-card")).to_have_count(1)

    console.click("#wrap-up-open")
    dialog = console.locator("#wrap-up")
    dialog.locator("select[name=outcome]").select_option("referred")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()

    ended = resident.locator("#ended")
    expect(ended).to_be_visible()
    card = ended.locator("#ended-cards .referral-card")
    expect(card).to_have_count(1)
    expect(card.locator(".card-name")).to_have_text("社区食物站")
    expect(card.locator(".card-contact a")).to_have_attribute("href", "tel:13800138000")
    crisis = ended.locator(".ended-crisis a[href^='tel:']")
    expect(crisis).to_have_count(3)
    expect(ended.locator("#survey")).to_be_visible()
    resident.context.grant_permissions(["clipboard-read", "clipboard-write"])
    card.locator("button.card-copy").click()
    expect(card.locator(".card-status")).to_have_text(
        page_strings(resident)["card"]["copied"]
    )
    assert "138 0013 8000" in resident.evaluate("navigator.clipboard.readText()")
    screenshot(resident, "resident-ended-with-card")

    # Still there after a reload.
    resident.reload()
    ended_card = resident.locator("#ended #ended-cards .card-name")
    expect(ended_card).to_have_text("社区食物站")


def test_waiting_resident_is_told_when_a_counsellor_joins(
    open_page: OpenPage, console: Page
):
    page, _ = open_page("resident", viewport=DESKTOP)
    page.add_init_script(
        "navigator.vibrate = (pattern) => { window.vibrated = pattern; return true; };"
    )
    page.goto("/")
    conversation_id = start_chat(page)
    before = page.title()
    sound = page.locator("#join-sound")
    expect(sound).to_be_visible()
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    joined = page_strings(page)["active"]

    claim(console, conversation_id)
    expect(page).to_have_title(f"● {joined}")
    expect(page.locator("#announcer")).to_have_text(joined)
    expect(page.locator("#announcer")).to_have_attribute("aria-live", "assertive")
    assert page.evaluate("window.vibrated") == [200, 100, 200]
    expect(sound).to_be_hidden()

    # Back at the page and typing: the title is the page's own again.
    page.press("#body", "a")
    expect(page).to_have_title(before)
    # A reload into the active chat does not signal again.
    page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "active")
    expect(page).to_have_title(before)


def test_blocked_contact_sees_crisis_numbers_not_reconnecting(
    server: HotlineServer, resident: Page
):
    conversation_id = start_chat(resident)

    def block(session: Session) -> None:
        actor = session.scalar(select(User.id).where(User.username == "ana"))
        blocks.block_contact(session, conversation_id, actor, hours=1, reason="test")

    in_database(server, block)
    resident.reload()
    panel = resident.locator("#welcome-crisis")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("我们现在无法接听这次来访")
    expect(panel.locator("a[href^='tel:']")).to_have_count(3)
    expect(resident.locator("#connection")).to_be_hidden()
    expect(resident.locator("#chat")).to_be_hidden()
    screenshot(resident, "resident-blocked")


def test_unknown_token_offers_a_fresh_start(resident: Page):
    resident.evaluate(
        "localStorage.setItem('hotline.conversation', "
        "JSON.stringify({id: 999999, token: 'x'.repeat(43)}))"
    )
    resident.reload()
    expect(resident.locator("#welcome")).to_be_visible()
    expect(resident.locator("#welcome-error")).to_have_text(
        page_strings(resident)["token_lost"]
    )
    expect(resident.locator("#connection")).to_be_hidden()
    assert resident.evaluate("localStorage.getItem('hotline.conversation')") is None


@pytest.mark.parametrize(
    ("lang", "title"), [("zh", "找不到这个页面"), ("en", "Page not found")]
)
def test_not_found_page_speaks_the_users_language(
    open_page: OpenPage, lang: str, title: str
):
    page, _ = open_page("resident")
    response = page.goto(f"/no-such-page?lang={lang}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text(title)


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "You cannot open this page"), ("zh", "你不能打开这个页面")],
)
def test_forbidden_page_speaks_the_ui_language_and_names_no_internals(
    console: Page, lang: str, title: str
):
    response = console.goto(f"/supervisor/canned?lang={lang}")
    assert response is not None and response.status == 403
    expect(console.locator("h1")).to_have_text(title)
    text = console.locator("main").inner_text()
    assert "canned" not in text and "'" not in text
    expect(console.locator("main a")).to_have_attribute("href", "/console")
