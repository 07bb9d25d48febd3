"""XSS payloads through every place user text appears, in a real browser.

A resident sends them; a supervisor sees them in the queue preview and the
console transcript, writes them into a note, a triage correction, a reply
and a wrap-up (and how the escalation ended), escalates with them as the
reason, then opens the transcript page, the escalation board and the audit
log. Nothing may run:
every payload would set ``window.__xss``, change the title or open a dialog,
and a CSP refusal would show up as a console error, which the ``open_page``
fixture fails on. The text must read exactly as it was typed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import DESKTOP, bodies, claim, send, sign_in, start_chat
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

SUPERVISOR = "xss-sue"
TITLE_MARK = "XSS-RAN"
# Eight messages: under the per-connection burst of ten.
PAYLOADS = [
    '<img src=x onerror="window.__xss=1;alert(1)">',
    "<script>window.__xss=2;alert(2)</script>",
    '<a href="javascript:window.__xss=3">click me</a>',
    '"><svg onload="window.__xss=4;confirm(4)">',
    "{{7*7}} ${7*7} <%= 7*7 %> {{constructor.constructor('window.__xss=5')()}}",
    f"');document.title='{TITLE_MARK}';//",
    '<iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
    '<details open ontoggle="window.__xss=7;prompt(7)">x</details>',
]
JOINED = " | ".join(PAYLOADS)


@pytest.fixture(scope="module")
def server(server: HotlineServer) -> HotlineServer:
    """The module's server, with a supervisor (who may use every page)."""
    server.create_user(SUPERVISOR, role="supervisor")
    return server


def assert_nothing_ran(page: Page) -> None:
    """No payload executed on this page (dialogs are checked at teardown)."""
    assert page.evaluate("() => window.__xss") is None, page.url
    assert TITLE_MARK not in page.title()
    assert (
        page.locator("img[src=x], svg[onload], iframe, details[ontoggle]").count() == 0
    )


def test_xss_payloads_render_as_text_everywhere(
    open_page: Callable[..., tuple[Page, object]],
) -> None:
    resident, _ = open_page("resident")
    resident.goto("/")
    conversation_id = start_chat(resident)
    for payload in PAYLOADS:
        send(resident, payload)
    expect(bodies(resident, "resident")).to_have_text(PAYLOADS)

    console, _ = open_page("console", locale="en-GB", viewport=DESKTOP)
    sign_in(console, SUPERVISOR)
    preview = console.locator(
        f'#queue li.queue-item[data-conversation-id="{conversation_id}"] .preview'
    )
    expect(preview).to_have_text(PAYLOADS[-1])
    assert_nothing_ran(console)
    claim(console, conversation_id)
    expect(bodies(console, "resident")).to_have_text(PAYLOADS)

    console.locator("details.notes summary").click()
    console.fill("#note-body", JOINED)
    console.locator("#note-form button[type=submit]").click()
    expect(console.locator("#notes li").first).to_contain_text(JOINED)

    console.select_option("#correct-level", "high")
    console.fill("#correct-reason", JOINED)
    console.locator("#triage-form button[type=submit]").click()
    expect(console.locator("#correct-reason")).to_have_value("")

    # Escalated by hand with the payloads as the reason: they reach the
    # escalation board too.
    console.fill("#correct-reason", JOINED)
    console.click("#escalate")
    expect(console.locator("#correct-reason")).to_have_value("")

    send(console, JOINED)
    expect(bodies(console, "counselor")).to_have_text([JOINED])
    expect(bodies(resident, "counselor")).to_have_text([JOINED])
    assert_nothing_ran(resident)

    console.click("#wrap-up-open")
    wrap_up = console.locator("#wrap-up-form")
    wrap_up.locator("select[name=outcome]").select_option("other")
    wrap_up.locator("textarea[name=summary]").fill(JOINED)
    wrap_up.locator("button[type=submit]").click()
    # The chat has an open escalation: the wrap-up asks how it ended, and the
    # payloads go into that field too.
    escalation = wrap_up.locator("#wrap-up-escalation")
    expect(escalation).to_be_visible()
    escalation.locator("select[name=escalation_outcome]").select_option("false_alarm")
    escalation.locator("textarea[name=escalation_notes]").fill(JOINED)
    wrap_up.locator("button[type=submit]").click()
    expect(console.locator("#wrap-up")).not_to_be_visible()
    assert_nothing_ran(console)

    console.goto(f"/supervisor/conversations/{conversation_id}")
    messages = console.locator("ol.transcript li.msg.from-resident .body")
    expect(messages).to_have_text(PAYLOADS)
    expect(console.locator("ol.transcript li.msg.from-counselor .body")).to_have_text(
        [JOINED]
    )
    expect(console.locator("ul.note-list li").first).to_contain_text(JOINED)
    expect(console.locator("main")).to_contain_text(JOINED)  # the wrap-up summary
    assert_nothing_ran(console)

    console.goto("/supervisor")
    # Closed with the chat: it is in the board's history.
    expect(console.locator("table.history tbody tr").first).to_contain_text(
        "False alarm"
    )
    assert_nothing_ran(console)

    console.goto("/supervisor/audit")
    expect(console.locator("table.history tbody tr").first).to_be_visible()
    # Reasons are shown inside JSON there: escaped, never as markup.
    expect(console.locator("table.history")).to_contain_text("level_corrected")
    assert_nothing_ran(console)
    assert_nothing_ran(resident)
