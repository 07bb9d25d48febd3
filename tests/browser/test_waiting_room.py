"""The resident's waiting room in a real browser: language choice, larger
text, self-help that keeps the place in the queue, and the survey after."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, start_chat

pytestmark = pytest.mark.browser


def test_switch_language_breathe_while_waiting_then_answer_the_survey(
    resident: Page,
):
    # The page opens in Chinese; the switch changes it and the choice sticks.
    expect(resident.locator("#start-chat")).to_have_text("开始聊天")
    resident.click("a[lang=en]")
    expect(resident.locator("#start-chat")).to_have_text("Start a chat")
    resident.goto("/")
    expect(resident.locator("#start-chat")).to_have_text("Start a chat")

    # Larger text, remembered on this device.
    resident.click("#text-size")
    expect(resident.locator("html")).to_have_class(re.compile("large-text"))

    start_chat(resident)
    status = resident.locator("#status")
    expect(status).to_have_text(
        "You are number 1 in the queue. A counsellor will be with you soon. "
        "We cannot estimate the wait right now."
    )
    help_panel = resident.locator("#self-help")
    expect(help_panel).to_be_visible()

    # Paced breathing: the cue follows the circle in and out.
    resident.click("#breath-toggle")
    cue = resident.locator("#breath-cue")
    expect(cue).to_have_text("Breathe in…")
    expect(resident.locator("#breath-circle")).to_have_attribute("data-phase", "in")
    expect(cue).to_have_text("Breathe out…", timeout=8000)
    screenshot(resident, "waiting-room", doc_name="waiting-room.png")
    resident.click("#breath-toggle")

    # Grounding, and the queue place is kept throughout.
    resident.click("#tab-ground")
    expect(resident.locator("#help-ground")).to_be_visible()
    expect(resident.locator("#help-breathe")).to_be_hidden()
    expect(status).to_have_attribute("data-state", "waiting")
    resident.reload()
    expect(resident.locator("html")).to_have_class(re.compile("large-text"))
    expect(status).to_have_attribute("data-state", "waiting")

    # The resident ends the chat (an in-page confirmation) and answers.
    resident.click("#end-chat")
    resident.click("#end-no")
    expect(status).to_have_attribute("data-state", "waiting")
    resident.click("#end-chat")
    resident.click("#end-yes")
    survey = resident.locator("#survey")
    expect(survey).to_be_visible()
    survey.locator("label:has(input[name=helpfulness][value='4']) span").click()
    survey.locator("input[name=feels_safer][value=yes]").check()
    survey.locator("textarea[name=comment]").fill("Breathing helped.")
    survey.locator("button[type=submit]").click()
    expect(resident.locator("#survey-thanks")).to_be_visible()
    expect(survey).to_be_hidden()
