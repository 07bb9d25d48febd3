"""A counsellor sends a suggested community resource; the resident sees a card."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from hotline.services import resources
from tests.browser.helpers import bodies, claim, screenshot, send, start_chat
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

NOTES = "<img src=x onerror=alert(1)> 请自带购物袋"


def add_resources(server: HotlineServer) -> None:
    """Put two resources straight into the running server's database."""
    engine = create_engine(f"sqlite:///{server.database_path}")
    try:
        # Services leave the commit to a unit of work: this block is one.
        with Session(engine) as session, session.begin():
            for fields in (
                {
                    "name": "社区食物站",
                    "category": "food",
                    "contact": "138 0013 8000",
                    "opening_hours": "每天 9:00-17:00",
                    "languages": "zh",
                    "notes": NOTES,
                },
                {
                    "name": "Legal aid",
                    "category": "legal_financial",
                    "contact": "12348",
                },
            ):
                resources.create(session, resources.parse_fields(fields))
    finally:
        engine.dispose()


def page_string(page: Page, key: str) -> str:
    return page.evaluate(
        f"JSON.parse(document.getElementById('strings').textContent).card.{key}"
    )


def test_counsellor_sends_a_suggested_resource_as_a_card(
    server: HotlineServer, resident: Page, console: Page
):
    add_resources(server)
    conversation_id = start_chat(resident)
    send(resident, "家里没米了，菜也吃完了")
    expect(bodies(resident, "resident")).to_have_count(1)
    claim(console, conversation_id)

    # Suggested from the triage's "supplies" need; the legal clinic is not.
    panel = console.locator("#resources-panel")
    suggestion = panel.locator("li.resource")
    expect(suggestion).to_have_count(1)
    expect(suggestion.locator(".resource-name")).to_have_text("社区食物站")
    expect(suggestion.locator(".resource-contact")).to_have_text("138 0013 8000")
    expect(suggestion.locator(".resource-hours")).to_have_text("每天 9:00-17:00")
    screenshot(console, "referral-console")
    suggestion.locator("button.send-resource").click()

    card = resident.locator("#messages li.msg.from-counselor[data-seq] .referral-card")
    expect(card.locator(".card-name")).to_have_text("社区食物站")
    contact = card.locator(".card-contact a")
    expect(contact).to_have_text("138 0013 8000")
    expect(contact).to_have_attribute("href", "tel:13800138000")
    expect(card.locator(".card-hours")).to_have_text("每天 9:00-17:00")
    # Rendered as text: the markup shows as typed and nothing runs (the page
    # fixture fails the test on any dialog or script error).
    expect(card.locator(".card-notes")).to_have_text(NOTES)
    expect(card.locator("img")).to_have_count(0)
    screenshot(resident, "referral-card", doc_name="referral-card.png")

    resident.context.grant_permissions(["clipboard-read", "clipboard-write"])
    card.locator("button.card-copy").click()
    expect(card.locator(".card-status")).to_have_text(page_string(resident, "copied"))
    copied = resident.evaluate("navigator.clipboard.readText()")
    assert "社区食物站" in copied and "138 0013 8000" in copied

    # The console shows the same card, and the wrap-up lists the referral.
    expect(console.locator("#messages .referral-card .card-name")).to_have_text(
        "社区食物站"
    )
    console.click("#wrap-up-open")
    expect(console.locator("#wrap-up-referrals li")).to_have_text(
        ["社区食物站 · Food and daily supplies"]
    )
    expect(console.locator("#wrap-up select[name=outcome]")).to_have_value("referred")
