"""A supervisor opens the reports page: Chart.js draws every chart under the
page's strict CSP, and the tables under the charts carry the same numbers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from hotline.database import make_engine
from hotline.models import (
    Callback,
    Channel,
    Conversation,
    ConversationState,
    RiskLevel,
    Survey,
)
from tests.browser.helpers import DESKTOP, screenshot, sign_in
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

SUPERVISOR = "sue"
RANGE = "start=2026-03-02&end=2026-03-04"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(database_path: str) -> None:
    """Three chats and a callback over two local days (Asia/Shanghai)."""
    engine = make_engine(f"sqlite:///{database_path}")
    try:
        with Session(engine) as session:
            rows = [
                ("2026-03-02T01:00:00", Channel.CHAT, 30, RiskLevel.LOW),
                ("2026-03-02T23:30:00", Channel.CHAT, 90, RiskLevel.CRISIS),
                ("2026-03-03T02:00:00", Channel.CHAT, None, RiskLevel.MODERATE),
                ("2026-03-03T03:00:00", Channel.CALLBACK, None, RiskLevel.LOW),
            ]
            conversations = []
            for created, channel, claimed_after, risk in rows:
                created_at = at(created)
                conversation = Conversation(
                    token_hash=secrets.token_hex(32),
                    lang="zh",
                    channel=channel,
                    state=ConversationState.CLOSED,
                    created_at=created_at,
                    waiting_since=created_at,
                    claimed_at=None
                    if claimed_after is None
                    else created_at + timedelta(seconds=claimed_after),
                    closed_at=created_at + timedelta(hours=1),
                    risk_level=risk,
                    risk_rank=risk.rank,
                    needs=[],
                )
                session.add(conversation)
                conversations.append(conversation)
            session.flush()
            session.add(
                Callback(
                    conversation_id=conversations[3].id,
                    window_start=at("2026-03-03T04:00:00"),
                    window_end=at("2026-03-03T06:00:00"),
                    consent_at=at("2026-03-03T03:00:00"),
                    attempts=0,
                )
            )
            session.add(
                Survey(
                    conversation_id=conversations[0].id,
                    helpfulness=4,
                    feels_safer="yes",
                    created_at=at("2026-03-02T02:00:00"),
                )
            )
            # No call logged yet: the reach rate has no data.
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def server(server: HotlineServer) -> HotlineServer:
    """The module's server with a supervisor and a few conversations."""
    server.create_user(SUPERVISOR, role="supervisor")
    seed(str(server.database_path))
    return server


def test_supervisor_sees_charts_and_their_figures(
    open_page: Callable[..., tuple[Page, object]],
) -> None:
    page, _watch = open_page("reports", locale="en-GB", viewport=DESKTOP)
    sign_in(page, SUPERVISOR)
    page.get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/supervisor/reports$"))
    page.goto(f"/supervisor/reports?{RANGE}")
    expect(page.locator("body")).to_have_attribute("data-charts", "drawn")
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(10)
    for index in range(10):
        expect(canvases.nth(index)).to_have_attribute("data-drawn", "true")
    # Chart.js sized every canvas: it drew something.
    assert page.evaluate(
        "[...document.querySelectorAll('canvas[data-chart]')]"
        ".every((c) => window.Chart.getChart(c) && c.width > 0 && c.height > 0)"
    )

    headline = page.locator("[data-figure=contacts] dd").first
    expect(headline).to_have_text("4")
    expect(page.locator("[data-figure=abandonment] dd").first).to_have_text("33.3 %")
    expect(page.locator("[data-figure=reach-rate] dd").first).to_have_text("No data")

    by_day = page.locator("#chart-contacts-by-day")
    by_day.locator("summary").click()
    days = by_day.locator("table[data-table=contacts-by-day]")
    expect(days).to_be_visible()
    # The 23:30 UTC chat of 2 March counts on 3 March, local time.
    expect(days.locator("tr[data-key='2026-03-02'] td")).to_have_text(["1", "0"])
    expect(days.locator("tr[data-key='2026-03-03'] td")).to_have_text(["2", "1"])
    expect(days.locator("tr[data-key='2026-03-04'] td")).to_have_text(["0", "0"])

    risk = page.locator("#chart-risk-mix")
    risk.locator("summary").click()
    expect(risk.locator("tr[data-key=Crisis] td")).to_have_text(["1"])
    expect(risk.locator("tr[data-key=Low] td")).to_have_text(["2"])
    screenshot(page, "reports", doc_name="reports.png")
