"""Steps the browser tests share: sign in, start a chat, send, claim, screenshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hotline.models import Resource
from hotline.services import resources
from tests.process_helpers import COUNSELOR_PASSWORD, HotlineServer

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-results" / "screenshots"
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


def sign_in(page: Page, username: str, password: str = COUNSELOR_PASSWORD) -> None:
    """Sign in through the console's login form; waits for the live socket."""
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/console")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")


def start_chat(page: Page) -> int:
    """Press "start a chat"; returns the conversation id the page keeps."""
    page.click("#start-chat")
    expect(page.locator("#status")).to_have_attribute("data-state", "waiting")
    return int(
        page.evaluate("JSON.parse(localStorage.getItem('hotline.conversation')).id")
    )


def send(page: Page, text: str) -> None:
    """Type into the composer and press Enter."""
    page.fill("#body", text)
    page.press("#body", "Enter")


def claim(console: Page, conversation_id: int) -> None:
    """Claim a conversation from the console's queue and wait until it is open."""
    item = console.locator(
        f'#queue li.queue-item[data-conversation-id="{conversation_id}"]'
    )
    item.locator("button.claim").click()
    expect(item).to_have_count(0)
    expect(console.locator("#conversation")).to_be_visible()
    expect(console.locator("#conversation-title")).to_contain_text(
        f"#{conversation_id}"
    )


def bodies(page: Page, sender: str) -> Locator:
    """The stored (acknowledged) message bodies from ``sender`` on the page."""
    return page.locator(f"#messages li.msg.from-{sender}[data-seq] .body")


def screenshot(page: Page, name: str, doc_name: str | None = None) -> Path:
    """Save a screenshot under test-results/ (and into docs/ when asked to)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if doc_name and os.environ.get("HOTLINE_DOC_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_SCREENSHOTS / doc_name)
    return path


def in_database(server: HotlineServer, work: Callable[[Session], Any]) -> Any:
    """Run ``work`` on the running server's SQLite database, as one unit of
    work (services leave the commit to it)."""
    engine = create_engine(f"sqlite:///{server.database_path}")
    try:
        with Session(engine) as session, session.begin():
            return work(session)
    finally:
        engine.dispose()


def add_food_station(session: Session) -> int:
    """One community food station in the directory; returns its id."""
    resources.create(
        session,
        resources.parse_fields(
            {
                "name": "社区食物站",
                "category": "food",
                "contact": "138 0013 8000",
                "opening_hours": "每天 9:00-17:00",
                "languages": "zh",
            }
        ),
    )
    return session.scalar(select(Resource.id).order_by(Resource.id.desc()))
