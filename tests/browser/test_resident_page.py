"""The resident page on its own: quick exit and language."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, start_chat
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

# Two chats in this module: the server allows six starts a minute.
EARLIER_PAGE = "/console/login"


def open_resident_after(open_page: Callable[..., tuple[Page, object]]) -> Page:
    """A resident page reached from another page, so there is a back history."""
    page, _ = open_page("resident")
    page.goto(EARLIER_PAGE)
    page.goto("/")
    return page


def assert_left_without_trace(page: Page, server: HotlineServer, history: int) -> None:
    page.wait_for_url(f"{server.base_url}/api/health")
    # location.replace(): the chat page took no new history entry ...
    assert page.evaluate("history.length") == history
    # ... so Back skips it and lands on the page before.
    page.go_back()
    page.wait_for_url(f"**{EARLIER_PAGE}")


def test_quick_exit_button_leaves_and_skips_history(
    open_page: Callable[..., tuple[Page, object]], server: HotlineServer
):
    page = open_resident_after(open_page)
    history = page.evaluate("history.length")
    page.click("#quick-exit")
    assert_left_without_trace(page, server, history)


def test_escape_leaves_even_while_typing(
    open_page: Callable[..., tuple[Page, object]], server: HotlineServer
):
    page = open_resident_after(open_page)
    start_chat(page)
    history = page.evaluate("history.length")
    page.fill("#body", "我在写一半")
    page.press("#body", "Escape")
    assert_left_without_trace(page, server, history)


ASCII_WORD = re.compile(r"[A-Za-z]{3,}")


def visible_words(page: Page) -> set[str]:
    return set(ASCII_WORD.findall(page.locator("body").inner_text()))


@pytest.mark.parametrize("browser_locale", ["zh-CN", "fr-FR"])
def test_chinese_is_the_default(
    open_page: Callable[..., tuple[Page, object]], browser_locale: str
):
    page, _ = open_page("resident", locale=browser_locale)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#start-chat")).to_have_text("开始聊天")
    expect(page.locator("#quick-exit")).to_have_text("快速离开")
    expect(page.locator(".lang-switch a[aria-current]")).to_have_text("中文")
    # No English left but the other language's name and the Esc key.
    assert visible_words(page) <= {"English", "Esc"}
    screenshot(page, f"resident-welcome-{browser_locale}")


def test_english_choice_sticks_after_reload(
    open_page: Callable[..., tuple[Page, object]],
):
    page, _ = open_page("resident", locale="zh-CN")
    page.goto("/")
    page.click(".lang-switch a[lang=en]")
    page.wait_for_url("**/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#start-chat")).to_have_text("Start a chat")
    expect(page.locator("#quick-exit")).to_have_text("Quick exit")

    page.reload()
    expect(page.locator("#start-chat")).to_have_text("Start a chat")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".lang-switch a[aria-current]")).to_have_text("English")
    # Text the script shows comes from the same language.
    start_chat(page)
    expect(page.locator("#status")).to_have_text(
        re.compile(r"^You are number \d+ in the queue")
    )
    screenshot(page, "resident-waiting-en")

    page.click(".lang-switch a[lang=zh-CN]")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#status")).to_have_text(re.compile(r"^你在队列中排第 \d+ 位"))
