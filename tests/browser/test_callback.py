"""A callback from the resident's form to a counsellor closing the call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot
from tests.process_helpers import HotlineServer, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotlineServer]:
    """A server whose first callback slot is open whenever the tests run.

    A callback cannot be claimed before its window opens, so the slot under
    way must be bookable at any hour, and a quick retry must stay inside it.
    """
    workdir = tmp_path_factory.mktemp("browser-callback-server")
    env = {
        "HOTLINE_CALLBACK_HOURS": "00:00-23:59",
        "HOTLINE_CALLBACK_SLOT_MINUTES": "720",
        "HOTLINE_CALLBACK_RETRY_MINUTES": "1",
    }
    with running_server(workdir, counselors=("ana",), env=env) as running:
        yield running


def request_callback(resident: Page, phone: str, note: str = "") -> int:
    resident.click("#open-callback")
    expect(resident.locator("#callback")).to_be_visible()
    resident.fill("#callback-phone", phone)
    # The first slot still open (today's, or tomorrow's late at night).
    first = resident.locator("#callback-slot option:not([value=''])").first
    resident.select_option("#callback-slot", value=first.get_attribute("value"))
    resident.check("input[name=may_say_hotline]")
    if note:
        resident.fill("textarea[name=note]", note)
    resident.check("input[name=consent]")
    resident.click("#callback-form button[type=submit]")
    expect(resident.locator("#callback-status")).to_be_visible()
    return int(
        resident.evaluate("JSON.parse(localStorage.getItem('hotline.callback')).id")
    )


def test_form_explains_what_is_missing(resident: Page):
    resident.click("#open-callback")
    resident.fill("#callback-phone", "12345")
    resident.click("#callback-form button[type=submit]")
    expect(resident.locator("#callback-error")).to_have_text(
        "请选择我们给你打电话的时间。"
    )
    first = resident.locator("#callback-slot option:not([value=''])").first
    resident.select_option("#callback-slot", value=first.get_attribute("value"))
    resident.check("input[name=consent]")
    resident.click("#callback-form button[type=submit]")
    # The server's check, in the resident's language.
    expect(resident.locator("#callback-error")).to_contain_text("电话号码")
    screenshot(resident, "callback-form-error")


def test_resident_books_a_call_and_a_counsellor_works_it(resident: Page, console: Page):
    request_callback(resident, "138 0013 8000", note="家里老人的药快没了，想和人聊聊")
    state = resident.locator("#callback-state")
    expect(state).to_have_attribute("data-state", "waiting")
    expect(state).to_have_text("我们已收到你的请求，咨询员会给你打电话。")
    screenshot(resident, "callback-waiting", doc_name="callback-resident.png")

    # In the console: a callback card, number masked, the note as preview.
    item = console.locator('#queue li.queue-item[data-kind="callback"]')
    expect(item.locator(".phone-masked")).to_have_text("•••• 8000")
    expect(item.locator(".preview")).to_have_text("家里老人的药快没了，想和人聊聊")
    expect(item).not_to_contain_text("138")
    item.locator("button.claim").click()
    panel = console.locator("#call-panel")
    expect(panel.locator(".call-phone")).to_have_text("138 0013 8000")
    expect(panel.locator(".call-guide")).to_contain_text("calling from the hotline")
    expect(console.locator("#composer")).to_be_hidden()
    console.locator("#toast").evaluate("node => { node.hidden = true; }")
    screenshot(console, "callback-console", doc_name="callback-console.png")

    # The resident sees that the call is coming (on reload: no waiting for a poll).
    resident.reload()
    expect(state).to_have_attribute("data-state", "scheduled")

    # No answer the first time: back to the queue for a retry.
    panel.locator("input[value=no_answer]").check()
    panel.locator("input[name=note]").fill("rang twice")
    panel.locator("button[type=submit]").click()
    expect(console.locator("#toast")).to_contain_text("returns to the queue")
    expect(item.locator(".timing-later")).to_be_visible()
    resident.reload()
    expect(state).to_have_attribute("data-state", "attempted")

    # Reached on the second try; closed with the usual wrap-up.
    item.locator("button.claim").click()
    expect(panel.locator(".call-history li")).to_have_count(1)
    panel.locator("input[value=reached]").check()
    panel.locator("button[type=submit]").click()
    expect(panel.locator(".call-history li")).to_have_count(2)
    console.click("#wrap-up-open")
    console.select_option("#wrap-up select[name=outcome]", "referred")
    console.check("#wrap-up input[value=medicine]")
    console.click("#wrap-up button[type=submit]")
    expect(console.locator("#held li")).to_have_count(0)
    resident.reload()
    expect(state).to_have_attribute("data-state", "done")
    expect(resident.locator("#callback-cancel")).to_be_hidden()
    # The same anonymous survey as after a chat.
    survey = resident.locator("#callback-status #survey")
    expect(survey).to_be_visible()
    survey.locator("label:has(input[name=helpfulness][value='5']) span").click()
    survey.locator("button[type=submit]").click()
    expect(resident.locator("#callback-status #survey-thanks")).to_be_visible()


def test_crisis_note_shows_crisis_numbers_and_the_resident_can_cancel_others(
    resident: Page,
):
    request_callback(
        resident, "139 0013 9000", note="我已经写好遗书了，今晚就从楼顶跳下去"
    )
    crisis = resident.locator("#callback-crisis")
    expect(crisis).to_be_visible()
    expect(crisis.locator("a[href='tel:120']")).to_be_visible()
    expect(resident.locator("#callback-cancel")).to_be_hidden()
    screenshot(resident, "callback-crisis")

    # A calm request can be withdrawn.
    resident.click("#callback-home")
    request_callback(resident, "137 0013 7000")
    resident.click("#callback-cancel")
    resident.click("#callback-cancel-no")
    expect(resident.locator("#callback-state")).to_have_attribute(
        "data-state", "waiting"
    )
    resident.click("#callback-cancel")
    resident.click("#callback-cancel-yes")
    expect(resident.locator("#callback-state")).to_have_attribute(
        "data-state", "cancelled"
    )
