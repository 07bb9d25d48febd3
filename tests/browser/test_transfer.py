"""A warm transfer between two counsellors in two browsers: ana offers the
chat to bo (on duty) with a note, bo accepts and finds the note and the
history, ana's console lets it go, and the resident reads that someone new
has joined."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import DESKTOP, bodies, claim, screenshot, send, sign_in
from tests.browser.helpers import start_chat as press_start
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

COLLEAGUE = "bo"
WORDS = "药快吃完了，我一个人在家，很害怕"
NOTE = "Lives alone; insulin runs out tomorrow. Prefers Mandarin."


@pytest.fixture(scope="module")
def server(server: HotlineServer) -> HotlineServer:
    """The module's server, with a second counsellor."""
    server.create_user(COLLEAGUE)
    return server


@pytest.fixture
def colleague(open_page: Callable[..., tuple[Page, object]]) -> Page:
    """bo's console, on duty; put back off duty afterwards."""
    page, _ = open_page(COLLEAGUE, locale="en-GB", viewport=DESKTOP)
    sign_in(page, COLLEAGUE)
    duty = page.locator("#duty")
    duty.click()
    expect(duty).to_have_attribute("aria-pressed", "true")
    yield page
    if not page.is_closed() and duty.get_attribute("aria-pressed") == "true":
        duty.click()
        expect(duty).to_have_attribute("aria-pressed", "false")


def test_warm_transfer_accepted_by_a_colleague(
    resident: Page, console: Page, colleague: Page
):
    conversation_id = press_start(resident)
    send(resident, WORDS)
    expect(bodies(resident, "resident")).to_have_text([WORDS])
    claim(console, conversation_id)
    expect(bodies(console, "resident")).to_have_text([WORDS])

    # ana offers the chat to bo, who is on duty and holds nothing yet.
    console.get_by_role("button", name="Transfer", exact=True).click()
    dialog = console.locator("#transfer")
    expect(dialog).to_be_visible()
    dialog.get_by_label("bo · Counsellor · 0 active").check()
    dialog.locator("textarea[name=note]").fill(NOTE)
    dialog.get_by_role("button", name="Offer the transfer").click()
    expect(dialog).to_be_hidden()
    expect(console.locator("#transfer-pending-text")).to_have_text(
        "Waiting for bo to accept the transfer…"
    )

    # bo sees the offer with its note and accepts it.
    offer = colleague.locator(
        f'.transfer-offer[data-conversation-id="{conversation_id}"]'
    )
    expect(offer).to_contain_text(
        f"ana would like to hand you conversation #{conversation_id}."
    )
    expect(offer.locator(".transfer-note")).to_have_text(NOTE)
    screenshot(colleague, "transfer-offer")
    # The safe answer comes first; Decline stands apart with its reason box.
    expect(offer.locator(".actions button").first).to_have_text("Accept")
    expect(offer.locator(".decline-group button")).to_have_text("Decline")
    offer.get_by_role("button", name="Accept").click()
    expect(offer).to_have_count(0)

    # bo now holds it: the history with its triage, and the hand-over note.
    expect(colleague.locator("#conversation-title")).to_have_text(
        f"Conversation #{conversation_id}"
    )
    expect(bodies(colleague, "resident")).to_have_text([WORDS])
    expect(colleague.locator("#messages li.msg.from-resident .level")).to_have_count(1)
    handover = colleague.locator("#notes li.note-transfer")
    expect(handover).to_be_visible()
    expect(handover).to_contain_text("Transfer note")
    expect(handover).to_contain_text(NOTE)
    screenshot(colleague, "transfer-accepted")

    # ana's console lets it go and says who has it.
    expect(console.locator("#toast")).to_have_text(
        f"bo took over conversation #{conversation_id}."
    )
    expect(console.locator("#held .held-item")).to_have_count(0)

    # The resident is told that someone new has joined, in their language.
    notice = resident.evaluate(
        "JSON.parse(document.getElementById('strings').textContent).counselor_changed"
    )
    expect(resident.locator("#messages li.msg.from-system .body")).to_have_text(
        [notice]
    )

    # And bo's reply reaches the resident.
    send(colleague, "我在这里，我们一起想办法。")
    expect(bodies(resident, "counselor")).to_have_text(["我在这里，我们一起想办法。"])
