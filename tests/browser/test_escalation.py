"""A resident's crisis message, as staff see it: the supervisor's board, a social
worker's alert, acknowledgement, joining the chat and closing; the crisis
numbers when nobody is on duty; the crisis conversation first in the queue.

Each test puts the staff it signed in back off duty, because duty is kept in
the database and alerts go only to staff who are on duty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Locator, Page, expect

from hotline.config import DEFAULT_CRISIS_LINES
from tests.browser.helpers import (
    DESKTOP,
    bodies,
    claim,
    screenshot,
    send,
    sign_in,
    start_chat,
)
from tests.process_helpers import HotlineServer

pytestmark = pytest.mark.browser

# Four chats in this module: the server allows six starts a minute.
CRISIS = "我已经写好遗书了，今晚就从楼顶跳下去"
CALM = "我最近总是睡不着，心里很乱"
SOCIAL_WORKERS = ("sol", "sam")
SUPERVISOR = "sue"
# "At once" and "within seconds", with room for a slow machine.
ALERT_MS = 5_000
STATE_OPEN = re.compile(r"\bstate-open\b")
# Replaces the browser's Notification with one that records what was shown:
# headless Chromium has no notification centre to look at.
NOTIFICATION_RECORDER = """
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options = {}) {
    window.__notifications.push({ title, ...options });
  }
  close() {}
};
"""

StaffOpener = Callable[..., Page]


@pytest.fixture(scope="module")
def server(server: HotlineServer) -> HotlineServer:
    """The module's server, with social workers and a supervisor as well."""
    accounts = [(name, "social_worker") for name in SOCIAL_WORKERS]
    accounts.append((SUPERVISOR, "supervisor"))
    # Each CLI call loads the app for ~2 s; SQLite takes the writes in turn.
    with ThreadPoolExecutor(len(accounts)) as pool:
        created = [
            pool.submit(server.create_user, name, role=role) for name, role in accounts
        ]
        for future in created:
            future.result()
    return server


@pytest.fixture
def open_staff(
    open_page: Callable[..., tuple[Page, object]],
) -> Iterator[StaffOpener]:
    """Sign staff in (English UI, desktop) with notifications recorded.

    At teardown every console left on duty goes off duty again.
    """
    consoles: list[Page] = []

    def open_(username: str, path: str = "/console") -> Page:
        page, _ = open_page(username, locale="en-GB", viewport=DESKTOP)
        page.add_init_script(NOTIFICATION_RECORDER)
        sign_in(page, username)
        consoles.append(page)
        if path != "/console":
            page.goto(path)
            expect(page.locator("#connection")).to_have_text("Online")
        return page

    yield open_
    for page in consoles:
        if page.is_closed() or page.url.rstrip("/").endswith("/supervisor"):
            continue
        if page.locator("#duty").get_attribute("aria-pressed") == "true":
            set_duty(page, on_duty=False)


def set_duty(console: Page, *, on_duty: bool) -> None:
    """Press the duty button and wait until the server has recorded it."""
    duty = console.locator("#duty")
    expect(duty).to_have_attribute("aria-pressed", str(not on_duty).lower())
    duty.click()
    expect(duty).to_have_attribute("aria-pressed", str(on_duty).lower())
    expect(duty).to_have_text("On duty" if on_duty else "Off duty")


def board_row(board: Page, conversation_id: int) -> Locator:
    """The supervisor board's row for a conversation's escalation."""
    return board.locator(
        "tbody#board tr[data-escalation-id]",
        has=board.get_by_role("link", name=f"#{conversation_id}", exact=True),
    )


def escalation_item(console: Page, conversation_id: int) -> Locator:
    """The console's escalation list item for a conversation."""
    return console.locator(
        "#escalations li.escalation",
        has=console.get_by_text(f"Conversation #{conversation_id}", exact=True),
    )


def clock_seconds(clock: Locator) -> int:
    """The seconds a response clock shows as m:ss ("0:12", "12:03", maybe
    "· Overdue" after)."""
    match = re.match(r"(?:(\d+):)?(\d+):(\d\d)\b", clock.inner_text())
    assert match, clock.inner_text()
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def title_is_flashing(console: Page, window_ms: int = 2_500) -> bool:
    """Whether the title shows the warning sign at least once in ``window_ms``.

    The title alternates every second, so one look is not enough either way.
    (Polled inside the page: the pages' CSP forbids ``wait_for_function``'s
    string evaluation.)
    """
    return console.evaluate(
        """(windowMs) => new Promise((resolve) => {
          const started = Date.now();
          const look = () => {
            if (document.title.startsWith("⚠")) return resolve(true);
            if (Date.now() - started > windowMs) return resolve(false);
            setTimeout(look, 100);
          };
          look();
        })""",
        window_ms,
    )


