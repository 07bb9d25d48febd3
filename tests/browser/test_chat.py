"""A resident and a counsellor talk through the real pages in two browser contexts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import bodies, claim, screenshot, send, start_chat

pytestmark = pytest.mark.browser

# Four chats in this module: the server allows six starts a minute.


def test_resident_and_counsellor_exchange_messages(resident: Page, console: Page):
    expect(resident.locator("#start-chat")).to_have_text("开始聊天")
    conversation_id = start_chat(resident)
    status = resident.locator("#status")
    expect(status).to_have_text(re.compile(r"你在队列中排第 \d+ 位"))
    send(resident, "我最近总是睡不着，心里很乱")
    expect(bodies(resident, "resident")).to_have_text(["我最近总是睡不着，心里很乱"])
    screenshot(resident, "resident-waiting")

    # The waiting resident shows up in the console queue with a preview.
    item = console.locator(
        f'#queue li.queue-item[data-conversation-id="{conversation_id}"]'
    )
    expect(item.locator(".preview")).to_have_text("我最近总是睡不着，心里很乱")
    # Triage signals are named in the console's language (English here),
    # never by their internal names ("distress").
    expect(item.locator(".signal-tag")).to_have_text(["Distress"])
    claim(console, conversation_id)
    expect(status).to_have_attribute("data-state", "active")
    expect(status).to_have_text("咨询员已加入，现在可以聊了。")
    expect(bodies(console, "resident")).to_have_text(["我最近总是睡不着，心里很乱"])

    send(console, "你好，我在这里。愿意说说发生了什么吗？")
    expect(bodies(resident, "counselor")).to_have_text(
        ["你好，我在这里。愿意说说发生了什么吗？"]
    )
    send(resident, "谢谢你愿意听")
    expect(bodies(console, "resident")).to_have_text(
        ["我最近总是睡不着，心里很乱", "谢谢你愿意听"]
    )
    # Acknowledged everywhere: nothing is left showing as "sending", and
    # Enter sent the message without leaving a stray line break behind.
    for page in (resident, console):
        expect(page.locator("#body")).to_have_value("")
        expect(page.locator("#messages li.msg")).to_have_count(3)
        expect(page.locator("#messages li.pending")).to_have_count(0)
    screenshot(resident, "resident-active", doc_name="resident.png")
    # The "claimed" toast fades after 4 s; keep it out of the picture.
    console.locator("#toast").evaluate("node => { node.hidden = true; }")
    screenshot(console, "console-claimed", doc_name="console.png")


def test_history_returns_after_reload_and_offline_message_is_sent_once(
    resident: Page, console: Page
):
    conversation_id = start_chat(resident)
    send(resident, "第一条消息")
    expect(bodies(resident, "resident")).to_have_text(["第一条消息"])
    claim(console, conversation_id)
    send(console, "收到，我在。")
    expect(bodies(resident, "counselor")).to_have_text(["收到，我在。"])

    resident.reload()
    expect(resident.locator("#status")).to_have_attribute("data-state", "active")
    expect(resident.locator("#messages li.msg .body")).to_have_text(
        ["第一条消息", "收到，我在。"]
    )

    context: BrowserContext = resident.context
    context.set_offline(True)
    try:
        expect(resident.locator("#connection")).to_be_visible()
        send(resident, "断网时写的消息")
        pending = resident.locator("#messages li.pending")
        expect(pending.locator(".body")).to_have_text("断网时写的消息")
        expect(pending.locator(".meta")).to_have_text("发送中…")
        expect(bodies(console, "resident")).to_have_text(["第一条消息"])
    finally:
        context.set_offline(False)

    expect(bodies(resident, "resident")).to_have_text(["第一条消息", "断网时写的消息"])
    expect(resident.locator("#messages li.pending")).to_have_count(0)
    expect(resident.locator("#connection")).to_be_hidden()
    expect(bodies(console, "resident")).to_have_text(["第一条消息", "断网时写的消息"])

    # The push can overtake the ack: wait until the outbox has let go of it.
    resident.wait_for_function("localStorage.getItem('hotline.outbox') === '[]'")
    # The server holds it once: a fresh load shows it once, in order.
    resident.reload()
    expect(resident.locator("#messages li.msg .body")).to_have_text(
        ["第一条消息", "收到，我在。", "断网时写的消息"]
    )


def test_wrap_up_closes_the_chat_for_the_resident(resident: Page, console: Page):
    conversation_id = start_chat(resident)
    send(resident, "我想要一些药品方面的帮助")
    expect(bodies(resident, "resident")).to_have_count(1)
    claim(console, conversation_id)
    send(console, "好的，我们一起想办法。")
    expect(bodies(resident, "counselor")).to_have_count(1)

    console.click("#wrap-up-open")
    dialog = console.locator("#wrap-up")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=outcome]").select_option("referred")
    dialog.locator("input[name=needs][value=medicine]").check()
    dialog.locator("input[name=follow_up]").check()
    dialog.locator("textarea[name=summary]").fill("需要药品配送，已转介社区资源。")
    screenshot(console, "console-wrap-up")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(console.locator("#toast")).to_have_text("Conversation closed.")
    expect(console.locator("#conversation")).to_be_hidden()
    expect(
        console.locator("#held .held-item", has_text=f"#{conversation_id}")
    ).to_have_count(0)

    expect(resident.locator("#ended")).to_be_visible()
    expect(resident.locator("#ended h2")).to_have_text("本次对话已结束")
    expect(resident.locator("#status")).to_have_attribute("data-state", "closed")
    expect(resident.locator("#chat")).to_be_hidden()
    screenshot(resident, "resident-ended")


XSS = "<img src=x onerror=alert(1)>"
XSS_REPLY = "<script>alert(2)</script><b>bold?</b>"


def test_message_bodies_are_shown_as_text(resident: Page, console: Page):
    conversation_id = start_chat(resident)
    send(resident, XSS)
    expect(bodies(resident, "resident")).to_have_text([XSS])
    preview = console.locator(
        f'#queue li.queue-item[data-conversation-id="{conversation_id}"] .preview'
    )
    expect(preview).to_have_text(XSS)
    claim(console, conversation_id)
    expect(bodies(console, "resident")).to_have_text([XSS])
    send(console, XSS_REPLY)
    expect(bodies(resident, "counselor")).to_have_text([XSS_REPLY])
    expect(bodies(console, "counselor")).to_have_text([XSS_REPLY])

    for page in (resident, console):
        messages = page.locator("#messages")
        expect(messages.locator("img, script, b")).to_have_count(0)
    # The `open_page` fixture fails the test if an alert opened or the page
    # logged an error (such as a CSP refusal of an inline handler).
