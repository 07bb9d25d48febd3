"""The supervisor board's live panels: the team's load, watching a chat
read-only and whispering to its counsellor, who sees the whisper in the
chat and is not overheard by the resident."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageWatch
from tests.browser.helpers import DESKTOP, bodies, claim, send, sign_in, start_chat
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

SUPERVISOR = "sue"
WORDS = "最近压力很大，想找人说说"
WHISPER = "Ask about their sleep"


@pytest.fixture(scope="module")
def server(server: HotlineServer) -> HotlineServer:
    """The module's server, with a supervisor as well."""
    server.create_user(SUPERVISOR, role="supervisor")
    return server


def test_a_supervisor_watches_a_chat_and_whispers_to_its_counsellor(
    open_page: Callable[..., tuple[Page, PageWatch]],
    resident: Page,
    console: Page,
) -> None:
    conversation_id = start_chat(resident)
    send(resident, WORDS)
    expect(bodies(resident, "resident")).to_have_text([WORDS])
    claim(console, conversation_id)

    board, _ = open_page(SUPERVISOR, locale="en-GB", viewport=DESKTOP)
    sign_in(board, SUPERVISOR)
    board.goto("/supervisor")
    expect(board.locator("#connection")).to_have_text("Online")

    # The team panel lists the counsellor holding the chat.
    expect(board.locator("#team tr", has_text="ana")).to_contain_text("1")

    row = board.locator(f'#live tr[data-conversation-id="{conversation_id}"]')
    expect(row).to_contain_text("ana")
    row.get_by_role("button", name="Watch").click()
    expect(board.locator("#monitor-panel")).to_be_visible()
    expect(board.locator("#monitor-title")).to_contain_text(f"#{conversation_id}")
    expect(board.locator("#monitor-messages li.msg.from-resident .body")).to_have_text(
        [WORDS]
    )

    board.fill("#whisper-body", WHISPER)
    board.locator("#whisper-form button[type=submit]").click()
    expect(board.locator("#monitor-messages li.msg.whisper .body")).to_have_text(
        [WHISPER]
    )
    expect(board.locator("#whisper-body")).to_have_value("")
    expect(console.locator("#messages li.msg.whisper .body")).to_have_text([WHISPER])
    expect(resident.get_by_text(WHISPER)).to_have_count(0)

    board.locator("#monitor-stop").click()
    expect(board.locator("#monitor-panel")).to_be_hidden()