def test_crisis_reaches_the_board_and_a_social_worker_who_joins_and_closes(
    resident: Page, open_staff: StaffOpener
):
    board = open_staff(SUPERVISOR, "/supervisor")
    social_worker = open_staff("sol")
    set_duty(social_worker, on_duty=True)

    conversation_id = start_chat(resident)
    send(resident, CRISIS)
    expect(bodies(resident, "resident")).to_have_text([CRISIS])
    # A resident in crisis who is still waiting sees the emergency numbers at
    # once, even with someone on duty (issue #20: nobody is with them yet).
    expect(resident.locator("#crisis-alert")).to_be_visible()

    # The board shows it within seconds, with a clock that runs.
    row = board_row(board, conversation_id)
    expect(row).to_have_class(STATE_OPEN, timeout=ALERT_MS)
    expect(row.locator(".level")).to_have_text("Crisis")
    clock = row.locator("span.clock")
    first = clock_seconds(clock)
    expect(clock).not_to_have_text(clock.inner_text(), timeout=2_500)
    assert clock_seconds(clock) > first

    # The social worker on duty is alerted every way the console has.
    alert_text = f"Crisis escalation: conversation #{conversation_id}"
    expect(social_worker.locator("#toast")).to_have_text(alert_text)
    assert title_is_flashing(social_worker, window_ms=ALERT_MS)
    assert social_worker.evaluate("window.__notifications.map((n) => n.title)") == [
        alert_text
    ]
    item = escalation_item(social_worker, conversation_id)
    expect(item).to_have_class(STATE_OPEN)
    expect(social_worker.locator("#escalations-count")).to_have_text("1")
    screenshot(board, "escalation-board")
    screenshot(social_worker, "escalation-social-worker-alerted")

    item.get_by_role("button", name="Acknowledge").click()
    expect(item).to_have_class(re.compile(r"\bstate-acknowledged\b"))
    expect(row).to_have_class(re.compile(r"\bstate-acknowledged\b"))
    expect(row.locator("td").nth(4)).to_have_text("sol")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert not title_is_flashing(social_worker)

    item.get_by_role("button", name="Join the chat").click()
    expect(item).to_have_class(re.compile(r"\bstate-joined\b"))
    expect(row).to_have_class(re.compile(r"\bstate-joined\b"))
    expect(social_worker.locator("#conversation-title")).to_have_text(
        f"Conversation #{conversation_id}"
    )
    expect(bodies(social_worker, "resident")).to_have_text([CRISIS])
    expect(bodies(resident, "system")).to_have_text(["一位社工加入了对话。"])

    reply = "我是社工，我现在在这里陪着你。你现在安全吗？"
    send(social_worker, reply)
    expect(
        bodies(social_worker, "counselor"),
        "the social worker who joined can write to the resident",
    ).to_have_text([reply], timeout=ALERT_MS)
    from_staff = resident.locator("#messages li.msg.from-counselor[data-seq]")
    expect(from_staff.locator(".body")).to_have_text([reply])
    expect(from_staff.locator(".who")).to_have_text(["社工"])
    # The responder sees the conversation at its real level, not "Low".
    expect(social_worker.locator("#conversation-level .level")).to_have_text("Crisis")
    screenshot(resident, "escalation-resident-joined")
    screenshot(social_worker, "escalation-social-worker-joined")

    item.get_by_role("button", name="Close escalation").click()
    dialog = social_worker.locator("#escalation-close")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=outcome]").select_option("safety_plan")
    dialog.locator("textarea[name=notes]").fill(
        "与居民一起制定了安全计划，家人已在身边。"
    )
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(item).to_have_count(0)
    expect(row).to_have_count(0)

    # The history is drawn by the server: it shows after a reload.
    board.reload()
    closed = board.locator(
        "table.history tbody tr",
        has=board.get_by_role("link", name=f"#{conversation_id}", exact=True),
    )
    cells = closed.locator("td")
    expect(cells.nth(3)).to_have_text(re.compile(r"^\d+(\.\d)? s$"))
    expect(cells.nth(4)).to_have_text(re.compile(r"^\d+(\.\d)? s$"))
    expect(cells.nth(5)).to_have_text("Safety plan agreed")
    expect(cells.nth(6)).to_have_text("sol")
    screenshot(board, "escalation-board-history")


