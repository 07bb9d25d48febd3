"""Quick replies in the real console: the keyboard picker, placeholders filled
with the resident's name, and a counsellor's own replies.

The server was set up with ``hotline db upgrade``, which installs the default
bilingual library.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import bodies, claim, screenshot, send, start_chat

pytestmark = pytest.mark.browser

# Two chats in this module: the server allows six starts a minute.

WELCOME = (
    "Hi Sam, this is your counsellor from the hotline. This chat is anonymous "
    "and there is no rush. What would you like to talk about today?"
)


def test_a_quick_reply_is_inserted_by_keyboard_filled_in_and_sent(
    resident: Page, console: Page
):
    resident.goto("/?lang=en")
    conversation_id = start_chat(resident)
    send(resident, "Hello, is anyone there?")
    expect(bodies(resident, "resident")).to_have_count(1)
    claim(console, conversation_id)

    # The resident said they would like to be called Sam.
    console.locator("#canned-panel summary").click()
    console.fill("#resident-name-form input[name=name]", "Sam")
    console.locator("#resident-name-form button[type=submit]").click()
    expect(console.locator("#toast")).to_have_text(
        "Name saved: quick replies will use it."
    )

    composer = console.locator("#body")
    composer.focus()
    console.keyboard.press("Control+k")
    picker = console.locator("#canned-picker")
    expect(picker).to_be_visible()
    expect(console.locator("#canned-search")).to_be_focused()
    console.keyboard.type("welc")
    options = picker.locator("[role=option]")
    expect(options).to_have_count(1)
    expect(options.first.locator(".canned-title")).to_have_text("Welcome")
    expect(options.first).to_have_attribute("aria-selected", "true")
    screenshot(console, "console-quick-replies")
    console.keyboard.press("Enter")

    # In the reply box, filled in, not sent; the focus is back in the box.
    expect(picker).to_be_hidden()
    expect(composer).to_be_focused()
    expect(composer).to_have_value(WELCOME)
    expect(bodies(console, "counselor")).to_have_count(0)

    console.keyboard.press("Enter")
    expect(bodies(resident, "counselor")).to_have_text([WELCOME])
    expect(composer).to_have_value("")


def test_arrows_escape_and_a_personal_quick_reply(resident: Page, console: Page):
    conversation_id = start_chat(resident)
    send(resident, "我最近总是很紧张")
    expect(bodies(resident, "resident")).to_have_count(1)
    claim(console, conversation_id)
    composer = console.locator("#body")
    picker = console.locator("#canned-picker")
    options = picker.locator("[role=option]")

    # A Chinese chat gets the Chinese library; category names are searched
    # too, in the console's language.
    composer.focus()
    console.keyboard.press("Control+k")
    console.keyboard.type("breath")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    console.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    console.keyboard.press("ArrowDown")  # wraps to the top
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    console.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(composer).to_be_focused()
    expect(composer).to_have_value("")

    # Save what is in the reply box as one's own quick reply.
    composer.fill("我会一直在这里陪着你。")
    console.locator("#canned-panel summary").click()
    form = console.locator("#canned-save-form")
    expect(form.locator("select[name=lang]")).to_have_value("zh")
    form.locator("input[name=title]").fill("陪伴")
    form.locator("button[type=submit]").click()
    expect(console.locator("#toast")).to_have_text("Saved as your own quick reply.")
    mine = console.locator("#canned-mine .canned-mine-item")
    expect(mine.locator(".canned-title")).to_have_text(["陪伴"])

    composer.fill("")
    composer.focus()
    console.keyboard.press("Control+k")
    console.keyboard.type("陪伴")
    expect(options).to_have_count(1)
    expect(options.first.locator(".tag").last).to_have_text("Mine")
    console.keyboard.press("Enter")
    expect(composer).to_have_value("我会一直在这里陪着你。")
    expect(composer).to_be_focused()

    mine.first.locator("button").click()
    expect(console.locator("#toast")).to_have_text("Quick reply deleted.")
    expect(mine).to_have_count(0)
    expect(console.locator("#canned-mine")).to_contain_text(
        "You have no quick replies of your own yet."
    )
