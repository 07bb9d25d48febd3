"""A calm console for a long shift, by keyboard alone (issue #21): the tab's
title counts who waits and what is unread, "My conversations" shows unread
counts and the latest line of each chat, every action in a chat is reached
and done with the keyboard, and Esc never throws typed text away."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import bodies, claim, screenshot, send, start_chat

pytestmark = pytest.mark.browser


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)",
            selector,
        ):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_title_and_my_conversations_keep_count(
    resident: Page, console: Page, open_page
):
    expect(console).to_have_title("Console · Hotline")
    first = start_chat(resident)
    send(resident, "第一位居民")
    expect(console).to_have_title("(1 waiting) Console · Hotline")
    other, _ = open_page("resident-2")
    other.goto("/")
    second = start_chat(other)
    send(other, "第二位居民")
    expect(console).to_have_title("(2 waiting) Console · Hotline")

    claim(console, first)
    claim(console, second)
    expect(console).to_have_title("Console · Hotline")
    # The second is open; the first gets two lines while the counsellor reads.
    send(resident, "还有一件事")
    send(resident, "我家里没有药了\n第二行不显示")
    expect(bodies(resident, "resident")).to_have_count(3)
    item = console.locator("#held .held-item", has_text=f"#{first}")
    expect(item.locator(".unread-count")).to_have_text("2")
    expect(item.locator(".unread-count")).to_have_attribute(
        "aria-label", "2 new messages"
    )
    expect(item.locator(".held-preview")).to_have_text("我家里没有药了")
    expect(console).to_have_title("(2 unread) Console · Hotline")
    screenshot(console, "console-my-conversations")

    item.click()
    expect(item.locator(".unread-count")).to_have_count(0)
    expect(console).to_have_title("Console · Hotline")


def test_every_chat_action_by_keyboard_and_esc_keeps_drafts(
    resident: Page, console: Page
):
    conversation_id = start_chat(resident)
    send(resident, "最近很焦虑，整晚睡不着，心里很乱")
    expect(console.locator("#queue li.queue-item")).to_have_count(1)

    # Claim.
    console.locator("body").focus()
    tab_to(console, f'#queue li[data-conversation-id="{conversation_id}"] .claim')
    console.keyboard.press("Enter")
    expect(console.locator("#conversation-title")).to_contain_text(
        f"#{conversation_id}"
    )
    # Reply.
    tab_to(console, "#body")
    console.keyboard.type("你好，我在。")
    console.keyboard.press("Enter")
    expect(bodies(resident, "counselor")).to_have_text(["你好，我在。"])
    # Quick replies: Ctrl+K opens, Esc closes, the reply box keeps its text.
    console.keyboard.type("写了一半")
    console.keyboard.press("Control+k")
    expect(console.locator("#canned-picker")).to_be_visible()
    console.keyboard.press("Escape")
    expect(console.locator("#canned-picker")).to_be_hidden()
    expect(console.locator("#body")).to_have_value("写了一半")
    console.keyboard.press("Escape")
    expect(console.locator("#body")).to_have_value("写了一半")

    # A private note.
    tab_to(console, "details.notes > summary")
    console.keyboard.press("Enter")
    tab_to(console, "#note-body")
    console.keyboard.type("居民需要倾听")
    tab_to(console, "#note-form button[type=submit]")
    console.keyboard.press("Enter")
    expect(console.locator("#notes li")).to_contain_text(["居民需要倾听"])

    # Correct the level: choose, give a reason, save.
    tab_to(console, "#correct-level")
    console.keyboard.type("l")  # type-ahead: "Low" (never up to crisis here)
    expect(console.locator("#correct-level")).to_have_value("low")
    tab_to(console, "#correct-reason")
    console.keyboard.type("语气平静")
    console.keyboard.press("Enter")
    expect(console.locator("#toast")).to_have_text("Level corrected.")

    # Wrap-up: Esc closes the dialog, the typed summary is still there.
    tab_to(console, "#wrap-up-open")
    console.keyboard.press("Enter")
    dialog = console.locator("#wrap-up")
    expect(dialog).to_be_visible()
    summary = dialog.locator("textarea[name=summary]")
    summary.focus()
    console.keyboard.type("倾听，情绪平稳。")
    console.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    tab_to(console, "#wrap-up-open")
    console.keyboard.press("Enter")
    expect(summary).to_have_value("倾听，情绪平稳。")
    dialog.locator("select[name=outcome]").focus()
    dialog.locator("select[name=outcome]").select_option("supported")
    tab_to(console, "#wrap-up-form button[type=submit]")
    console.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(resident.locator("#ended")).to_be_visible()
    # The escalate button is in the same keyboard order (pressing it would
    # alert the team; the escalation tests cover what it does).


def test_times_follow_the_ui_language(resident: Page, console: Page):
    conversation_id = start_chat(resident)
    send(resident, "几点了")
    claim(console, conversation_id)
    meta = console.locator("#messages li.msg.from-resident .meta").first
    # English console: a 12-hour clock with AM/PM ...
    expect(meta).to_have_text(re.compile(r"^\d{2}:\d{2}\s?[AP]M$"))
    console.goto("/console?lang=zh")
    console.locator("#held .held-item", has_text=f"#{conversation_id}").click()
    # ... the Chinese console: 24-hour, never "PM".
    expect(meta).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