def test_nobody_on_duty_shows_crisis_numbers_and_the_next_on_duty_is_alerted(
    resident: Page, open_staff: StaffOpener
):
    conversation_id = start_chat(resident)
    send(resident, CRISIS)

    panel = resident.locator("#crisis-alert")
    expect(panel).to_be_visible(timeout=ALERT_MS)
    links = panel.locator("a[href^='tel:']")
    expect(links).to_have_count(len(DEFAULT_CRISIS_LINES))
    for index, (_, number) in enumerate(DEFAULT_CRISIS_LINES):
        expect(links.nth(index)).to_have_attribute("href", f"tel:{number}")
        expect(links.nth(index)).to_contain_text(number)
    expect(panel.locator("p")).to_have_text("如果你现在有危险，请立即拨打以下电话：")
    screenshot(resident, "escalation-resident-crisis-numbers")

    # Off duty: the escalation is listed, but nobody is alerted ...
    social_worker = open_staff("sam")
    item = escalation_item(social_worker, conversation_id)
    expect(item).to_have_class(STATE_OPEN)
    assert not title_is_flashing(social_worker, window_ms=1_200)
    assert social_worker.evaluate("window.__notifications.length") == 0

    # ... until they come on duty: then at once, not at the next re-alert.
    set_duty(social_worker, on_duty=True)
    expect(social_worker.locator("#toast")).to_have_text(
        f"Still not acknowledged: conversation #{conversation_id}", timeout=2_000
    )
    assert title_is_flashing(social_worker, window_ms=2_000)
    notified = social_worker.evaluate("window.__notifications.map((n) => n.title)")
    assert notified == [f"Still not acknowledged: conversation #{conversation_id}"]

    # Leave nothing open for the other tests to be alerted about.
    item.get_by_role("button", name="Acknowledge").click()
    expect(item).to_have_class(re.compile(r"\bstate-acknowledged\b"))


def test_counsellor_queue_puts_crisis_first_and_highlights_its_signals(
    open_page: Callable[..., tuple[Page, object]], console: Page
):
    calm, _ = open_page("resident-calm")
    calm.goto("/")
    calm_id = start_chat(calm)
    send(calm, CALM)
    queue = console.locator("#queue li.queue-item")
    calm_item = queue.and_(console.locator(f'[data-conversation-id="{calm_id}"]'))
    expect(calm_item.locator(".preview")).to_have_text(CALM)

    crisis, _ = open_page("resident-crisis")
    crisis.goto("/")
    crisis_id = start_chat(crisis)
    send(crisis, CRISIS)
    crisis_item = queue.and_(console.locator(f'[data-conversation-id="{crisis_id}"]'))
    expect(crisis_item).to_have_attribute("data-level", "crisis")
    expect(crisis_item.locator(".level")).to_have_text("Crisis")
    expect(crisis_item.locator(".level")).to_have_class(re.compile(r"\blevel-crisis\b"))
    expect(crisis_item.locator(".signal-tag").first).to_be_visible()

    # Crisis first, ahead of the calm resident who has waited longer. Earlier
    # tests may leave crisis conversations waiting, so compare ranks.
    order = [
        int(i)
        for i in queue.evaluate_all("els => els.map(e => e.dataset.conversationId)")
    ]
    levels = queue.evaluate_all("els => els.map(e => e.dataset.level)")
    assert order.index(crisis_id) < order.index(calm_id), order
    assert levels[0] == "crisis", levels
    first_not_crisis = next(
        (i for i, lvl in enumerate(levels) if lvl != "crisis"), None
    )
    if first_not_crisis is not None:
        assert "crisis" not in levels[first_not_crisis:], levels
    screenshot(console, "escalation-queue-crisis-first")

    claim(console, crisis_id)
    message = console.locator("#messages li.msg.from-resident[data-seq]")
    expect(message.locator(".body")).to_have_text([CRISIS])
    expect(message).to_have_attribute("data-level", "crisis")
    marks = message.locator(".body mark")
    expect(marks.first).to_be_visible()
    highlighted = marks.all_inner_texts()
    assert {"遗书", "今晚"} <= set(highlighted), highlighted
    assert all(text in CRISIS for text in highlighted), highlighted
    screenshot(console, "escalation-crisis-highlighted")
